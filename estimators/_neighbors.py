"""Exact max-norm neighbour search in Numba: a KD-tree, a 2-D rank grid, sorted 1-D counts.

Private kernels behind :mod:`estimators.ksg`. All distances are the max-norm
(Chebyshev) distance computed as ``max_a |u_a - v_a|`` in float64, exactly as
``scipy.spatial.cKDTree`` computes it with ``p=inf``; every pruning test relies
only on the monotonicity of rounded subtraction, so counts and k-th distances
are exact, not approximate.

2-D rank grid
-------------
For two columns, :func:`grid_knn_2d` bins points into ``g x g`` cells whose
edges are sample quantiles of each column (so cells hold about equally many
points whatever the marginals), stores them cell by cell, and grows a rectangle
of cells around each query, one column or row at a time across its nearest
side, until the k-th distance is no larger than the distance to that side.
Building it costs two sorts and O(n).

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

__all__ = [
    "KDTree",
    "build_tree",
    "count_in_tree",
    "count_sorted",
    "grid_knn_2d",
    "knn_extents",
]

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
def _offer(dist, j, best, best_idx):
    """Insert ``(dist, j)`` into the ascending k-best list; return the new k-th distance.

    Bubbles through all k slots with selects instead of an early-exit loop:
    fewer mispredicted branches, which dominate neighbour search at small k.
    """
    k = best.shape[0]
    for m in range(k):
        b = best[m]
        bi = best_idx[m]
        swap = dist < b
        best[m] = dist if swap else b
        best_idx[m] = j if swap else bi
        dist = b if swap else dist
        j = bi if swap else j
    return best[k - 1]


@njit(cache=True, inline="always")
def _scan_leaf(points, s, e, t, q, best, best_idx, worst):
    """Offer points ``s:e`` (except ``t``) to the sorted k-best list; return the new bound."""
    d = points.shape[1]
    for j in range(s, e):
        dist = 0.0
        for a in range(d):
            v = abs(points[j, a] - q[a])
            if v > dist:
                dist = v
        if dist < worst and j != t:
            worst = _offer(dist, j, best, best_idx)
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
        tree.points,
        tree.start,
        tree.end,
        tree.lo,
        tree.hi,
        tree.first_leaf,
        queries,
        radii,
        bool(strict),
        _chunks(queries.shape[0]),
    )


_WINDOW = 64  # first window of the branch-free bisection; doubles while the run continues


@njit(cache=True, inline="always")
def _inside(g, r, strict):
    # g = fl(value - centre) against the lower bound -r
    return (g > -r) if strict else (g >= -r)


@njit(cache=True, inline="always")
def _below(g, r, strict):
    # g against the upper bound r
    return (g < r) if strict else (g <= r)


@njit(cache=True)
def _run_end(ordered, s, v, r, strict):
    """First ``j >= s`` with ``ordered[j] - v`` not below ``r`` (or n).

    ``fl(ordered[j] - v)`` is non-decreasing in j, so the qualifying j form a
    run; bisect windows of growing size with selects instead of branches.
    """
    n = ordered.shape[0]
    w = _WINDOW
    while True:
        pos = s
        step = w >> 1
        while step >= 1:
            j = pos + step - 1
            ok = (j < n) & _below(ordered[min(j, n - 1)] - v, r, strict)
            pos = pos + step if ok else pos
            step >>= 1
        ok = (pos < n) & _below(ordered[min(pos, n - 1)] - v, r, strict)
        pos += ok
        if pos - s < w or pos >= n:
            return pos
        s = pos
        w <<= 1


@njit(cache=True)
def _run_start(ordered, e, v, r, strict):
    """Smallest ``lo <= e`` with ``ordered[j] - v`` inside ``-r`` for all j in [lo, e)."""
    w = _WINDOW
    while True:
        pos = e
        step = w >> 1
        while step >= 1:
            j = pos - step
            ok = (j >= 0) & _inside(ordered[max(j, 0)] - v, r, strict)
            pos = pos - step if ok else pos
            step >>= 1
        ok = (pos > 0) & _inside(ordered[max(pos - 1, 0)] - v, r, strict)
        pos -= ok
        if e - pos < w or pos <= 0:
            return pos
        e = pos
        w <<= 1


@njit(cache=True)
def _count_around(ordered, p, r, strict):
    """Number of j with ``|ordered[j] - ordered[p]|`` < r (``<=`` unless strict)."""
    if strict and not r > 0:
        return 0
    v = ordered[p]
    return _run_end(ordered, p + 1, v, r, strict) - _run_start(ordered, p, v, r, strict)


@njit(cache=True, inline="always")
def _count_pair(sx, p, rx, sy, q, ry, strict):
    """:func:`_count_around` for an x and a y marginal at once.

    The four bisections (down and up in each) are independent, so they run
    interleaved in one loop over a first window of ``_WINDOW`` (a compile-time
    constant, so the loop unrolls); a side whose run fills that window
    continues in :func:`_run_end` / :func:`_run_start`.
    """
    nx = sx.shape[0]
    vx = sx[p]
    vy = sy[q]
    up_x = p + 1
    up_y = q + 1
    dn_x = p
    dn_y = q
    step = _WINDOW >> 1
    while step >= 1:
        j = up_x + step - 1
        ok = (j < nx) & _below(sx[min(j, nx - 1)] - vx, rx, strict)
        up_x = up_x + step if ok else up_x
        j = up_y + step - 1
        ok = (j < nx) & _below(sy[min(j, nx - 1)] - vy, ry, strict)
        up_y = up_y + step if ok else up_y
        j = dn_x - step
        ok = (j >= 0) & _inside(sx[max(j, 0)] - vx, rx, strict)
        dn_x = dn_x - step if ok else dn_x
        j = dn_y - step
        ok = (j >= 0) & _inside(sy[max(j, 0)] - vy, ry, strict)
        dn_y = dn_y - step if ok else dn_y
        step >>= 1
    up_x += (up_x < nx) & _below(sx[min(up_x, nx - 1)] - vx, rx, strict)
    up_y += (up_y < nx) & _below(sy[min(up_y, nx - 1)] - vy, ry, strict)
    dn_x -= (dn_x > 0) & _inside(sx[max(dn_x - 1, 0)] - vx, rx, strict)
    dn_y -= (dn_y > 0) & _inside(sy[max(dn_y - 1, 0)] - vy, ry, strict)
    if up_x - p - 1 == _WINDOW and up_x < nx:
        up_x = _run_end(sx, up_x, vx, rx, strict)
    if up_y - q - 1 == _WINDOW and up_y < nx:
        up_y = _run_end(sy, up_y, vy, ry, strict)
    if p - dn_x == _WINDOW and dn_x > 0:
        dn_x = _run_start(sx, dn_x, vx, rx, strict)
    if q - dn_y == _WINDOW and dn_y > 0:
        dn_y = _run_start(sy, dn_y, vy, ry, strict)
    count_x = up_x - dn_x if (rx > 0 or not strict) else 0
    count_y = up_y - dn_y if (ry > 0 or not strict) else 0
    return count_x, count_y


@njit(cache=True)
def _sorted_with_rank(values, order):
    n = values.shape[0]
    ordered = np.empty(n, np.float64)
    rank = np.empty(n, np.int64)
    for p in range(n):
        ordered[p] = values[order[p]]
        rank[order[p]] = p
    return ordered, rank


@njit(parallel=True, cache=True)
def _count_sorted(values, order, radii, strict, n_chunks):
    n = values.shape[0]
    ordered, rank = _sorted_with_rank(values, order)
    counts = np.empty(n, np.int64)
    size = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        for i in range(c * size, min(n, (c + 1) * size)):
            counts[i] = _count_around(ordered, rank[i], radii[i], strict)
    return counts


def count_sorted(
    values: np.ndarray, order: np.ndarray, radii: np.ndarray, strict: bool
) -> np.ndarray:
    """1-D fast path of :func:`count_in_tree` with the data points as queries.

    Parameters
    ----------
    values : ndarray of shape (n,)
    order : ndarray of shape (n,)
        ``argsort`` of ``values``.
    radii : ndarray of shape (n,)
    strict : bool
        Count ``|values[j] - values[i]| < radii[i]`` if true, ``<=`` otherwise.

    Returns
    -------
    ndarray of shape (n,), int64
        Counts, including ``i`` itself whenever it qualifies.
    """
    n = values.shape[0]
    return _count_sorted(
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(order, dtype=np.int64),
        np.ascontiguousarray(radii, dtype=np.float64),
        bool(strict),
        _chunks(n),
    )


# --------------------------------------------------------------------------
# 2-D rank grid
# --------------------------------------------------------------------------


@njit(cache=True)
def _grid_build(x, y, order_x, order_y, g):
    """Counting-sort the points into ``g x g`` quantile cells (cell = column * g + row)."""
    n = x.shape[0]
    cell = np.empty(n, np.int64)
    for r in range(n):
        cell[order_x[r]] = (r * g // n) * g
    for r in range(n):
        cell[order_y[r]] += r * g // n
    start = np.zeros(g * g + 1, np.int64)
    for i in range(n):
        start[cell[i] + 1] += 1
    for c in range(g * g):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    px = np.empty(n, np.float64)
    py = np.empty(n, np.float64)
    pid = np.empty(n, np.int64)
    for i in range(n):
        t = fill[cell[i]]
        fill[cell[i]] += 1
        px[t] = x[i]
        py[t] = y[i]
        pid[t] = i
    # smallest value in each column / row: everything in earlier ones is <= it
    edge_x = np.empty(g, np.float64)
    edge_y = np.empty(g, np.float64)
    for c in range(g):
        first = (c * n + g - 1) // g
        edge_x[c] = x[order_x[first]]
        edge_y[c] = y[order_y[first]]
    return start, px, py, pid, edge_x, edge_y


@njit(cache=True, inline="always")
def _scan_cells(px, py, a, b, xi, yi, best, best_idx, worst):
    for j in range(a, b):
        dist = max(abs(px[j] - xi), abs(py[j] - yi))
        if dist < worst:
            worst = _offer(dist, j, best, best_idx)
    return worst


@njit(parallel=True, cache=True)
def _grid_knn_counts(
    start, px, py, pid, edge_x, edge_y, g, k, variant, sx, rank_x, sy, rank_y, n_chunks
):
    n = px.shape[0]
    eps = np.empty(n, np.float64)
    eps_x = np.empty(n, np.float64)
    eps_y = np.empty(n, np.float64)
    count_x = np.empty(n, np.int64)
    count_y = np.empty(n, np.int64)
    n_cells = g * g
    size = (n_cells + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        # k + 1 best including the query itself at distance 0: the last is the k-th neighbour
        best = np.empty(k + 1, np.float64)
        best_idx = np.empty(k + 1, np.int64)
        for cell in range(ch * size, min(n_cells, (ch + 1) * size)):
            cx = cell // g
            cy = cell - cx * g
            r0 = max(cy - 1, 0)
            r1 = min(cy + 1, g - 1)
            for t in range(start[cell], start[cell + 1]):
                xi = px[t]
                yi = py[t]
                for m in range(k + 1):
                    best[m] = np.inf
                    best_idx[m] = t
                worst = np.inf
                # the 3 x 3 block of cells first, one contiguous run per column; every
                # point goes through the branch-free insertion (no unpredictable test)
                for c in range(max(cx - 1, 0), min(cx + 1, g - 1) + 1):
                    base = c * g
                    for j in range(start[base + r0], start[base + r1 + 1]):
                        dist = max(abs(px[j] - xi), abs(py[j] - yi))
                        worst = _offer(dist, j, best, best_idx)
                # grow the searched rectangle of cells [xl, xh] x [yl, yh] one column or
                # row at a time, always across the side nearest the query: every point
                # outside is at least that side's distance away (rounding is monotone).
                # Growing sides separately keeps the search short when the neighbourhood
                # is long and thin in rank space (tied or differently scaled columns).
                xl = max(cx - 1, 0)
                xh = min(cx + 1, g - 1)
                yl = r0
                yh = r1
                while True:
                    side = -1
                    bound = np.inf
                    if xl > 0 and xi - edge_x[xl] < bound:
                        bound = xi - edge_x[xl]
                        side = 0
                    if xh + 1 < g and edge_x[xh + 1] - xi < bound:
                        bound = edge_x[xh + 1] - xi
                        side = 1
                    if yl > 0 and yi - edge_y[yl] < bound:
                        bound = yi - edge_y[yl]
                        side = 2
                    if yh + 1 < g and edge_y[yh + 1] - yi < bound:
                        bound = edge_y[yh + 1] - yi
                        side = 3
                    if side < 0 or worst <= bound:
                        break
                    if side < 2:  # a whole column, one contiguous run of cells
                        if side == 0:
                            xl -= 1
                            base = xl * g
                        else:
                            xh += 1
                            base = xh * g
                        worst = _scan_cells(
                            px,
                            py,
                            start[base + yl],
                            start[base + yh + 1],
                            xi,
                            yi,
                            best,
                            best_idx,
                            worst,
                        )
                        continue
                    if side == 2:
                        yl -= 1
                        row = yl
                    else:
                        yh += 1
                        row = yh
                    for c in range(xl, xh + 1):
                        cell_j = c * g + row
                        worst = _scan_cells(
                            px, py, start[cell_j], start[cell_j + 1], xi, yi, best, best_idx, worst
                        )
                ex = 0.0
                ey = 0.0
                for m in range(k + 1):
                    j = best_idx[m]
                    ex = max(ex, abs(px[j] - xi))
                    ey = max(ey, abs(py[j] - yi))
                i = pid[t]
                eps[i] = worst
                eps_x[i] = ex
                eps_y[i] = ey
                if variant == 1:
                    count_x[i], count_y[i] = _count_pair(
                        sx, rank_x[i], worst, sy, rank_y[i], worst, True
                    )
                else:
                    count_x[i], count_y[i] = _count_pair(
                        sx, rank_x[i], ex, sy, rank_y[i], ey, False
                    )
    return eps, eps_x, eps_y, count_x, count_y


def grid_knn_2d(
    x: np.ndarray, y: np.ndarray, k: int, variant: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """KSG neighbourhoods of the 2-D points ``(x[i], y[i])`` in one pass.

    Parameters
    ----------
    x, y : ndarray of shape (n,), float64
    k : int
        Neighbour rank, ``1 <= k < n``.
    variant : {1, 2}
        Which marginal counts to return (see below).

    Returns
    -------
    eps, eps_x, eps_y : ndarray of shape (n,)
        As :func:`knn_extents`: the max-norm distance to the k-th neighbour and
        the largest x and y distances among the k nearest neighbours.
    count_x, count_y : ndarray of shape (n,), int64
        Points (the query included) with ``|x_j - x_i| < eps_i`` (variant 1) or
        ``|x_j - x_i| <= eps_x_i`` (variant 2), and likewise for y.
    """
    n = x.shape[0]
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    order_x = np.argsort(x)
    order_y = np.argsort(y)
    sx, rank_x = _sorted_with_rank(x, order_x)
    sy, rank_y = _sorted_with_rank(y, order_y)
    occupancy = max(1.0, k / 3.0)  # points per cell on average
    g = max(1, int(np.sqrt(n / occupancy)))
    start, px, py, pid, edge_x, edge_y = _grid_build(x, y, order_x, order_y, g)
    return _grid_knn_counts(
        start,
        px,
        py,
        pid,
        edge_x,
        edge_y,
        g,
        int(k),
        int(variant),
        sx,
        rank_x,
        sy,
        rank_y,
        _chunks(g * g),
    )
