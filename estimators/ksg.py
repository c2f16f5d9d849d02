"""Kraskov-Stögbauer-Grassberger (2004) k-nearest-neighbour MI estimator.

Exact, parallel Numba implementation of both KSG estimators with max-norm
neighbourhoods in the joint space and in each marginal. The joint k-nearest
neighbours come from a quantile grid when x and y are both 1-D and from a
KD-tree otherwise (:mod:`estimators._neighbors`); marginal counts use binary
search on a sorted copy for a 1-D marginal and a KD-tree range count
otherwise. Memory is O(n).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numba import njit, prange

from estimators._neighbors import (
    build_tree,
    count_in_tree,
    count_sorted,
    grid_knn_2d,
    knn_extents,
)
from harness.interface import Capabilities, Estimator, InputError
from harness.numba_threads import keep_torch_threads, load_kernels
from harness.params import check_bool, check_choice, check_int, check_number, check_seed

__all__ = ["KSG", "marginal_counts"]


def marginal_counts(
    data: np.ndarray,
    radii: np.ndarray,
    strict: bool,
) -> np.ndarray:
    """Count rows of ``data`` within max-norm ``radii[i]`` of row ``i``.

    Parameters
    ----------
    data : ndarray of shape (n, d)
    radii : ndarray of shape (n,)
    strict : bool
        Count distances ``< r`` if true, ``<= r`` otherwise.

    Returns
    -------
    ndarray of shape (n,), int64
        Counts; row ``i`` counts itself when ``r > 0`` (or when ``strict`` is false).
    """
    radii = np.ascontiguousarray(radii, dtype=np.float64)
    if data.shape[1] == 1:
        column = np.ascontiguousarray(data[:, 0])
        return count_sorted(column, np.argsort(column), radii, strict)
    return count_in_tree(build_tree(data), data, radii, strict)


_GOLDEN = 0x9E3779B97F4A7C15


@njit(cache=True, inline="always")
def _mix64(z):
    # the SplitMix64 output function
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(parallel=True, cache=True)
def _jittered(x, y, noise, seed):
    """``[x, y]``, each column centred on its mean, plus ``noise * std(column) * U(-1, 1)``.

    Centring first keeps the jitter above the rounding step of values far from
    zero (integers offset by 1e9 would otherwise keep their ties). The uniforms
    are a counter-based SplitMix64 stream keyed by (seed, column) and indexed
    by row, so they are the same on any number of threads.
    """
    n, dx = x.shape
    d = dx + y.shape[1]
    out = np.empty((n, d), np.float64)
    for a in range(d):
        col = x[:, a] if a < dx else y[:, a - dx]
        centre = np.mean(col)
        scale = noise * np.std(col) if noise > 0 else 0.0
        key = _mix64(np.uint64(seed) * np.uint64(d) + np.uint64(a) + np.uint64(1))
        for i in prange(n):
            v = col[i] - centre
            if scale > 0:
                bits = _mix64(key + np.uint64(i + 1) * np.uint64(_GOLDEN))
                v += scale * ((bits >> np.uint64(11)) * (2.0 / 9007199254740992.0) - 1.0)
            out[i, a] = v
    return out


@njit(cache=True)
def _digamma_table(size):
    """``psi(m)`` for ``m = 0 .. size - 1`` (``psi(0)`` is NaN)."""
    table = np.empty(size, np.float64)
    table[0] = np.nan
    for m in range(1, size):
        # psi(m) = psi(m + 10) - sum_{j<10} 1/(m + j), the asymptotic series at m + 10
        v = m + 10.0
        f = 1.0 / (v * v)
        series = f * (-1 / 12 + f * (1 / 120 + f * (-1 / 252 + f * (1 / 240 - f / 132))))
        acc = math.log(v) - 0.5 / v + series
        for j in range(10):
            acc -= 1.0 / (m + j)
        table[m] = acc
    return table


_PSI = np.empty(0)


def _psi_table(size: int) -> np.ndarray:
    """A cached digamma table with at least ``size`` entries."""
    global _PSI
    if _PSI.shape[0] < size:
        _PSI = _digamma_table(max(size, 2 * _PSI.shape[0], 1024))
    return _PSI


@njit(cache=True)
def _mean_psi(cx, cy, shift, table):
    """``mean(psi(cx + shift) + psi(cy + shift))`` (every term's argument is >= 1:
    counts include the point itself, and ties at distance 0 are refused)."""
    total = 0.0
    for i in range(cx.shape[0]):
        total += table[cx[i] + shift] + table[cy[i] + shift]
    return total / cx.shape[0]


class KSG(Estimator):
    """KSG estimator of I(X; Y) in nats (Kraskov, Stögbauer & Grassberger 2004).

    Parameters
    ----------
    k : int
        Number of nearest neighbours in the joint space.
    variant : int
        1: ``psi(k) + psi(N) - <psi(n_x + 1) + psi(n_y + 1)>`` with counts strictly
        inside the joint k-th neighbour distance. 2: ``psi(k) - 1/k + psi(N) -
        <psi(n_x) + psi(n_y)>`` with counts within the marginal extents of the
        k nearest joint neighbours.
    noise : float
        Tie-breaking jitter: ``noise * std(column) * U(-1, 1)`` is added to every
        column (centred on its mean) before estimation. The default (1e-10)
        leaves continuous data's neighbourhoods unchanged in practice. 0
        disables it; tied samples then raise :class:`InputError` (a point whose
        k-th neighbour is at distance 0 has no KSG term).
    seed : int
        Seed of the jitter (a counter-based hash, so the same on any thread count).
    standardize : bool
        Divide every column by its standard deviation first, so the estimate no
        longer depends on the units of each coordinate (bmi's and scikit-learn's
        habit). Off by default, as in the original paper.

    Notes
    -----
    Without ``standardize`` distances are not rescaled: the max-norm mixes the
    scales of the columns, so a Y much smaller than X leaves the joint
    neighbourhoods to X alone and hides the dependence.
    """

    name: ClassVar[str] = "ksg"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(
        self,
        k: int = 5,
        variant: int = 1,
        noise: float = 1e-10,
        seed: int = 0,
        standardize: bool = False,
    ) -> None:
        self.k = k
        self.variant = variant
        self.noise = noise
        self.seed = seed
        self.standardize = standardize

    def _check_params(self) -> None:
        check_int("ksg", "k", self.k, 1, maximum=None)
        check_choice("ksg", "variant", self.variant, (1, 2))
        check_number("ksg", "noise", self.noise, low=0)
        check_seed("ksg", self.seed)
        check_bool("ksg", "standardize", self.standardize)

    def min_samples(self) -> int:
        return int(self.k) + 1

    def _min_reason(self) -> str:
        return f"k={self.k}"

    def prepare(self) -> None:
        load_kernels(self)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        with keep_torch_threads():
            return self._estimate_numba(x, y)

    def _estimate_numba(self, x: np.ndarray, y: np.ndarray) -> float:
        k = int(self.k)
        n, dx = x.shape
        if self.standardize:  # the validator has rejected constant columns
            x, y = x / x.std(axis=0), y / y.std(axis=0)
        joint = _jittered(x, y, float(self.noise), int(self.seed))
        if joint.shape[1] == 2:
            eps, _, _, cx, cy = grid_knn_2d(joint[:, 0], joint[:, 1], k, int(self.variant))
        else:
            tree = build_tree(joint)
            eps, eps_x, eps_y = knn_extents(tree, k, dx)
            xs = tree.points[:, :dx]
            ys = tree.points[:, dx:]
            if self.variant == 1:
                cx = marginal_counts(xs, eps, True)
                cy = marginal_counts(ys, eps, True)
            else:
                cx = marginal_counts(xs, eps_x, False)
                cy = marginal_counts(ys, eps_y, False)
        tied = int(np.count_nonzero(eps == 0))
        if tied:
            raise InputError(
                f"ksg: {tied} of {n} points have their k-th neighbour (k = {k}) at distance 0 "
                "(tied samples), where the KSG estimate is undefined; use noise > 0 "
                f"(default 1e-10; this spec has noise={self.noise:g})"
            )
        psi = _psi_table(n + 1)
        if self.variant == 1:
            # counts include the point itself (eps > 0: ties were refused above)
            return float(psi[k] + psi[n] - _mean_psi(cx, cy, 0, psi))
        # counts include the point itself (and are >= k + 1)
        return float(psi[k] - 1.0 / k + psi[n] - _mean_psi(cx, cy, -1, psi))
