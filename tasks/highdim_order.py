"""Order of I(X; Y) vs I(X; Y') for d-dimensional Gaussians (InfoNet, Hu et al. 2024, Table 4).

The paper only says (X, Y) ~ N(mu, Sigma) in d = 2..10 dimensions. Our triplet
(X, Y, Y'), each in R^d, is jointly Gaussian and built so that both MIs are
known exactly and their order is well defined but not trivially easy:

1. Draw the two target levels I, I' independently, uniform on [0, ``mi_max``];
   redraw the pair until |I - I'| >= ``min_gap``.
2. For each member, split its level over the d canonical pairs with weights
   w ~ Dirichlet(1) and set the canonical correlations
   rho_i = sqrt(1 - exp(-2 w_i I)), so that -1/2 sum ln(1 - rho_i^2) = I.
3. With xi, eta, eta' ~ N(0, I_d) independent and R, R' random rotations:
   X = A xi, Y = B (diag(rho) R xi + diag(sqrt(1 - rho^2)) eta), and likewise Y'
   with its own rho', R', B', eta'. A, B, B' are random invertible maps
   Q diag(exp(s)) with Q a random rotation and s ~ U(-1, 1): they leave the MI
   unchanged but make every marginal anisotropic and correlated, which matters
   to nearest-neighbour and sliced estimators.

The truth is :func:`ground_truth.analytic.mvn_mi` of the joint covariance (equal
to the target level up to rounding). Y and Y' share X, so they are dependent on
each other, as in the paper's triplets.

``recipe="isotropic"`` is the construction common in MI benchmarks (MINE's and
the flow paper's Gaussians): the same levels, each split equally over the d
coordinate pairs, X = xi and Y = rho xi + sqrt(1 - rho^2) eta with one rho per
member, rho^2 = 1 - exp(-2 I / d). Every slice of such a pair is a bivariate
Gaussian whose correlation is rho times the cosine of the two directions, so
its sliced MI grows with I and ranks the triplets exactly as the MI does: the
recipe on which a sliced estimator can be held to Table 4.

``recipe="notebook"`` follows the authors' published code instead (repository
datou30/InfoNet: ``gen_gauss`` in ``Notebooks/independence_test.ipynb``, with
the covariance of its 1-D sibling ``gen_gauss_xyz`` in ``data.py``). One
3d-dimensional Gaussian (X, Y, Z) per triplet, mean ~ U(-5, 5)^{3d} and
covariance Sigma = A A^T + 0.001 I with A ~ U(-3, 3)^{3d x 3d} entrywise; the
order compares I(X; Y) with I(Y; Z), the blocks sharing the middle Y. The
notebook calls a ``gen_cov(d)`` that the repository does not define; that it
builds Sigma like ``gen_gauss_xyz`` (the same triplet written for d = 1) is our
reading, and neither code nor paper gives Table 4's n or triplet count. The
MIs are not controlled: their median is about 0.5 nats at d = 2 and 2.7 at
d = 10, and ``mi_max`` and ``min_gap`` do not apply (they must keep their
defaults). MI is symmetric, so the shared Y is served as ``x`` of
both pairs: member 0 is (Y, X), member 1 is (Y, Z).

The structure of triplet ``t`` depends only on ``set_seed`` (and d, ``mi_max``,
``min_gap``, ``recipe``); the sample seed draws the n samples. Layout as in
:mod:`tasks.gmm_order`: instance ``2t`` is (X, Y), ``2t + 1`` is (X, Y') on the same
draws of X, meta ``d``, ``triplet``, ``member``, ``larger``; triplets are
interleaved over d.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ground_truth.analytic import mvn_mi
from harness.interface import Instance, SpecError, Task
from harness.params import check_choice
from tasks._params import check_int, float_list, int_list

__all__ = [
    "DIMS",
    "RECIPES",
    "CovarianceTriplet",
    "HighDimOrder",
    "TripletModel",
    "isotropic_triplet",
    "notebook_joint",
    "notebook_triplet",
    "triplet_model",
]

DIMS: tuple[int, ...] = tuple(range(2, 11))
"""Dimensions of the paper's Table 4."""

RECIPES: tuple[str, ...] = ("canonical", "isotropic", "notebook")
"""Our construction (default), equal per-coordinate correlations, and the authors'
published one."""

STRUCTURE_STREAM = 1
SAMPLE_STREAM = 2

#: Ridge the authors add to A A^T (``gen_gauss_xyz``).
NOTEBOOK_RIDGE = 1e-3


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))  # Haar-distributed


def _mixing(rng: np.random.Generator, d: int) -> np.ndarray:
    return _rotation(rng, d) * np.exp(rng.uniform(-1.0, 1.0, d))


class TripletModel:
    """Linear-Gaussian model of one triplet: X = A xi, Y_m = B_m (C_m xi + S_m eta_m).

    Attributes
    ----------
    a : ndarray (d, d)
    b, c, s : list of two ndarrays (d, d), one per member
    levels : tuple of float
        The target MIs.
    """

    def __init__(self, a: np.ndarray, b: list, c: list, s: list, levels: tuple[float, float]):
        self.a, self.b, self.c, self.s, self.levels = a, b, c, s, levels

    @property
    def d(self) -> int:
        return self.a.shape[0]

    def covariance(self) -> np.ndarray:
        """Joint covariance of (X, Y, Y'), shape (3d, 3d)."""
        d = self.d
        # rows: loadings of (X, Y, Y') on (xi, eta, eta')
        load = np.zeros((3 * d, 3 * d))
        load[:d, :d] = self.a
        for m in range(2):
            rows = slice((m + 1) * d, (m + 2) * d)
            load[rows, :d] = self.b[m] @ self.c[m]
            load[rows, (m + 1) * d : (m + 2) * d] = self.b[m] @ self.s[m]
        return load @ load.T

    def mi(self) -> tuple[float, float]:
        """Exact I(X; Y) and I(X; Y') from the covariance."""
        cov, d = self.covariance(), self.d
        out = []
        for m in range(2):
            idx = np.r_[0:d, (m + 1) * d : (m + 2) * d]
            out.append(float(mvn_mi(cov[np.ix_(idx, idx)], d)))
        return out[0], out[1]

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` draws of (X, Y, Y'), each of shape (n, d)."""
        d = self.d
        xi = rng.standard_normal((n, d))
        ys = []
        for m in range(2):
            eta = rng.standard_normal((n, d))
            ys.append((xi @ self.c[m].T + eta @ self.s[m].T) @ self.b[m].T)
        return xi @ self.a.T, ys[0], ys[1]


class CovarianceTriplet:
    """Jointly Gaussian (X, Y, Y'), each in R^d, given by its mean and covariance.

    Attributes
    ----------
    mean : ndarray (3d,)
    cov : ndarray (3d, 3d)
        Blocks in the order X, Y, Y'.
    """

    def __init__(self, mean: np.ndarray, cov: np.ndarray):
        self.mean, self.cov = mean, cov

    @property
    def d(self) -> int:
        return self.cov.shape[0] // 3

    def covariance(self) -> np.ndarray:
        """Joint covariance of (X, Y, Y'), shape (3d, 3d)."""
        return self.cov.copy()

    def mi(self) -> tuple[float, float]:
        """Exact I(X; Y) and I(X; Y') from the covariance."""
        d = self.d
        xz = np.r_[0:d, 2 * d : 3 * d]
        return (
            float(mvn_mi(self.cov[: 2 * d, : 2 * d], d)),
            float(mvn_mi(self.cov[np.ix_(xz, xz)], d)),
        )

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` draws of (X, Y, Y'), each of shape (n, d)."""
        d = self.d
        joint = self.mean + rng.standard_normal((n, 3 * d)) @ np.linalg.cholesky(self.cov).T
        return joint[:, :d], joint[:, d : 2 * d], joint[:, 2 * d :]


def notebook_joint(rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the authors' (X, Y, Z), in that block order.

    Mean ~ U(-5, 5)^{3d}; covariance A A^T + 0.001 I with A ~ U(-3, 3)^{3d x 3d},
    drawn in that order from ``rng``.

    Returns
    -------
    mean : ndarray (3d,)
    cov : ndarray (3d, 3d)
    """
    mean = rng.uniform(-5.0, 5.0, 3 * d)
    a = rng.uniform(-3.0, 3.0, (3 * d, 3 * d))
    return mean, a @ a.T + NOTEBOOK_RIDGE * np.eye(3 * d)


def notebook_triplet(rng: np.random.Generator, d: int) -> CovarianceTriplet:
    """The authors' triplet with the shared block first: (Y, X, Z) of :func:`notebook_joint`."""
    mean, cov = notebook_joint(rng, d)
    order = np.r_[d : 2 * d, 0:d, 2 * d : 3 * d]
    return CovarianceTriplet(mean[order], cov[np.ix_(order, order)])


#: Largest ``mi_max``: more puts canonical correlations so close to 1 that the
#: covariance is singular in float64.
MAX_MI = 10.0

_DEFAULT_MI_MAX = 1.0
_DEFAULT_MIN_GAP = 0.02


def _levels(rng: np.random.Generator, mi_max: float, min_gap: float) -> np.ndarray:
    """Two MI levels uniform on [0, mi_max], redrawn until they differ by ``min_gap``."""
    while True:
        levels = rng.uniform(0.0, mi_max, 2)
        if abs(levels[0] - levels[1]) >= min_gap:
            return levels


def isotropic_triplet(
    rng: np.random.Generator, d: int, mi_max: float, min_gap: float
) -> TripletModel:
    """Draw one ``recipe="isotropic"`` triplet: each level split equally over the
    d coordinate pairs, identity maps (see the module docstring)."""
    levels = _levels(rng, mi_max, min_gap)
    eye = np.eye(d)
    rhos = [np.sqrt(-np.expm1(-2.0 * level / d)) for level in levels]
    return TripletModel(
        eye,
        [eye, eye],
        [rho * eye for rho in rhos],
        [np.sqrt(1.0 - rho**2) * eye for rho in rhos],
        (float(levels[0]), float(levels[1])),
    )


def triplet_model(rng: np.random.Generator, d: int, mi_max: float, min_gap: float) -> TripletModel:
    """Draw one triplet structure (see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
    d : int
        Dimension of X, Y and Y'.
    mi_max : float
        Levels are uniform on [0, mi_max] nats.
    min_gap : float
        Smallest |I - I'| kept; must be below ``mi_max``.

    Returns
    -------
    TripletModel
    """
    levels = _levels(rng, mi_max, min_gap)
    a = _mixing(rng, d)
    b, c, s = [], [], []
    for level in levels:
        w = rng.dirichlet(np.ones(d))
        rho = np.sqrt(-np.expm1(-2.0 * w * level))
        c.append(rho[:, None] * _rotation(rng, d))
        s.append(np.diag(np.sqrt(1.0 - rho**2)))
        b.append(_mixing(rng, d))
    return TripletModel(a, b, c, s, (float(levels[0]), float(levels[1])))


class HighDimOrder(Task):
    """Triplets (X, Y, Y') of d-dimensional Gaussians; is I(X; Y) > I(X; Y')?

    Parameters
    ----------
    n : int
        Sample size.
    per_d : int
        Triplets per dimension.
    dims : int, sequence of int or str, optional
        Dimensions (``dims=2..10`` or ``dims=2;5`` in a spec string); default 2..10.
    mi_max : float
        Upper end of the uniform MI levels, nats.
    min_gap : float
        Smallest |I(X; Y) - I(X; Y')| of a triplet, nats (as ``gmm_order``).
    set_seed : int
        Seeds the triplet structures (the sample seed draws only the samples).
    recipe : {"canonical", "isotropic", "notebook"}
        Our construction (default), equal per-coordinate correlations, or the
        authors' published one (module docstring); ``mi_max`` and ``min_gap``
        shape only the first two.
    """

    name: ClassVar[str] = "highdim_order"
    summary: ClassVar[str] = "order"

    def __init__(
        self,
        n: int = 2000,
        per_d: int = 100,
        dims: Any = None,
        mi_max: float = _DEFAULT_MI_MAX,
        min_gap: float = _DEFAULT_MIN_GAP,
        set_seed: int = 0,
        recipe: str = "canonical",
    ):
        self.n = n
        self.per_d = per_d
        self.dims = dims
        self.mi_max = mi_max
        self.min_gap = min_gap
        self.set_seed = set_seed
        self.recipe = recipe

    def _dim_values(self) -> tuple[int, ...]:
        if self.dims is None:
            return DIMS
        values = int_list(self.name, "dims", self.dims)
        bad = [d for d in values if d < 1]
        if bad:
            raise SpecError(f"{self.name}: dims must be integers >= 1; got {bad[0]!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"{self.name}: dims repeats a value: {list(values)}")
        return values

    def _number(self, name: str) -> float:
        value = float_list(self.name, name, getattr(self, name))
        if len(value) != 1:
            raise SpecError(f"{self.name}: {name} must be one number; got {getattr(self, name)!r}")
        return value[0]

    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "per_d", self.per_d, 1)
        check_int(self.name, "set_seed", self.set_seed, 0)
        self._dim_values()
        mi_max, gap = self._number("mi_max"), self._number("min_gap")
        if not 0 < mi_max <= MAX_MI:
            raise SpecError(
                f"{self.name}: mi_max must lie in (0, {MAX_MI:g}] nats; got {self.mi_max!r}"
            )
        if not 0 <= gap < 0.5 * mi_max:
            raise SpecError(
                f"{self.name}: min_gap must lie in [0, mi_max / 2); got {self.min_gap!r}"
            )
        check_choice(self.name, "recipe", self.recipe, RECIPES)
        if self.recipe == "notebook" and (mi_max, gap) != (_DEFAULT_MI_MAX, _DEFAULT_MIN_GAP):
            raise SpecError(
                f"{self.name}: recipe=notebook does not control the MIs; leave mi_max and "
                f"min_gap at their defaults (got mi_max={self.mi_max!r}, "
                f"min_gap={self.min_gap!r})"
            )

    def n_instances(self) -> int:
        self._check_params()
        return 2 * len(self._dim_values()) * int(self.per_d)

    def model(self, triplet: int) -> TripletModel | CovarianceTriplet:
        """The structure of triplet ``triplet`` (independent of the sample seed)."""
        dims = self._dim_values()
        j, di = divmod(triplet, len(dims))
        d = dims[di]
        seq = np.random.SeedSequence(int(self.set_seed), spawn_key=(STRUCTURE_STREAM, d, j))
        if self.recipe == "notebook":
            return notebook_triplet(np.random.default_rng(seq), d)
        build = isotropic_triplet if self.recipe == "isotropic" else triplet_model
        return build(np.random.default_rng(seq), d, self._number("mi_max"), self._number("min_gap"))

    def instance(self, index: int, seed: int) -> Instance:
        count = self.n_instances()
        if not 0 <= index < count:
            raise IndexError(f"{self.name} has {count} instances; index {index} is out of range")
        triplet, member = divmod(index, 2)
        j = triplet // len(self._dim_values())
        model = self.model(triplet)
        # both members share one draw: the key names the triplet, not the member
        rng = np.random.default_rng(
            np.random.SeedSequence(int(seed), spawn_key=(SAMPLE_STREAM, triplet))
        )
        x, y0, y1 = model.sample(rng, int(self.n))
        mi = model.mi()
        pair = "xy" if member == 0 else "xy'"
        return Instance(
            instance_id=f"d={model.d}/{j}/{pair}",
            x=x,
            y=y0 if member == 0 else y1,
            true_mi=mi[member],
            true_mi_se=0.0,
            meta={
                "d": model.d,
                "triplet": triplet,
                "member": member,
                "larger": bool(mi[member] > mi[1 - member]),
            },
        )
