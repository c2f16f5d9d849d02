"""Kraskov-Stögbauer-Grassberger (2004) k-nearest-neighbour MI estimator.

Exact, parallel Numba implementation of both KSG estimators with max-norm
neighbourhoods in the joint space and in each marginal. The joint k-nearest
neighbours come from a KD-tree (:mod:`estimators._neighbors`); marginal counts
use binary search on a sorted copy for a 1-D marginal and a KD-tree range
count otherwise. Memory is O(n).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import digamma

from estimators._neighbors import build_tree, count_in_tree, count_sorted, knn_extents
from harness.interface import Capabilities, Estimator, SpecError

__all__ = ["KSG", "marginal_counts"]


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def marginal_counts(data: np.ndarray, queries: np.ndarray, radii: np.ndarray, strict: bool):
    """Count rows of ``data`` within max-norm ``radii[i]`` of ``queries[i]``.

    Parameters
    ----------
    data : ndarray of shape (n, d)
        Points to count.
    queries : ndarray of shape (m, d)
    radii : ndarray of shape (m,)
    strict : bool
        Count distances ``< r`` if true, ``<= r`` otherwise.

    Returns
    -------
    ndarray of shape (m,), int64
        Counts; a query that is one of the data rows counts itself when ``r > 0``
        (or when ``strict`` is false).
    """
    radii = np.ascontiguousarray(radii, dtype=np.float64)
    if data.shape[1] == 1:
        return count_sorted(np.sort(data[:, 0]), queries[:, 0], radii, strict)
    return count_in_tree(build_tree(data), queries, radii, strict)


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
        Tie-breaking jitter: ``noise * std(column) * N(0, 1)`` is added to every
        column before estimation; 0 disables it.
    seed : int
        Seed of the jitter.

    Notes
    -----
    Distances are not rescaled: the max-norm mixes the scales of the columns,
    as in the original paper.
    """

    name: ClassVar[str] = "ksg"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, k: int = 5, variant: int = 1, noise: float = 1e-10, seed: int = 0) -> None:
        self.k = k
        self.variant = variant
        self.noise = noise
        self.seed = seed

    def _check_params(self) -> None:
        if not _is_int(self.k) or self.k < 1:
            raise SpecError(f"ksg: k must be a positive integer; got {self.k!r}")
        if not _is_int(self.variant) or self.variant not in (1, 2):
            raise SpecError(f"ksg: variant must be 1 or 2; got {self.variant!r}")
        if (
            isinstance(self.noise, bool)
            or not isinstance(self.noise, (int, float, np.integer, np.floating))
            or not np.isfinite(self.noise)
            or self.noise < 0
        ):
            raise SpecError(f"ksg: noise must be a finite number >= 0; got {self.noise!r}")
        if not _is_int(self.seed):
            raise SpecError(f"ksg: seed must be an integer; got {self.seed!r}")

    def min_samples(self) -> int:
        return int(self.k) + 1

    def _min_reason(self) -> str:
        return f"k={self.k}"

    def _jitter(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        joint = np.concatenate([x, y], axis=1)
        if self.noise > 0:
            rng = np.random.default_rng(self.seed)
            joint += float(self.noise) * joint.std(axis=0) * rng.standard_normal(joint.shape)
        return joint

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        k = int(self.k)
        n, dx = x.shape
        tree = build_tree(self._jitter(x, y))
        eps, eps_x, eps_y = knn_extents(tree, k, dx)
        xs = tree.points[:, :dx]
        ys = tree.points[:, dx:]
        if self.variant == 1:
            # counts include the point itself whenever eps > 0; at eps = 0 nothing is
            # strictly inside, so n + 1 = 1
            cx = np.maximum(marginal_counts(xs, xs, eps, strict=True), 1)
            cy = np.maximum(marginal_counts(ys, ys, eps, strict=True), 1)
            value = digamma(k) + digamma(n) - np.mean(digamma(cx) + digamma(cy))
        else:
            cx = marginal_counts(xs, xs, eps_x, strict=False) - 1
            cy = marginal_counts(ys, ys, eps_y, strict=False) - 1
            value = digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(cx) + digamma(cy))
        return float(value)
