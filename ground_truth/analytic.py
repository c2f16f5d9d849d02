"""Closed-form mutual information, in nats.

* :func:`gaussian_mi` -- bivariate Gaussian with correlation ``rho``.
* :func:`mvn_mi` -- jointly Gaussian (X, Y) given the joint covariance.
* :func:`additive_uniform_mi` -- X ~ U(0, 1), Y = X + U(-eps, eps).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["additive_uniform_mi", "gaussian_mi", "mvn_mi"]


def gaussian_mi(rho: float) -> float:
    """MI of a bivariate Gaussian with correlation ``rho``: -1/2 ln(1 - rho^2).

    Parameters
    ----------
    rho : float
        Correlation coefficient, strictly inside (-1, 1).

    Returns
    -------
    float
        I(X; Y) in nats.

    Raises
    ------
    ValueError
        If ``rho`` is not a finite number in (-1, 1).
    """
    r = float(rho)
    if not math.isfinite(r) or not -1.0 < r < 1.0:
        raise ValueError(
            f"rho must lie strictly between -1 and 1 (MI is infinite at |rho|=1); got {rho!r}"
        )
    return -0.5 * math.log1p(-r * r)


def mvn_mi(cov: ArrayLike, dim_x: int) -> float:
    """MI between the first ``dim_x`` and the remaining coordinates of a Gaussian.

    I(X; Y) = 1/2 (ln det Sigma_x + ln det Sigma_y - ln det Sigma).

    Parameters
    ----------
    cov : array_like of shape (d, d)
        Joint covariance of (X, Y), symmetric positive definite.
    dim_x : int
        Number of leading coordinates that form X (1 <= dim_x < d).

    Returns
    -------
    float
        I(X; Y) in nats.

    Raises
    ------
    ValueError
        If ``cov`` is not a finite symmetric positive-definite square matrix or
        ``dim_x`` does not split it into two non-empty blocks.
    """
    s = np.asarray(cov, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"cov must be a square matrix; got shape {s.shape}")
    d = s.shape[0]
    if not isinstance(dim_x, (int, np.integer)) or not 1 <= dim_x < d:
        raise ValueError(
            f"dim_x must be an integer in [1, {d - 1}] for a {d}x{d} covariance; got {dim_x!r}"
        )
    if not np.all(np.isfinite(s)):
        raise ValueError("cov contains NaN or inf")
    if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12):
        raise ValueError("cov must be symmetric")
    logdets = []
    for block in (s, s[:dim_x, :dim_x], s[dim_x:, dim_x:]):
        sign, logdet = np.linalg.slogdet(block)
        if sign <= 0:
            raise ValueError(
                "cov must be positive definite (a block has a non-positive determinant)"
            )
        logdets.append(logdet)
    try:
        np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        raise ValueError("cov must be positive definite") from None
    joint, lx, ly = logdets
    return max(0.5 * (lx + ly - joint), 0.0)


def additive_uniform_mi(eps: float) -> float:
    """MI for X ~ U(0, 1), Y = X + N with N ~ U(-eps, eps) independent of X.

    I(X; Y) = eps - ln(2 eps) for eps <= 1/2, and 1 / (4 eps) otherwise.

    Parameters
    ----------
    eps : float
        Half-width of the noise, > 0.

    Returns
    -------
    float
        I(X; Y) in nats.

    Raises
    ------
    ValueError
        If ``eps`` is not a finite positive number.
    """
    e = float(eps)
    if not math.isfinite(e) or e <= 0.0:
        raise ValueError(f"eps must be a finite positive number; got {eps!r}")
    if e <= 0.5:
        return e - math.log(2.0 * e)
    return 1.0 / (4.0 * e)
