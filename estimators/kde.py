"""Gaussian kernel density (KDE) resubstitution estimator of mutual information.

``I = mean_i [log p(x_i, y_i) - log p(x_i) - log p(y_i)]`` with the three
densities estimated from the same samples, in nats.

Bandwidth follows :class:`scipy.stats.gaussian_kde` exactly: the kernel of a
d-dimensional density is a Gaussian with covariance ``H = C * f**2``, where
``C`` is the (unbiased) sample covariance of that density's columns and ``f``
the bandwidth factor (Scott ``n**(-1/(d+4))``, Silverman
``(n*(d+2)/4)**(-1/(d+4))``, or a given number). Whitening the data by the
Cholesky factor of ``H`` turns that kernel into a *product of 1-D standard
Gaussians* in whitened coordinates; that is what "product kernel" means here.
Each of the joint and the two marginal densities is whitened by its own
covariance, so with the default settings the estimate equals the one computed
with three ``gaussian_kde`` objects (to rounding).

The kernel sums run in parallel Numba loops over points in O(n) memory; each
pair's kernel value is computed once and added to both points' sums, with a
vectorisable ``exp`` (relative error < 1e-12). The log of each sum is a
log-sum-exp: with resubstitution the point's own kernel, exp(0) = 1, is the
largest term, so no shift is needed; leave-one-out rows whose sum underflows
are recomputed with the shift by their nearest neighbour.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numba import njit, prange
from scipy.linalg import LinAlgError, cholesky

from harness.interface import Capabilities, Estimator, InputError, SpecError
from harness.numba_threads import keep_torch_threads, load_kernels
from harness.params import check_bool, check_number

__all__ = ["KDE", "bandwidth_factor", "log_density"]

_RULES = ("scott", "silverman")
# below this a row's unshifted kernel sum may have lost precision to underflow
_TINY_SUM = 1e-280
_TILE = 256


def bandwidth_factor(bandwidth: str | float, n: int, d: int) -> float:
    """Bandwidth factor ``f`` of :class:`scipy.stats.gaussian_kde` for ``n`` points in ``d`` dims.

    Parameters
    ----------
    bandwidth : {"scott", "silverman"} or float
        A rule name, or the factor itself.
    n, d : int
        Sample size and dimension.

    Returns
    -------
    float
    """
    if bandwidth == "scott":
        return float(n) ** (-1.0 / (d + 4))
    if bandwidth == "silverman":
        return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    return float(bandwidth)


# exp(v) for v <= 0 as (Taylor polynomial of exp(v / 2**10)) ** (2**10): a branch-free
# form the compiler vectorises (math.exp is a scalar libm call). Degree 17 truncates
# below 1e-18 on |v / 2**10| <= 0.73; the ten squarings amplify rounding to a relative
# error < 5e-13 (checked in tests), and results below ~1e-308 underflow smoothly to 0.
_EXP_SQUARINGS = 10
_EXP_COEFS = tuple(1.0 / math.factorial(i) for i in range(17, -1, -1))
_FASTMATH = {"reassoc", "contract"}  # vectorised sums and FMA; no assumptions about NaN/inf


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _exp_nonpositive(v):
    y = max(v, -746.0) * (1.0 / (1 << _EXP_SQUARINGS))
    p = 0.0
    for c in _EXP_COEFS:
        p = p * y + c
    for _ in range(_EXP_SQUARINGS):
        p = p * p
    return p


@njit(cache=True, fastmath=_FASTMATH)
def _tile(wt, q, j0, j1, buf, row):
    """Kernel values of columns ``j0:j1`` of ``wt`` against ``q``: add to ``row``, return sum."""
    d = wt.shape[0]
    m = j1 - j0
    # separate simple loops so each one vectorises
    for jj in range(m):
        z = wt[0, j0 + jj] - q[0]
        buf[jj] = z * z
    for a in range(1, d):
        for jj in range(m):
            z = wt[a, j0 + jj] - q[a]
            buf[jj] += z * z
    for jj in range(m):
        buf[jj] = _exp_nonpositive(-0.5 * buf[jj])
    s = 0.0
    for jj in range(m):
        s += buf[jj]
    for jj in range(m):
        row[j0 + jj] += buf[jj]
    return s


@njit(parallel=True, cache=True)
def _pair_sums(wt: np.ndarray, n_chunks: int) -> np.ndarray:
    """``s_i = sum_{j != i} exp(-|w_i - w_j|^2 / 2)`` for columns ``w_i`` of ``wt`` (d, n).

    Each pair is evaluated once and added to both sums; chunk ``c`` owns the
    accumulator row ``acc[c]`` (memory ``n_chunks * n``).
    """
    d, n = wt.shape
    acc = np.zeros((n_chunks, n), np.float64)
    for c in prange(n_chunks):
        row = acc[c]
        q = np.empty(d, np.float64)
        buf = np.empty(_TILE, np.float64)
        # strided rows give every chunk a similar share of the triangle
        for i in range(c, n, n_chunks):
            for a in range(d):
                q[a] = wt[a, i]
            s = 0.0
            for j0 in range(i + 1, n, _TILE):
                s += _tile(wt, q, j0, min(n, j0 + _TILE), buf, row)
            row[i] += s
    out = np.zeros(n, np.float64)
    for c in range(n_chunks):
        for i in range(n):
            out[i] += acc[c, i]
    return out


@njit(parallel=True, cache=True)
def _whiten(centred: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Solve ``chol @ w_i = centred[i]`` (forward substitution) for every row; return (d, n)."""
    n, d = centred.shape
    wt = np.empty((d, n), np.float64)
    for i in prange(n):
        for a in range(d):
            v = centred[i, a]
            for b in range(a):
                v -= chol[a, b] * wt[b, i]
            wt[a, i] = v / chol[a, a]
    return wt


@njit(parallel=True, cache=True)
def _log_sums_exact(wt: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Shifted log-sum-exp of ``-|w_i - w_j|^2 / 2`` over ``j != i`` for each ``i`` in ``rows``."""
    d, n = wt.shape
    out = np.empty(rows.shape[0], np.float64)
    for r in prange(rows.shape[0]):
        i = rows[r]
        best = np.inf
        for j in range(n):
            if j == i:
                continue
            d2 = 0.0
            for a in range(d):
                t = wt[a, j] - wt[a, i]
                d2 += t * t
            best = min(best, d2)
        s = 0.0
        for j in range(n):
            if j == i:
                continue
            d2 = 0.0
            for a in range(d):
                t = wt[a, j] - wt[a, i]
                d2 += t * t
            s += math.exp(-0.5 * (d2 - best))
        out[r] = math.log(s) - 0.5 * best
    return out


def log_density(data: np.ndarray, factor: float, leave_one_out: bool = False) -> np.ndarray:
    """Log of the Gaussian KDE of ``data`` (n, d) at its own points.

    Parameters
    ----------
    data : ndarray of shape (n, d)
    factor : float
        Bandwidth factor; the kernel covariance is ``cov(data) * factor**2``.
    leave_one_out : bool
        Leave each point out of its own density (average over the other n - 1).

    Returns
    -------
    ndarray of shape (n,)

    Raises
    ------
    InputError
        If the sample covariance is singular (linearly dependent columns).
    """
    n, d = data.shape
    centred = data - data.mean(axis=0)
    cov = np.atleast_2d(np.cov(centred, rowvar=False))
    try:
        chol = cholesky(cov, lower=True)
    except LinAlgError:
        chol = None
    if chol is None or not np.all(np.diag(chol) > 0):
        raise InputError(
            f"the sample covariance of these {d} columns is singular (linearly dependent "
            "columns or too few samples); the KDE bandwidth matrix is undefined"
        )
    chol = chol * factor
    # BLAS-free whitening: a BLAS pool spinning beside Numba's threads costs more than this
    wt = _whiten(np.ascontiguousarray(centred), chol)
    sums = _pair_sums(wt, _n_chunks(n))
    if leave_one_out:
        logs = np.empty(n)
        ok = sums >= _TINY_SUM
        logs[ok] = np.log(sums[ok])
        bad = np.flatnonzero(~ok).astype(np.int64)
        if bad.size:
            logs[bad] = _log_sums_exact(wt, bad)
        count = n - 1
    else:
        logs = np.log1p(sums)  # the point's own kernel contributes exp(0) = 1
        count = n
    log_norm = math.log(count) + 0.5 * d * math.log(2 * math.pi) + np.log(np.diag(chol)).sum()
    return logs - log_norm


def _n_chunks(n: int) -> int:
    # a fixed count (not one per thread): the sums are then added in the same
    # order on any number of threads, so the estimate is the same to the last bit
    return max(1, min(n, 64))


class KDE(Estimator):
    """Gaussian KDE resubstitution estimator of I(X; Y) in nats.

    Parameters
    ----------
    bandwidth : {"scott", "silverman"} or float
        Bandwidth rule of :class:`scipy.stats.gaussian_kde`, applied to the
        joint and to each marginal with its own dimension, or a positive number
        used as the factor for all three.
    leave_one_out : bool
        Leave each sample out of the densities evaluated at it (reduces the
        positive resubstitution bias). The bandwidth still uses all n samples.

    Notes
    -----
    The kernel covariance is ``cov * factor**2`` with the full sample
    covariance of each density's columns, as in ``gaussian_kde``; see the module
    docstring. Costs O(n^2 (dx + dy)) time and O(n) memory.
    """

    name: ClassVar[str] = "kde"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, bandwidth: str | float = "scott", leave_one_out: bool = False) -> None:
        self.bandwidth = bandwidth
        self.leave_one_out = leave_one_out

    def _check_params(self) -> None:
        bw = self.bandwidth
        if not (isinstance(bw, str) and bw in _RULES):
            try:
                check_number("kde", "bandwidth", bw, low=0, low_open=True)
            except SpecError:
                raise SpecError(
                    f"kde: bandwidth must be 'scott', 'silverman' or a positive number; got {bw!r}"
                ) from None
        check_bool("kde", "leave_one_out", self.leave_one_out)

    def min_samples(self) -> int:
        return 3  # fewer cannot give a nonsingular covariance of the joint [x, y]

    def _min_reason(self) -> str:
        return "a nonsingular joint covariance"

    def prepare(self) -> None:
        load_kernels(self)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        n = x.shape[0]
        loo = bool(self.leave_one_out)
        joint = np.concatenate([x, y], axis=1)
        parts = []
        with keep_torch_threads():
            for data in (joint, x, y):
                factor = bandwidth_factor(self.bandwidth, n, data.shape[1])
                parts.append(log_density(data, factor, loo))
        return float(np.mean(parts[0] - parts[1] - parts[2]))
