"""The slice correlations of ``omniglot_smi``, computed exactly from the images.

``python -m benchmarks.sliced_ceiling omniglot`` prints them per alphabet choice.

An ``omniglot_smi`` instance is a finite mixture: character j_i uniform over the
n_i characters used of alphabet i, drawers uniform and independent for u and v.
So the covariance of (U, V) is known exactly from the images: per alphabet,
with m_c the mean image of character c (over its drawers) and S_c its mean
outer product,

    Cov(U_i) = mean_c S_c - mu mu^T,    Cov(U_i, V_i) = mean_c m_c m_{c+1}^T - mu mu^T,

mu = mean_c m_c (the successor c + 1 wrapping mod n_i, as the task's), and the
alphabets are independent, so Cov(U) and Cov(U, V) are block diagonal (V has
U's marginal). For a pair of directions (theta, phi) the slice correlation is
r = theta^T Cov(U, V) phi / sqrt(theta^T Cov(U) theta  phi^T Cov(V) phi), and
-1/2 ln(1 - r^2) is the MI of a Gaussian pair with that correlation: the
second-order (Gaussian) part of the slice's dependence, with no sampling noise.
Its mean over directions has a direction-free large-dimension limit: for theta,
phi uniform on the sphere of dimension D, E (theta^T C phi)^2 = ||C||_F^2 / D^2,
and theta^T Cov(U) theta concentrates at tr Cov(U) / D when Cov(U) has a large
effective rank, so E r^2 -> ||Cov(U, V)||_F^2 / (tr Cov(U))^2 and, r being
small, the mean of -1/2 ln(1 - r^2) tends to half that (:func:`limit_slice_mi`).

It is not the slice's whole MI. Each character has a finite set of drawings, so
U and V have finite supports and almost every projection is one-to-one on them:
the exact sliced MI of the discrete distribution equals I(U; V). A sample of n
points from U's support of prod_i 20 n_i image tuples (about 10^11 at d = 4)
sees none of that structure, though; what it shows of each slice is a
near-continuous cloud whose dependence this correlation measures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from estimators.sliced import random_directions
from tasks.omniglot import OmniglotSMI

__all__ = [
    "alphabet_moments",
    "choice_moments",
    "gaussian_slice_mi",
    "limit_slice_mi",
    "slice_correlations",
]


def alphabet_moments(images: Sequence[np.ndarray], n_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Cov(U_i) and Cov(U_i, V_i) of one alphabet of ``omniglot_smi``.

    Parameters
    ----------
    images : sequence of ndarray
        Per character, its drawings, shape (drawers, side, side).
    n_chars : int
        The first ``n_chars`` characters are used (the task's n_i).

    Returns
    -------
    cov_u, cov_uv : ndarray, shape (side * side, side * side)
    """
    flat = [
        np.asarray(images[c], dtype=np.float64).reshape(len(images[c]), -1) for c in range(n_chars)
    ]
    means = np.stack([f.mean(axis=0) for f in flat])
    second = sum(f.T @ f / len(f) for f in flat) / n_chars
    mu = means.mean(axis=0)
    cov_u = second - np.outer(mu, mu)
    cov_uv = means.T @ np.roll(means, -1, axis=0) / n_chars - np.outer(mu, mu)
    return cov_u, cov_uv


def slice_correlations(
    blocks: Sequence[tuple[np.ndarray, np.ndarray]], projections: int, seed: int = 0
) -> np.ndarray:
    """Exact correlation of each slice (theta^T U, phi^T V), shape (projections,).

    ``blocks`` holds :func:`alphabet_moments` per alphabet, in the order of U's
    columns; the directions are uniform on the spheres of U's and V's full
    dimension, drawn as :func:`estimators.sliced.slices` draws them (x first): the
    same directions as a sliced estimator's on samples made with
    ``drop_constant=false`` (with it, the estimator's directions live on the
    non-constant pixels, and r has the same distribution over directions).
    """
    sizes = [cov.shape[0] for cov, _ in blocks]
    rng = np.random.default_rng(seed)
    theta = random_directions(projections, sum(sizes), rng)
    phi = random_directions(projections, sum(sizes), rng)
    var_u = np.zeros(projections)
    var_v = np.zeros(projections)
    cross = np.zeros(projections)
    start = 0
    for (cov_u, cov_uv), size in zip(blocks, sizes, strict=True):
        t, f = theta[:, start : start + size], phi[:, start : start + size]
        var_u += ((t @ cov_u) * t).sum(axis=1)
        var_v += ((f @ cov_u) * f).sum(axis=1)  # V has U's marginal
        cross += ((t @ cov_uv) * f).sum(axis=1)
        start += size
    return cross / np.sqrt(var_u * var_v)


def limit_slice_mi(blocks: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """||Cov(U, V)||_F^2 / (2 (tr Cov(U))^2): the mean Gaussian slice MI in the limit
    of many dimensions, for ``blocks`` of :func:`alphabet_moments`."""
    frobenius = sum(float((cov_uv**2).sum()) for _, cov_uv in blocks)
    trace = sum(float(np.trace(cov_u)) for cov_u, _ in blocks)
    return frobenius / (2 * trace**2)


def choice_moments(
    task: OmniglotSMI, index: int, cache: dict | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`alphabet_moments` of each alphabet of choice ``index``, in column order;
    ``cache`` (keyed by alphabet and n_i, so only for choices of this one ``task``) is
    filled and reused when given."""
    cache = {} if cache is None else cache
    alphabets = task.alphabets()
    picked, used = task.choice(index)
    for key in zip(picked, used, strict=True):
        if key not in cache:
            cache[key] = alphabet_moments(alphabets[key[0]].images, key[1])
    return [cache[key] for key in zip(picked, used, strict=True)]


def gaussian_slice_mi(task: OmniglotSMI, projections: int = 1000, seed: int = 0) -> list[dict]:
    """Per alphabet choice of ``task``: its truth, the mean over ``projections``
    slices of -1/2 ln(1 - r^2) and of |r| (r from :func:`slice_correlations`) and
    :func:`limit_slice_mi`."""
    names = [a.name for a in task.alphabets()]
    cache: dict = {}
    rows = []
    for index in range(task.n_instances()):
        picked, used = task.choice(index)
        blocks = choice_moments(task, index, cache)
        r = slice_correlations(blocks, projections, seed)
        rows.append(
            {
                "choice": index,
                "alphabets": ";".join(names[a] for a in picked),
                "chars": ";".join(str(k) for k in used),
                "truth": task.truth(index),
                "gaussian_smi": float(np.mean(-0.5 * np.log1p(-(r**2)))),
                "mean_abs_r": float(np.mean(np.abs(r))),
                "limit_smi": limit_slice_mi(blocks),
            }
        )
    return rows
