"""Exact max-norm neighbour search in Numba: a KD-tree and sorted 1-D counts.

Private kernels behind :mod:`estimators.ksg`. All distances are the max-norm
(Chebyshev) distance computed as ``max_a |u_a - v_a|`` in float64, exactly as
``scipy.spatial.cKDTree`` computes it with ``p=inf``; every pruning test relies
only on the monotonicity of rounded subtraction, so counts and k-th distances
are exact, not approximate.

Tree layout
-----------
A balanced, implicit (heap-ordered) tree: node ``i`` has children ``2i+1`` and
``2i+2``; every node at depth ``depth`` is a leaf. Node ``i`` owns the points
``start[i]:end[i]`` of the tree-ordered copy of the data, split at the median
of its widest dimension. ``lo``/``hi`` hold each node's tight bounding box.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

__all__ = ["KDTree", "build_tree", "count_in_tree", "count_sorted", "knn_extents"]

_LEAF_SIZE = 12
_STACK = 128  # traversal stack: far above the deepest possible tree (depth <= 63)


class KDTree(NamedTuple):
    """Arrays of a built tree; ``points`` is the data in tree order."""

    points: np.ndarray  # (n, d) float64, row t is data row perm[t]
    perm: np.ndarray  # (n,) int64
    start: np.ndarray  # (n_nodes,) int64
    end: np.ndarray  # (n_nodes,) int64
    lo: np.ndarray  # (n_nodes, d) float64
    hi: np.ndarray  # (n_nodes, d) float64
    first_leaf: int


def _depth_for(n: int, leaf_size: int) -> int:
    depth = 0
    while -(-n // (1 << depth)) > leaf_size:
        depth += 1
    return depth


@njit(cache=True)
def _select(pts: np.ndarray, perm: np.ndarray, dim: int, s: int, e: int, target: int) -> None:
    """Reorder rows ``s:e`` of ``pts`` (and ``perm``) so row ``target`` holds the median.

    Wirth's selection with Hoare partitioning; rows move physically so later
    scans are contiguous.
    """
    d = pts.shape[1]
    left = s
    right = e - 1
    while left < right:
        pivot = pts[target, dim]
        i = left
        j = right
        while True:
            while pts[i, dim] < pivot:
                i += 1
            while pivot < pts[j, dim]:
                j -= 1
            if i <= j:
                for a in range(d):
                    tmp = pts[i, a]
                    pts[i, a] = pts[j, a]
                    pts[j, a] = tmp
                t = perm[i]
                perm[i] = perm[j]
                perm[j] = t
                i += 1
                j -= 1
            if i > j:
                break
        if j < target:
            left = i
        if target < i:
            right = j


@njit(cache=True)
def _split(pts, perm, start, end, lo, hi, node, is_leaf) -> None:
    """Record the bounding box of ``node`` and, unless a leaf, split it at the median."""
    d = pts.shape[1]
    s = start[node]
    e = end[node]
    for a in range(d):
        lo[node, a] = np.inf
        hi[node, a] = -np.inf
    for t in range(s, e):
        for a in range(d):
            v = pts[t, a]
            if v < lo[node, a]:
                lo[node, a] = v
            if v > hi[node, a]:
                hi[node, a] = v
    if is_leaf:
        return
    dim = 0
    spread = -1.0
    for a in range(d):
        if hi[node, a] - lo[node, a] > spread:
            spread = hi[node, a] - lo[node, a]
            dim = a
    mid = (s + e) // 2
    if e - s > 1:
        _select(pts, perm, dim, s, e, mid)
    start[2 * node + 1] = s
    end[2 * node + 1] = mid
    start[2 * node + 2] = mid
    end[2 * node + 2] = e


@njit(parallel=True, cache=True)
def _build(data: np.ndarray, depth: int):
    n, d = data.shape
    n_nodes = (1 << (depth + 1)) - 1
    start = np.empty(n_nodes, np.int64)
    end = np.empty(n_nodes, np.int64)
    lo = np.empty((n_nodes, d), np.float64)
    hi = np.empty((n_nodes, d), np.float64)
    pts = data.copy()
    perm = np.arange(n)
    start[0] = 0
    end[0] = n
    # the top levels serially, then the independent subtrees below in parallel
    top = min(depth, 3)
    for level in range(top):
        for node in range((1 << level) - 1, (1 << (level + 1)) - 1):
            _split(pts, perm, start, end, lo, hi, node, False)
    roots = 1 << top
    for r in prange(roots):
        root = roots - 1 + r
        for rel in range(depth - top + 1):
            first = (root + 1) * (1 << rel) - 1
            for node in range(first, first + (1 << rel)):
                _split(pts, perm, start, end, lo, hi, node, rel == depth - top)
    return pts, perm, start, end, lo, hi


def build_tree(data: np.ndarray, leaf_size: int = _LEAF_SIZE) -> KDTree:
    """Build a balanced max-norm KD-tree over the rows of ``data`` (n, d)."""
    data = np.ascontiguousarray(data, dtype=np.float64)
    depth = _depth_for(data.shape[0], leaf_size)
    points, perm, start, end, lo, hi = _build(data, depth)
    return KDTree(points, perm, start, end, lo, hi, (1 << depth) - 1)


def _chunks(n: int) -> int:
    # a few chunks per thread balance load; each chunk allocates its buffers once
    return max(1, min(n, 64))


@njit(cache=True, inline="always")
def _scan_leaf(points, s, e, t, q, best, best_idx, worst):
    """Offer points ``s:e`` (except ``t``) to the sorted k-best list; return the new bound."""
    k = best.shape[0]
    d = points.shape[1]
    for j in range(s, e):
        if j == t:
            continue
        dist = 0.0
        for a in range(d):
            v = abs(points[j, a] - q[a])
            if v > dist:
                dist = v
        if dist < worst:
            m = k - 1
            while m > 0 and best[m - 1] > dist:
                best[m] = best[m - 1]
                best_idx[m] = best_idx[m - 1]
                m -= 1
            best[m] = dist
            best_idx[m] = j
            worst = best[k - 1]
    return worst


@njit(parallel=True, cache=True)
def _knn_extents(points, start, end, lo, hi, first_leaf, k, dx, n_chunks):
    n, d = points.shape
    eps = np.empty(n, np.float64)
    eps_x = np.empty(n, np.float64)
    eps_y = np.empty(n, np.float64)
    size = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        best = np.empty(k, np.float64)
        best_idx = np.empty(k, np.int64)
        stack = np.empty(_STACK, np.int64)
        stack_lb = np.empty(_STACK, np.float64)
        q = np.empty(d, np.float64)
        for t in range(c * size, min(n, (c + 1) * size)):
            for a in range(d):
                q[a] = points[t, a]
            for m in range(k):
                best[m] = np.inf
                best_idx[m] = -1
            # scan the query's own leaf first: a tight bound before the descent
            own = 0
            while own < first_leaf:
                own = 2 * own + 1 if t < end[2 * own + 1] else 2 * own + 2
            worst = _scan_leaf(points, start[own], end[own], t, q, best, best_idx, np.inf)
            stack[0] = 0
            stack_lb[0] = 0.0
            sp = 1
            while sp > 0:
                sp -= 1
                node = stack[sp]
                if stack_lb[sp] >= worst or node == own:
                    continue
                if node >= first_leaf:
                    worst = _scan_leaf(points, start[node], end[node], t, q, best, best_idx, worst)
                    continue
                # lower bounds for both children; visit the nearer one first
                c1 = 2 * node + 1
                lb1 = 0.0
                lb2 = 0.0
                for a in range(d):
                    g1 = max(lo[c1, a] - q[a], q[a] - hi[c1, a])
                    g2 = max(lo[c1 + 1, a] - q[a], q[a] - hi[c1 + 1, a])
                    if g1 > lb1:
                        lb1 = g1
                    if g2 > lb2:
                        lb2 = g2
                if lb1 <= lb2:
                    if lb2 < worst:
                        stack[sp] = c1 + 1
                        stack_lb[sp] = lb2
                        sp += 1
                    if lb1 < worst:
                        stack[sp] = c1
                        stack_lb[sp] = lb1
                        sp += 1
                else:
                    if lb1 < worst:
                        stack[sp] = c1
                        stack_lb[sp] = lb1
                        sp += 1
                    if lb2 < worst:
                        stack[sp] = c1 + 1
                        stack_lb[sp] = lb2
                        sp += 1
            eps[t] = worst
            ex = 0.0
            ey = 0.0
            for m in range(k):
                j = best_idx[m]
                for a in range(dx):
                    v = abs(points[j, a] - q[a])
                    if v > ex:
                        ex = v
                for a in range(dx, d):
                    v = abs(points[j, a] - q[a])
                    if v > ey:
                        ey = v
            eps_x[t] = ex
            eps_y[t] = ey
    return eps, eps_x, eps_y


def knn_extents(tree: KDTree, k: int, dx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-th neighbour distance of every tree point (itself excluded).

    Parameters
    ----------
    tree : KDTree
        Tree over the joint points ``[x, y]``.
    k : int
        Neighbour rank, ``1 <= k < n``.
    dx : int
        Number of leading columns that belong to x.

    Returns
    -------
    eps, eps_x, eps_y : ndarray of shape (n,), in tree order
        Max-norm distance to the k-th nearest neighbour, and the largest x and
        y max-norm distances among those k neighbours.
    """
    n = tree.points.shape[0]
    return _knn_extents(
        tree.points, tree.start, tree.end, tree.lo, tree.hi, tree.first_leaf, k, dx, _chunks(n)
    )


@njit(parallel=True, cache=True)
def _count_in_tree(points, start, end, lo, hi, first_leaf, queries, radii, strict, n_chunks):
    m, d = queries.shape
    counts = np.empty(m, np.int64)
    size = (m + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        stack = np.empty(_STACK, np.int64)
        for i in range(c * size, min(m, (c + 1) * size)):
            r = radii[i]
            total = 0
            stack[0] = 0
            sp = 1
            while sp > 0:
                sp -= 1
                node = stack[sp]
                near = 0.0
                far = 0.0
                for a in range(d):
                    qa = queries[i, a]
                    g = max(lo[node, a] - qa, qa - hi[node, a])
                    if g > near:
                        near = g
                    f = max(hi[node, a] - qa, qa - lo[node, a])
                    if f > far:
                        far = f
                if (near >= r) if strict else (near > r):
                    continue
                if (far < r) if strict else (far <= r):
                    total += end[node] - start[node]
                    continue
                if node >= first_leaf:
                    for j in range(start[node], end[node]):
                        dist = 0.0
                        for a in range(d):
                            v = abs(points[j, a] - queries[i, a])
                            if v > dist:
                                dist = v
                        if (dist < r) if strict else (dist <= r):
                            total += 1
                    continue
                stack[sp] = 2 * node + 1
                stack[sp + 1] = 2 * node + 2
                sp += 2
            counts[i] = total
    return counts


def count_in_tree(tree: KDTree, queries: np.ndarray, radii: np.ndarray, strict: bool) -> np.ndarray:
    """Number of tree points within max-norm distance ``radii[i]`` of ``queries[i]``.

    ``strict`` counts distances ``< r``, otherwise ``<= r``. A query that is
    itself a tree point counts itself.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    return _count_in_tree(
        tree.points, tree.start, tree.end, tree.lo, tree.hi, tree.first_leaf,
        queries, radii, bool(strict), _chunks(queries.shape[0]),
    )


@njit(parallel=True, cache=True)
def _count_sorted(ordered, values, radii, strict):
    n = ordered.shape[0]
    m = values.shape[0]
    counts = np.empty(m, np.int64)
    for i in prange(m):
        v = values[i]
        r = radii[i]
        # g(j) = fl(ordered[j] - v) is non-decreasing in j, so each bound is one search
        a = 0
        b = n
        while a < b:  # first j with g(j) > -r  (>= -r when not strict)
            mid = (a + b) >> 1
            g = ordered[mid] - v
            if (g > -r) if strict else (g >= -r):
                b = mid
            else:
                a = mid + 1
        low = a
        b = n
        while a < b:  # first j with g(j) >= r  (> r when not strict)
            mid = (a + b) >> 1
            g = ordered[mid] - v
            if (g >= r) if strict else (g > r):
                b = mid
            else:
                a = mid + 1
        counts[i] = a - low
    return counts


def count_sorted(ordered: np.ndarray, values: np.ndarray, radii: np.ndarray, strict: bool) -> np.ndarray:
    """1-D fast path of :func:`count_in_tree` on a sorted array ``ordered``."""
    return _count_sorted(ordered, np.ascontiguousarray(values), radii, bool(strict))
