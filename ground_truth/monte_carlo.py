"""Monte Carlo ground truth for Gaussian mixtures.

I(X; Y) = E[log p(x, y) - log p(x) - log p(y)] under the joint, estimated by
averaging the pointwise log ratio over draws from the mixture. The marginal of
a Gaussian mixture over a subset of coordinates is the mixture of the
components' marginals (sub-blocks of the means and covariances), so every
density is a log-sum-exp over components, evaluated in a Numba kernel.

* :func:`gmm_mi` -- I(X; Y) for a joint split after ``dim_x`` coordinates.
* :func:`gmm_mi_pairs` -- several (X-subset, Y-subset) pairs on one shared sample.
* :func:`gmm_mi_precise` -- draw as many samples as a target standard error needs.
* :class:`MixtureMI` -- the integrand, set up once and integrated in stages.
* :func:`gmm_logpdf` -- log density of a mixture (optionally of a marginal).
* :func:`sample_gmm_sorted` -- draws grouped by component (for integration only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike

from harness.numba_threads import keep_torch_threads

__all__ = [
    "MCEstimate",
    "MixtureMI",
    "check_gmm",
    "gmm_logpdf",
    "gmm_mi",
    "gmm_mi_pairs",
    "gmm_mi_precise",
    "sample_gmm_sorted",
]

_ROWS_PER_BLOCK = 512  # rows handled by one parallel work item in the kernel
# Rows x components below which the kernel runs serially. Measured on the 2-core
# development machine (``python -m benchmarks.mc_kernel_threshold``, each call
# after 20 ms of other work, as in a Monte Carlo loop): waking Numba's threads
# costs ~0.1 ms, so the parallel kernel loses below ~5e4 and gains 1.2-1.8x from
# ~5e5 with 3-10 components (a single component gained nothing cold).
_PARALLEL_MIN_WORK = 2**19
_LOG_2PI = math.log(2.0 * math.pi)
_NEGLIGIBLE = -40.0  # log of a term too small to matter next to the largest

Pair = tuple[Sequence[int], Sequence[int]]


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------


def check_gmm(
    weights: ArrayLike, means: ArrayLike, covs: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and coerce mixture parameters.

    Parameters
    ----------
    weights : array_like of shape (K,)
        Non-negative component weights; normalised to sum to one.
    means : array_like of shape (K, d)
    covs : array_like of shape (K, d, d)
        Symmetric positive-definite covariances.

    Returns
    -------
    weights, means, covs : ndarray
        float64 copies; ``weights`` sums to one.

    Raises
    ------
    ValueError
        On inconsistent shapes, non-finite values, negative or all-zero weights,
        or a covariance that is not symmetric positive definite.
    """
    w = np.array(weights, dtype=np.float64, ndmin=1)
    mu = np.array(means, dtype=np.float64)
    cov = np.array(covs, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array; got shape {w.shape}")
    k = w.size
    if mu.ndim != 2 or mu.shape[0] != k:
        raise ValueError(f"means must have shape (K={k}, d); got {mu.shape}")
    d = mu.shape[1]
    if cov.shape != (k, d, d):
        raise ValueError(f"covs must have shape (K={k}, d={d}, d={d}); got {cov.shape}")
    for label, arr in (("weights", w), ("means", mu), ("covs", cov)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} contain NaN or inf")
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    if not np.allclose(cov, np.swapaxes(cov, 1, 2), rtol=1e-10, atol=1e-12):
        raise ValueError("every covariance must be symmetric")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("every covariance must be positive definite") from None
    return w / w.sum(), mu, cov


def _check_dims(dims: Sequence[int], d: int, label: str) -> np.ndarray:
    idx = np.asarray(dims, dtype=np.int64).reshape(-1)
    if idx.size == 0:
        raise ValueError(f"{label} must name at least one coordinate")
    if np.any(idx < 0) or np.any(idx >= d):
        raise ValueError(f"{label} must index coordinates in [0, {d - 1}]; got {idx.tolist()}")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{label} repeats a coordinate: {idx.tolist()}")
    return idx


class _Density:
    """Precomputed terms for the log density of a mixture marginal."""

    def __init__(self, w: np.ndarray, mu: np.ndarray, cov: np.ndarray, dims: np.ndarray):
        sub = cov[np.ix_(np.arange(w.size), dims, dims)]
        chol = np.linalg.cholesky(sub)
        eye = np.broadcast_to(np.eye(dims.size), sub.shape)
        self.dims = dims
        self.means = np.ascontiguousarray(mu[:, dims])
        # L^{-1}: the Mahalanobis distance is |L^{-1}(p - mu)|^2.
        self.prec_chol = np.ascontiguousarray(np.linalg.solve(chol, eye))
        with np.errstate(divide="ignore"):
            logw = np.log(w)
        half_logdet = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        self.log_const = logw - 0.5 * dims.size * _LOG_2PI - half_logdet

    def on_block(self, points: np.ndarray) -> np.ndarray:
        """Log density at points given in this marginal's own coordinates."""
        out = np.empty(points.shape[0])
        pts = np.ascontiguousarray(points, dtype=np.float64)
        _mixture_logpdf(pts, self.means, self.prec_chol, self.log_const, out)
        return out

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Log density at points of the full mixture (columns ``dims`` are used)."""
        return self.on_block(points[:, self.dims])


@numba.njit(cache=True)
def _logpdf_rows(
    points, means, prec_chol, log_const, out, start, stop, vals, diff
):  # pragma: no cover
    d = points.shape[1]
    k = means.shape[0]
    for i in range(start, stop):
        vmax = -np.inf
        for c in range(k):
            for j in range(d):
                diff[j] = points[i, j] - means[c, j]
            q = 0.0
            for r in range(d):
                z = 0.0
                for j in range(r + 1):  # prec_chol is lower triangular
                    z += prec_chol[c, r, j] * diff[j]
                q += z * z
            v = log_const[c] - 0.5 * q
            vals[c] = v
            if v > vmax:
                vmax = v
        if vmax == -np.inf:
            out[i] = -np.inf
            continue
        s = 0.0
        for c in range(k):
            t = vals[c] - vmax
            if t > _NEGLIGIBLE:  # smaller terms change s by < 1e-17 relative
                s += np.exp(t)
        out[i] = vmax + np.log(s)


@numba.njit(cache=True)
def _logpdf_serial(points, means, prec_chol, log_const, out):  # pragma: no cover - jitted
    vals = np.empty(means.shape[0])
    diff = np.empty(points.shape[1])
    _logpdf_rows(points, means, prec_chol, log_const, out, 0, points.shape[0], vals, diff)


@numba.njit(parallel=True, cache=True)
def _logpdf_parallel(points, means, prec_chol, log_const, out):  # pragma: no cover - jitted
    n = points.shape[0]
    n_blocks = (n + _ROWS_PER_BLOCK - 1) // _ROWS_PER_BLOCK
    for b in numba.prange(n_blocks):
        vals = np.empty(means.shape[0])
        diff = np.empty(points.shape[1])
        stop = min(n, (b + 1) * _ROWS_PER_BLOCK)
        _logpdf_rows(
            points, means, prec_chol, log_const, out, b * _ROWS_PER_BLOCK, stop, vals, diff
        )


def _mixture_logpdf(points, means, prec_chol, log_const, out) -> None:
    if points.shape[0] * means.shape[0] >= _PARALLEL_MIN_WORK:
        with keep_torch_threads():
            _logpdf_parallel(points, means, prec_chol, log_const, out)
    else:
        _logpdf_serial(points, means, prec_chol, log_const, out)


def gmm_logpdf(
    points: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    covs: ArrayLike,
    dims: Sequence[int] | None = None,
) -> np.ndarray:
    """Log density of a Gaussian mixture, or of its marginal over ``dims``.

    Parameters
    ----------
    points : array_like of shape (n, len(dims))
        Where to evaluate.
    weights, means, covs : array_like
        Mixture parameters, shapes (K,), (K, d), (K, d, d).
    dims : sequence of int, optional
        Coordinates of the marginal; all ``d`` coordinates by default.

    Returns
    -------
    ndarray of shape (n,)
    """
    w, mu, cov = check_gmm(weights, means, covs)
    d = mu.shape[1]
    idx = _check_dims(range(d) if dims is None else dims, d, "dims")
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != idx.size:
        raise ValueError(f"points must have shape (n, {idx.size}); got {pts.shape}")
    return _Density(w, mu, cov, idx).on_block(pts)


# --------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------


def sample_gmm_sorted(
    rng: np.random.Generator,
    weights: np.ndarray,
    means: np.ndarray,
    chols: np.ndarray,
    n: int,
) -> np.ndarray:
    """``n`` draws from a mixture, grouped by component (not shuffled).

    The order carries the component labels, which does not matter for Monte
    Carlo averages but does for anything that splits a sample; use
    :func:`tasks.gmm.sample_gmm` for estimator inputs.

    Parameters
    ----------
    rng : numpy.random.Generator
    weights : ndarray of shape (K,), summing to one
    means : ndarray of shape (K, d)
    chols : ndarray of shape (K, d, d)
        Lower Cholesky factors of the covariances.
    n : int

    Returns
    -------
    ndarray of shape (n, d)
    """
    counts = rng.multinomial(n, weights)
    d = means.shape[1]
    out = np.empty((n, d))
    start = 0
    for c, m in enumerate(counts):
        if m:
            z = rng.standard_normal((m, d))
            out[start : start + m] = z @ chols[c].T + means[c]
            start += m
    return out


# --------------------------------------------------------------------------
# Mutual information
# --------------------------------------------------------------------------


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


@dataclass(frozen=True)
class MCEstimate:
    """Running Monte Carlo moments for one or more integrands.

    Attributes
    ----------
    mean : ndarray of shape (p,)
        Sample means (the MI estimates).
    m2 : ndarray of shape (p,)
        Sums of squared deviations from the mean.
    n : int
        Number of draws.
    """

    mean: np.ndarray
    m2: np.ndarray
    n: int

    @property
    def sd(self) -> np.ndarray:
        """Sample standard deviation of the pointwise values."""
        return np.sqrt(self.m2 / max(self.n - 1, 1))

    @property
    def se(self) -> np.ndarray:
        """Standard error of the means."""
        return self.sd / np.sqrt(self.n)

    def merge(self, other: MCEstimate) -> MCEstimate:
        """Pool two independent runs (Chan et al.'s parallel update)."""
        total = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / total)
        m2 = self.m2 + other.m2 + delta**2 * (self.n * other.n / total)
        return MCEstimate(mean, m2, total)


class MixtureMI:
    """Pointwise log p(x,y) - log p(x) - log p(y) for coordinate pairs of one mixture.

    Set up once (Cholesky factors of every marginal), then integrate as often
    as needed; densities shared by several pairs are evaluated once per draw.

    Parameters
    ----------
    weights, means, covs : array_like
        Mixture parameters, shapes (K,), (K, d), (K, d, d).
    pairs : sequence of (x_dims, y_dims)
        Disjoint coordinate index lists, e.g. ``[([0], [1]), ([0], [2])]``.
    """

    def __init__(
        self, weights: ArrayLike, means: ArrayLike, covs: ArrayLike, pairs: Sequence[Pair]
    ):
        w, mu, cov = check_gmm(weights, means, covs)
        d = mu.shape[1]
        if len(pairs) == 0:
            raise ValueError("pairs must hold at least one (x_dims, y_dims) pair")
        cache: dict[tuple[int, ...], _Density] = {}

        def density(idx: np.ndarray) -> _Density:
            key = tuple(int(i) for i in idx)
            if key not in cache:
                cache[key] = _Density(w, mu, cov, idx)
            return cache[key]

        terms = []
        for xs, ys in pairs:
            xi = _check_dims(xs, d, "x dims")
            yi = _check_dims(ys, d, "y dims")
            if np.intersect1d(xi, yi).size:
                raise ValueError(f"x dims {xi.tolist()} and y dims {yi.tolist()} overlap")
            terms.append((density(np.concatenate([xi, yi])), density(xi), density(yi)))
        self._terms = terms
        self._densities = list(cache.values())
        self._weights = w
        self._means = mu
        self._chols = np.linalg.cholesky(cov)

    @property
    def n_pairs(self) -> int:
        return len(self._terms)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of the full mixture, grouped by component."""
        return sample_gmm_sorted(rng, self._weights, self._means, self._chols, n)

    def pointwise(self, points: np.ndarray) -> np.ndarray:
        """Integrand values, shape (n_pairs, n), at points of the full mixture."""
        logp = {id(f): f(points) for f in self._densities}
        return np.stack([logp[id(j)] - logp[id(a)] - logp[id(b)] for j, a, b in self._terms])

    def integrate(
        self,
        n_samples: int,
        rng: np.random.Generator | int | None = None,
        chunk_size: int = 2**16,
    ) -> MCEstimate:
        """Monte Carlo over ``n_samples`` fresh draws, ``chunk_size`` at a time."""
        if int(n_samples) != n_samples or n_samples < 2:
            raise ValueError(f"n_samples must be an integer >= 2; got {n_samples!r}")
        if int(chunk_size) != chunk_size or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
        gen = _as_rng(rng)
        total: MCEstimate | None = None
        seen = 0
        while seen < n_samples:
            m = int(min(chunk_size, n_samples - seen))
            vals = self.pointwise(self.sample(m, gen))
            mean = vals.mean(axis=1)
            part = MCEstimate(mean, ((vals - mean[:, None]) ** 2).sum(axis=1), m)
            total = part if total is None else total.merge(part)
            seen += m
        assert total is not None
        return total

    def integrate_to(
        self,
        target_se: float,
        rng: np.random.Generator | int | None = None,
        pilot: MCEstimate | int = 20_000,
        max_samples: int = 2 * 10**7,
        margin: float = 0.9,
        min_samples: int = 1000,
    ) -> MCEstimate:
        """Fresh draws until every standard error is below ``target_se``.

        The spread in ``pilot`` (a previous run, or a number of draws for a new
        one) sets the number of draws, aiming at ``margin * target_se`` and at
        least ``min_samples`` (so the error estimate itself is trustworthy); if
        that falls short, more draws are pooled in until the target or
        ``max_samples`` is reached. The pilot's draws are not part of the
        result, so a screening decision taken on them does not bias it.

        Returns
        -------
        MCEstimate
            Its ``se`` exceeds ``target_se`` only when ``max_samples`` ran out.
        """
        if not target_se > 0:
            raise ValueError(f"target_se must be positive; got {target_se!r}")
        gen = _as_rng(rng)
        run = pilot if isinstance(pilot, MCEstimate) else self.integrate(pilot, gen)
        sd = float(run.sd.max())
        need = min(max_samples, max(min_samples, math.ceil((sd / (margin * target_se)) ** 2)))
        result = self.integrate(need, gen)
        while result.se.max() >= target_se and result.n < max_samples:
            sd = float(result.sd.max())
            want = math.ceil((sd / (margin * target_se)) ** 2) - result.n
            extra = min(max_samples - result.n, max(result.n // 4, want))
            result = result.merge(self.integrate(extra, gen))
        return result


def gmm_mi_pairs(
    weights: ArrayLike,
    means: ArrayLike,
    covs: ArrayLike,
    pairs: Sequence[Pair],
    n_samples: int = 10**6,
    rng: np.random.Generator | int | None = None,
    chunk_size: int = 2**16,
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo MI between coordinate subsets of one Gaussian mixture.

    All pairs are integrated over the same draws of the full mixture, so their
    estimates are correlated (which sharpens comparisons such as MI(x; y) vs
    MI(x; y')). Draws of the full mixture projected onto a pair's coordinates
    are draws of that pair's marginal mixture.

    Parameters
    ----------
    weights, means, covs : array_like
        Mixture parameters, shapes (K,), (K, d), (K, d, d).
    pairs : sequence of (x_dims, y_dims)
        Disjoint coordinate index lists, e.g. ``[([0], [1]), ([0], [2])]``.
    n_samples : int
        Number of Monte Carlo draws (>= 2).
    rng : numpy.random.Generator, int or None
        Source of randomness (an int seeds a new generator).
    chunk_size : int
        Draws evaluated at once; bounds memory at a few times
        ``chunk_size * d * 8`` bytes.

    Returns
    -------
    estimates, standard_errors : ndarray of shape (len(pairs),)
        MI in nats and the Monte Carlo standard error of each estimate.
    """
    run = MixtureMI(weights, means, covs, pairs).integrate(n_samples, rng, chunk_size)
    return run.mean, run.se


def gmm_mi(
    weights: ArrayLike,
    means: ArrayLike,
    covs: ArrayLike,
    dim_x: int,
    n_samples: int = 10**6,
    rng: np.random.Generator | int | None = None,
    chunk_size: int = 2**16,
) -> tuple[float, float]:
    """Monte Carlo I(X; Y) for a Gaussian mixture over (X, Y).

    Parameters
    ----------
    weights, means, covs : array_like
        Mixture parameters, shapes (K,), (K, d), (K, d, d), of the joint.
    dim_x : int
        X is the first ``dim_x`` coordinates, Y the rest (1 <= dim_x < d).
    n_samples : int
        Number of Monte Carlo draws.
    rng : numpy.random.Generator, int or None
        Source of randomness.
    chunk_size : int
        Draws evaluated at once.

    Returns
    -------
    estimate, standard_error : float
        MI in nats and its Monte Carlo standard error.

    Examples
    --------
    >>> cov = [[[1.0, 0.6], [0.6, 1.0]]]
    >>> est, se = gmm_mi([1.0], [[0.0, 0.0]], cov, dim_x=1, n_samples=10**5, rng=0)
    >>> bool(abs(est - 0.2231) < 5 * se)
    True
    """
    d = np.shape(means)[-1]
    if not isinstance(dim_x, (int, np.integer)) or not 1 <= dim_x < d:
        raise ValueError(f"dim_x must be an integer in [1, {d - 1}]; got {dim_x!r}")
    pair = (list(range(dim_x)), list(range(dim_x, d)))
    est, se = gmm_mi_pairs(weights, means, covs, [pair], n_samples, rng, chunk_size)
    return float(est[0]), float(se[0])


def gmm_mi_precise(
    weights: ArrayLike,
    means: ArrayLike,
    covs: ArrayLike,
    pairs: Sequence[Pair],
    target_se: float = 0.003,
    rng: np.random.Generator | int | None = None,
    pilot_samples: int = 20_000,
    max_samples: int = 2 * 10**7,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Monte Carlo MI with every standard error below ``target_se``.

    See :meth:`MixtureMI.integrate_to`: a pilot run sizes a fresh final run.

    Parameters
    ----------
    weights, means, covs : array_like
        Mixture parameters.
    pairs : sequence of (x_dims, y_dims)
        As in :func:`gmm_mi_pairs`.
    target_se : float
        Required standard error, nats (> 0).
    rng : numpy.random.Generator, int or None
    pilot_samples : int
        Draws in the pilot run.
    max_samples : int
        Upper bound on draws in the final run.

    Returns
    -------
    estimates, standard_errors : ndarray of shape (len(pairs),)
    n_samples : int
        Draws behind the estimates. The errors exceed ``target_se`` only when
        ``max_samples`` was not enough.
    """
    run = MixtureMI(weights, means, covs, pairs).integrate_to(
        target_se, rng, pilot=pilot_samples, max_samples=max_samples
    )
    return run.mean, run.se, run.n
