"""SpatialMultiOmniglot (Rhodes et al. 2020; InfoNet, Hu et al. 2024, App. A.8, Table 5).

An instance is a choice of ``d`` distinct alphabets A_1..A_d, with n_i characters
used from alphabet i (all of them by default; with ``min_chars``, the first n_i
characters in folder order, n_i uniform in [min_chars, all]). A sample is

    j_i ~ Uniform{0..n_i - 1},  k_i, k'_i independent uniform drawers,
    u = (a^1_{j_1, k_1}, ..., a^d_{j_d, k_d}),
    v = (a^1_{j_1 + 1, k'_1}, ..., a^d_{j_d + 1, k'_d})    (j_i + 1 wrapping mod n_i),

each image downsampled to 28x28. Characters are told apart by their images, so
u determines j and v determines j + 1, and I(U; V) = H(j) = sum_i ln n_i.

The estimate is on the flattened images, x = u and y = v (d * 784 columns each).
Pixels that are constant within a sample (the blank border) carry no
information and would make the estimators refuse the input, so by default they
are dropped per sample (``drop_constant``); this leaves I(U; V) unchanged, and
``dim_x``/``dim_y`` of the result rows record what is left.

Sliced estimators do not estimate I(U; V) itself, so the metric is rank
agreement with the truth across alphabet choices plus the paper's one-constant
rescaling (:func:`harness.metrics.rank_table`). The alphabet choices depend only
on ``choice_seed``; the sample seed draws the samples.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from harness.interface import Instance, SpecError, Task
from tasks._params import check_int
from tasks.omniglot_data import Alphabet, load_omniglot

__all__ = ["OmniglotSMI"]

CHOICE_STREAM = 1
SAMPLE_STREAM = 2


def _distinct_choices(sizes: list[int], d: int, low: int | None) -> int:
    """Distinct (alphabets, n_i) choices: sets of ``d`` alphabets, each with ``n_i`` in
    ``low .. size`` (only ``n_i = size`` when ``low`` is None)."""
    if low is None:
        return math.comb(len(sizes), d)
    # elementary symmetric polynomial of degree d of the per-alphabet counts
    e = [1] + [0] * d
    for size in sizes:
        ways = size - low + 1
        for k in range(d, 0, -1):
            e[k] += e[k - 1] * ways
    return e[d]


def _images_shared_by_characters(alphabet: Alphabet) -> bool:
    """Whether two characters of ``alphabet`` have an identical image (at tiny sizes)."""
    owner: dict[bytes, int] = {}
    for j, images in enumerate(alphabet.images):
        for image in images:
            if owner.setdefault(image.tobytes(), j) != j:
                return True
    return False


class OmniglotSMI(Task):
    """SpatialMultiOmniglot: d character images and their successors; I = sum ln n_i.

    Parameters
    ----------
    n : int
        Sample size.
    d : int
        Alphabets per instance (paper: 4 and 9; the shipped subsets hold 8).
    choices : int
        Alphabet choices, one instance each.
    root : str, optional
        Omniglot folder or zip files (:func:`tasks.omniglot_data.load_omniglot`);
        default ``../shared/data/omniglot`` next to the repository.
    min_chars : int, optional
        If given, use only the first n_i characters of each chosen alphabet, n_i
        drawn uniformly in [min_chars, all] per choice (more distinct truths).
    size : int
        Side of the downsampled images.
    drop_constant : bool
        Drop pixel columns that are constant within the sample.
    choice_seed : int
        Seeds the alphabet choices.
    """

    name: ClassVar[str] = "omniglot_smi"
    summary: ClassVar[str] = "rank"

    def __init__(
        self,
        n: int = 1000,
        d: int = 4,
        choices: int = 10,
        root: str | None = None,
        min_chars: int | None = None,
        size: int = 28,
        drop_constant: bool = True,
        choice_seed: int = 0,
    ):
        self.n = n
        self.d = d
        self.choices = choices
        self.root = root
        self.min_chars = min_chars
        self.size = size
        self.drop_constant = drop_constant
        self.choice_seed = choice_seed

    # -- parameters -----------------------------------------------------------
    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "d", self.d, 1)
        check_int(self.name, "choices", self.choices, 1)
        check_int(self.name, "size", self.size, 1, 105)  # Omniglot images are 105 x 105
        check_int(self.name, "choice_seed", self.choice_seed, 0)
        if self.min_chars is not None:
            check_int(self.name, "min_chars", self.min_chars, 2)
        if not isinstance(self.drop_constant, (bool, np.bool_)):
            raise SpecError(
                f"{self.name}: drop_constant must be true or false; got {self.drop_constant!r}"
            )
        if self.root is not None and not isinstance(self.root, str):
            raise SpecError(f"{self.name}: root must be a path string; got {self.root!r}")
        self._plan()

    def alphabets(self) -> list[Alphabet]:
        """The loaded alphabets (cached by the loader)."""
        return load_omniglot(self.root, int(self.size))

    def _plan(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Per choice: alphabet indices and characters used (n_i)."""
        key = (self.root, self.size, self.d, self.choices, self.min_chars, self.choice_seed)
        cached = getattr(self, "_plan_", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        alphas = self.alphabets()
        d = int(self.d)
        if d > len(alphas):
            raise SpecError(
                f"{self.name}: d={d} needs {d} alphabets; the data at "
                f"{self.root or 'the default root'} holds {len(alphas)}"
            )
        for a in alphas:
            if _images_shared_by_characters(a):
                raise SpecError(
                    f"{self.name}: at size={self.size} alphabet {a.name!r} has an image shared "
                    "by two characters, so an image no longer tells its character and the "
                    "truth sum(ln n_i) does not hold; use a larger size"
                )
        sizes = [a.n_characters for a in alphas]
        low = self.min_chars
        if low is not None and low > min(sizes):
            raise SpecError(
                f"{self.name}: min_chars={low} exceeds the smallest alphabet ({min(sizes)} "
                "characters)"
            )
        possible = _distinct_choices(sizes, d, low)
        if self.choices > possible:
            what = "" if low is None else f" and character counts n_i >= {low}"
            raise SpecError(
                f"{self.name}: only {possible} distinct choices of {d} out of {len(alphas)} "
                f"alphabets{what}; got choices={self.choices}"
            )
        rng = np.random.default_rng(
            np.random.SeedSequence(int(self.choice_seed), spawn_key=(CHOICE_STREAM,))
        )
        plan: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        seen = set()
        while len(plan) < self.choices:
            picked = tuple(int(i) for i in rng.choice(len(alphas), d, replace=False))
            used = tuple(
                sizes[i] if low is None else int(rng.integers(low, sizes[i] + 1)) for i in picked
            )
            key_ = (frozenset(zip(picked, used, strict=True)),)
            if key_ in seen:
                continue
            seen.add(key_)
            plan.append((picked, used))
        self._plan_ = (key, plan)
        return plan

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_plan_", None)
        return state

    # -- instances ------------------------------------------------------------
    def n_instances(self) -> int:
        self._check_params()
        return int(self.choices)

    def choice(self, index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Choice ``index``: the indices of its alphabets in :meth:`alphabets` and the
        characters n_i used of each."""
        plan = self._plan()
        if not 0 <= index < len(plan):
            raise IndexError(f"{self.name} has {len(plan)} choices; index {index} is out of range")
        return plan[index]

    def truth(self, index: int) -> float:
        """I(U; V) = sum_i ln n_i of choice ``index``."""
        # fsum is exactly rounded, so choices with the same n_i in another order
        # get the same truth and rank as a tie
        return math.fsum(math.log(k) for k in self.choice(index)[1])

    def instance(self, index: int, seed: int) -> Instance:
        count = self.n_instances()
        if not 0 <= index < count:
            raise IndexError(f"{self.name} has {count} instances; index {index} is out of range")
        picked, used = self.choice(index)
        alphas = self.alphabets()
        rng = np.random.default_rng(
            np.random.SeedSequence(int(seed), spawn_key=(SAMPLE_STREAM, index))
        )
        n = int(self.n)
        us, vs = [], []
        for a_idx, n_i in zip(picked, used, strict=True):
            images = alphas[a_idx].images
            j = rng.integers(0, n_i, n)
            nxt = (j + 1) % n_i
            u = np.empty((n, self.size * self.size), dtype=np.float64)
            v = np.empty_like(u)
            for c in range(n_i):
                for rows, char, out in ((j == c, c, u), (nxt == c, c, v)):
                    count_c = int(rows.sum())
                    if count_c:
                        drawers = rng.integers(0, len(images[char]), count_c)
                        out[rows] = images[char][drawers].reshape(count_c, -1)
            us.append(u)
            vs.append(v)
        x, y = np.concatenate(us, axis=1), np.concatenate(vs, axis=1)
        if self.drop_constant:
            x, y = _drop_constant(x), _drop_constant(y)
        names = [alphas[i].name for i in picked]
        return Instance(
            instance_id=f"choice={index}/" + "+".join(names),
            x=x,
            y=y,
            true_mi=self.truth(index),
            true_mi_se=0.0,
            meta={
                "d": int(self.d),
                "choice": index,
                "alphabets": ";".join(names),
                "chars": ";".join(str(k) for k in used),
            },
        )


def _drop_constant(a: np.ndarray) -> np.ndarray:
    keep = np.ptp(a, axis=0) > 0
    return a[:, keep]
