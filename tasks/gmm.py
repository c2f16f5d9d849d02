"""Random Gaussian mixtures: InfoNet's recipe, sampling, and stored GMM sets.

The recipe (Hu et al., ICML 2024, also InfoNet's training data): K components
with K uniform in 1..k_max (20), weights ~ Dirichlet(1, ..., 1), means uniform
in [-5, 5]^d, covariances D D^T + 0.01 I with the entries of D uniform in
[-3, 3].

Stored sets keep mixture parameters in float32 (weights, means and the upper
triangle of each covariance, components of all mixtures concatenated); the
Monte Carlo truth is computed on the float64 values decoded from them, so the
stored parameters and the stored truth describe exactly the same mixture.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ground_truth.cache import UNREADABLE, cache_dir, find_sets, load_set
from harness.interface import SpecError

__all__ = [
    "DATA_DIR",
    "DEFAULT_SET_SEED",
    "FORMAT_VERSION",
    "GMM",
    "RECIPE",
    "find_gmm_set",
    "load_gmm_set",
    "loadable_sets",
    "missing_set_error",
    "pack_gmms",
    "random_gmm",
    "round_trip",
    "sample_gmm",
    "sample_rng",
    "set_dirs",
    "set_stem",
    "stored_sets",
    "unpack_gmm",
]

RECIPE: dict[str, Any] = {
    "k_max": 20,
    "mean_low": -5.0,
    "mean_high": 5.0,
    "factor_low": -3.0,
    "factor_high": 3.0,
    "jitter": 0.01,
    "weights": "dirichlet(1)",
}
"""InfoNet's random-GMM recipe (the paper's training and evaluation data)."""

FORMAT_VERSION = 1
"""Layout of stored GMM sets; sets written with another layout are ignored."""

DEFAULT_SET_SEED = 0
"""Build seed of the sets shipped in :data:`DATA_DIR`."""

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the default (shipped) task sets live."""


@dataclass(frozen=True)
class GMM:
    """A Gaussian mixture in R^d.

    Attributes
    ----------
    weights : ndarray of shape (K,), summing to one
    means : ndarray of shape (K, d)
    covs : ndarray of shape (K, d, d), symmetric positive definite
    """

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray

    @property
    def k(self) -> int:
        """Number of components."""
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        """Dimension of the space."""
        return int(self.means.shape[1])

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws, shape (n, d), in random order."""
        return sample_gmm(rng, self.weights, self.means, self.covs, n)

    def marginal(self, dims: Sequence[int]) -> GMM:
        """The mixture of the components' marginals over coordinates ``dims``."""
        idx = np.asarray(dims, dtype=np.int64)
        return GMM(self.weights, self.means[:, idx], self.covs[:, idx][:, :, idx])


def random_gmm(
    rng: np.random.Generator,
    dim: int = 2,
    k: int | None = None,
    recipe: dict[str, Any] | None = None,
) -> GMM:
    """Draw a mixture from the recipe.

    Parameters
    ----------
    rng : numpy.random.Generator
    dim : int
        Dimension d of the mixture.
    k : int, optional
        Number of components; uniform in 1..k_max when omitted.
    recipe : dict, optional
        Overrides of :data:`RECIPE` entries.

    Returns
    -------
    GMM
    """
    r = {**RECIPE, **(recipe or {})}
    if dim < 1:
        raise ValueError(f"dim must be >= 1; got {dim}")
    if k is None:
        k = int(rng.integers(1, int(r["k_max"]) + 1))
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    weights = rng.dirichlet(np.ones(k))
    means = rng.uniform(r["mean_low"], r["mean_high"], size=(k, dim))
    factors = rng.uniform(r["factor_low"], r["factor_high"], size=(k, dim, dim))
    covs = factors @ np.swapaxes(factors, 1, 2) + r["jitter"] * np.eye(dim)
    return GMM(weights, means, covs)


def sample_gmm(
    rng: np.random.Generator,
    weights: np.ndarray,
    means: np.ndarray,
    covs: np.ndarray,
    n: int,
) -> np.ndarray:
    """``n`` independent draws from a Gaussian mixture, in random order.

    Parameters
    ----------
    rng : numpy.random.Generator
    weights : ndarray of shape (K,)
        Normalised here.
    means : ndarray of shape (K, d)
    covs : ndarray of shape (K, d, d)
    n : int

    Returns
    -------
    ndarray of shape (n, d)
    """
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum())
    labels = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), w.size - 1)
    z = rng.standard_normal((n, means.shape[1]))
    chols = np.linalg.cholesky(covs)
    return means[labels] + np.einsum("nij,nj->ni", chols[labels], z)


# --------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------


def pack_gmms(gmms: Sequence[GMM]) -> dict[str, np.ndarray]:
    """Concatenate mixtures of one dimension into float32 arrays.

    Returns
    -------
    dict
        ``k`` (N,) component counts; ``weights`` (sum K,), ``means``
        (sum K, d) and ``cov_triu`` (sum K, d(d+1)/2) in float32.
    """
    if not gmms:
        raise ValueError("nothing to pack")
    dim = gmms[0].dim
    iu = np.triu_indices(dim)
    return {
        "k": np.array([g.k for g in gmms], dtype=np.int16),
        "weights": np.concatenate([g.weights for g in gmms]).astype(np.float32),
        "means": np.concatenate([g.means for g in gmms]).astype(np.float32),
        "cov_triu": np.concatenate([g.covs[:, iu[0], iu[1]] for g in gmms]).astype(np.float32),
    }


def unpack_gmm(arrays: dict[str, np.ndarray], index: int, offsets: np.ndarray | None = None) -> GMM:
    """Mixture ``index`` of packed arrays, decoded to float64.

    Parameters
    ----------
    arrays : dict
        As returned by :func:`pack_gmms` (or loaded from a set).
    index : int
        Which mixture.
    offsets : ndarray, optional
        ``concatenate([0], cumsum(k))``; pass it when unpacking many.
    """
    if offsets is None:
        offsets = np.concatenate([[0], np.cumsum(arrays["k"], dtype=np.int64)])
    a, b = int(offsets[index]), int(offsets[index + 1])
    w = arrays["weights"][a:b].astype(np.float64)
    means = arrays["means"][a:b].astype(np.float64)
    dim = means.shape[1]
    iu = np.triu_indices(dim)
    covs = np.zeros((b - a, dim, dim))
    covs[:, iu[0], iu[1]] = arrays["cov_triu"][a:b]
    covs[:, iu[1], iu[0]] = arrays["cov_triu"][a:b]
    return GMM(w / w.sum(), means, covs)


def round_trip(gmm: GMM) -> GMM:
    """The mixture as it will be stored and read back (float32 parameters)."""
    return unpack_gmm(pack_gmms([gmm]), 0)


# --------------------------------------------------------------------------
# Finding sets
# --------------------------------------------------------------------------


def set_dirs() -> list[Path]:
    """Directories searched for GMM sets: the user cache first, then the package."""
    return [cache_dir(), DATA_DIR]


def set_stem(task: str, count: int, seed: int) -> str:
    """File stem of a set, e.g. ``gmm_levels_100`` or ``gmm_levels_1000_seed7``."""
    return f"{task}_{count}" if seed == DEFAULT_SET_SEED else f"{task}_{count}_seed{seed}"


def stored_sets(
    task: str,
    seed: int,
    builder_version: int,
    usable: Any = None,
    dirs: Sequence[Path] | None = None,
) -> list[tuple[Path, dict[str, Any]]]:
    """Stored sets of ``task`` that ``usable(record)`` accepts, smallest first.

    Only sets with this layout, builder version and build seed are considered.
    Because a set built for more instances extends a smaller one with the same
    seed (each candidate's fate depends on itself alone), every usable set
    yields the same instances; the smallest is just the fastest to read.
    """
    found = []
    for path, rec in find_sets(dirs if dirs is not None else set_dirs(), f"{task}_*.npz"):
        if (
            rec.get("task") != task
            or rec.get("format") != FORMAT_VERSION
            or rec.get("builder_version") != builder_version
            or rec.get("build_seed") != seed
            or (usable is not None and not usable(rec))
        ):
            continue
        found.append((int(rec.get("n_rows", 0)), len(found), path, rec))
    return [(path, rec) for _, _, path, rec in sorted(found)]


def find_gmm_set(
    task: str,
    seed: int,
    builder_version: int,
    usable: Any = None,
    dirs: Sequence[Path] | None = None,
) -> tuple[Path, dict[str, Any]] | None:
    """The smallest stored set of ``task`` that ``usable(record)`` accepts.

    See :func:`stored_sets`; ``None`` when there is none.
    """
    sets = stored_sets(task, seed, builder_version, usable, dirs)
    return sets[0] if sets else None


def sample_rng(seed: int, key: Sequence[int]) -> np.random.Generator:
    """Generator for drawing an instance's samples: a ``SeedSequence`` leaf.

    ``key`` names the stored mixture (not the instance's position in a task),
    so a mixture's samples under ``seed`` are the same whatever subset of a set
    a task selects.
    """
    return np.random.default_rng(
        np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(int(k) for k in key))
    )


def missing_set_error(
    task: str,
    count_param: str,
    count: int,
    seed: int,
    builder_version: int,
    flags: dict[str, Any] | None = None,
) -> SpecError:
    """The error for a task asking for more than any stored set holds.

    It names the largest set found and the ``tasks build`` command that makes
    a big enough one, with a time estimate from that set's build record.
    """
    option = "--" + count_param.replace("_", "-")
    command = f"python -m harness tasks build {task} {option} {count}"
    if seed != DEFAULT_SET_SEED:
        command += f" --seed {seed}"
    for key, value in (flags or {}).items():
        command += f" --{key.replace('_', '-')} {value}"
    sets = stored_sets(task, seed, builder_version)
    if sets:
        path, rec = max(sets, key=lambda s: int(s[1].get(count_param, 0)))
        have = f"the largest stored set has {count_param}={rec.get(count_param)}: {path}"
        wall = rec.get("timing", {}).get("wall_seconds")
        per = int(rec.get(count_param) or 0)
        pace = f"; about {_duration(wall * count / per)} at that set's pace" if wall and per else ""
    else:
        have = (
            f"no stored set with build seed {seed} was found in {', '.join(map(str, set_dirs()))}"
        )
        pace = ""
    wanted = ", ".join(f"{k}={v}" for k, v in {count_param: count, **(flags or {})}.items())
    return SpecError(
        f"{task}: no stored set fits {wanted} ({have}). "
        f"Build one with: {command}  (written to {cache_dir()}{pace})"
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def loadable_sets(
    sets: Sequence[tuple[Path, dict[str, Any]]],
) -> Iterator[tuple[Path, dict[str, np.ndarray]]]:
    """``(path, arrays)`` of each of ``sets`` (from :func:`stored_sets`) in turn,
    skipping a file that cannot be read (a truncated copy beside a good set)."""
    for path, _ in sets:
        try:
            arrays, _ = load_gmm_set(path)
        except UNREADABLE:
            continue
        yield path, arrays


def load_gmm_set(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load a stored set (memoised per file and modification time)."""
    p = Path(path).resolve()
    stat = p.stat()
    return _load_cached(str(p), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_cached(
    path: str, mtime_ns: int, size: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays, record = load_set(path)
    for arr in arrays.values():
        arr.setflags(write=False)
    arrays["offsets"] = np.concatenate([[0], np.cumsum(arrays["k"], dtype=np.int64)])
    arrays["offsets"].setflags(write=False)
    return arrays, record
