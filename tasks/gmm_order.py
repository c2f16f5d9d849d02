"""Order of MI(x; y) vs MI(x; y') on 3-D Gaussian mixtures (InfoNet, Hu et al. 2024, Table 3).

A triplet (x, y, y') is the three coordinates of a random 3-D mixture with K
components (InfoNet's recipe, :mod:`tasks.gmm`), K = 1..10. Its truth is the
Monte Carlo pair MI(x; y), MI(x; y') (standard errors below 0.003 nats),
computed on shared draws. Triplets whose two MIs differ by less than
``min_gap`` (0.02 nats, as in the published evaluation set) are left out:
below that the order is lost in sampling noise at n = 2000.

Layout: each triplet gives two instances sharing one sample of the mixture,
``member`` 0 = (x, y) and ``member`` 1 = (x, y'), with meta ``triplet`` (its
number in the task), ``K``, ``member``, ``larger`` (this member has the larger
true MI) and ``gmm_id``. :func:`harness.metrics.order_table` pairs the two
rows of each (seed, triplet) and scores sign(est0 - est1) against
sign(true0 - true1).

The mixtures live in stored sets built by :mod:`tasks.build`; a set with 200
triplets per K ships with the package, larger ones are built with
``python -m harness tasks build gmm_order --per-k N``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harness.interface import Instance, SpecError, Task
from tasks._params import check_int, float_list, int_list
from tasks.gmm import (
    DEFAULT_SET_SEED,
    loadable_sets,
    missing_set_error,
    sample_rng,
    stored_sets,
    unpack_gmm,
)

__all__ = ["BUILDER_VERSION", "KS", "MIN_GAP", "TARGET_SE", "GMMOrder"]

KS: tuple[int, ...] = tuple(range(1, 11))
"""Numbers of mixture components, as in the paper."""

MIN_GAP = 0.02
"""Default smallest |MI(x; y) - MI(x; y')| of a triplet, nats."""

TARGET_SE = 0.003
"""Largest Monte Carlo standard error of a stored truth, nats."""

BUILDER_VERSION = 1
"""Version of the build procedure; sets from another version are ignored."""

SAMPLE_STREAM = 2
"""First spawn-key entry of the generators that draw instance samples."""

_GAP_TOL = 1e-12


class GMMOrder(Task):
    """Triplets (x, y, y') from random 3-D Gaussian mixtures; is MI(x; y) > MI(x; y')?

    Instances come in pairs: instance ``2t`` is (x, y) and ``2t + 1`` is
    (x, y') of triplet ``t``, on the same draws of x. Triplets are interleaved
    over K (triplet ``t`` is the ``t // len(ks)``-th of ``K = ks[t % len(ks)]``).

    Parameters
    ----------
    n : int
        Sample size.
    per_k : int
        Triplets per number of components. More than any stored set holds is an
        error that names the ``tasks build`` command to run.
    ks : int, sequence of int or str, optional
        Subset of 1..10 (``ks=1..5`` or ``ks=1;3`` in a spec string).
    min_gap : float
        Keep triplets with |MI(x; y) - MI(x; y')| >= min_gap (nats). Values
        below the stored set's own threshold need a set built with
        ``--min-gap``.
    set_seed : int
        Build seed of the stored set (0: the shipped set).
    """

    name: ClassVar[str] = "gmm_order"
    summary: ClassVar[str] = "order"

    def __init__(
        self,
        n: int = 2000,
        per_k: int = 200,
        ks: Any = None,
        min_gap: float = MIN_GAP,
        set_seed: int = DEFAULT_SET_SEED,
    ):
        self.n = n
        self.per_k = per_k
        self.ks = ks
        self.min_gap = min_gap
        self.set_seed = set_seed

    # -- parameters -----------------------------------------------------------
    def _k_values(self) -> tuple[int, ...]:
        if self.ks is None:
            return KS
        values = int_list(self.name, "ks", self.ks)
        bad = [k for k in values if k not in KS]
        if bad:
            raise SpecError(f"{self.name}: ks must be among {KS[0]}..{KS[-1]}; got {bad[0]!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"{self.name}: ks repeats a value: {list(values)}")
        return values

    def _gap(self) -> float:
        gap = float_list(self.name, "min_gap", self.min_gap)
        if len(gap) != 1 or gap[0] < 0:
            raise SpecError(f"{self.name}: min_gap must be one number >= 0; got {self.min_gap!r}")
        return gap[0]

    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "per_k", self.per_k, 1)
        check_int(self.name, "set_seed", self.set_seed, 0)
        self._k_values()
        self._gap()
        self._selection()  # a missing stored set is a parameter error, raised up front

    def n_instances(self) -> int:
        self._check_params()
        return 2 * len(self._k_values()) * int(self.per_k)

    # -- the stored set -------------------------------------------------------
    def _usable(self, rec: dict[str, Any]) -> bool:
        return (
            rec.get("per_k", 0) >= self.per_k
            and set(self._k_values()) <= set(rec.get("ks", ()))
            and rec.get("min_gap", np.inf) <= self._gap() + _GAP_TOL
            and rec.get("target_se") == TARGET_SE
        )

    def _pick(self, arrays: dict[str, np.ndarray]) -> np.ndarray | None:
        """Rows (K-major, shape (len(ks), per_k)) of the chosen triplets, or None if too few."""
        gap = np.abs(arrays["mi"][:, 0] - arrays["mi"][:, 1])
        keep = gap >= self._gap() - _GAP_TOL
        rows = []
        for k in self._k_values():
            hits = np.flatnonzero((arrays["k"] == k) & keep)
            hits = hits[np.argsort(arrays["candidate"][hits], kind="stable")]
            if hits.size < self.per_k:
                return None
            rows.append(hits[: self.per_k])
        return np.stack(rows)

    def _selection(self) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
        key = (self.per_k, self._k_values(), self._gap(), self.set_seed)
        cached = getattr(self, "_selection_", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        # A set built with a smaller min_gap may hold too few triplets above
        # this one, so try usable sets from the smallest up.
        usable = stored_sets(self.name, self.set_seed, BUILDER_VERSION, self._usable)
        for path, arrays in loadable_sets(usable):
            rows = self._pick(arrays)
            if rows is not None:
                value = (path, arrays, rows)
                self._selection_ = (key, value)
                return value
        flags = {} if abs(self._gap() - MIN_GAP) < _GAP_TOL else {"min_gap": self._gap()}
        raise missing_set_error(
            self.name, "per_k", self.per_k, self.set_seed, BUILDER_VERSION, flags
        )

    def set_path(self) -> Path:
        """The stored set the instances come from."""
        self._check_params()
        return self._selection()[0]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_selection_", None)  # workers reload the set themselves
        return state

    # -- instances ------------------------------------------------------------
    def instance(self, index: int, seed: int) -> Instance:
        self._check_params()
        count = self.n_instances()
        if not 0 <= index < count:
            raise IndexError(f"{self.name} has {count} instances; index {index} is out of range")
        _, arrays, rows = self._selection()
        triplet, member = divmod(index, 2)
        j, ki = divmod(triplet, rows.shape[0])
        row = int(rows[ki, j])
        gmm = unpack_gmm(arrays, row, arrays["offsets"])
        gmm_id = int(arrays["candidate"][row])
        # Both members draw the same sample: the key names the mixture, not the member.
        xyy = gmm.sample(sample_rng(seed, (SAMPLE_STREAM, gmm.k, gmm_id)), int(self.n))
        mi = arrays["mi"][row]
        pair = "xy" if member == 0 else "xy'"
        return Instance(
            instance_id=f"K={gmm.k}/{j}/{pair}",
            x=xyy[:, :1],
            y=xyy[:, 1 + member : 2 + member],
            true_mi=float(mi[member]),
            true_mi_se=float(arrays["se"][row, member]),
            meta={
                "K": gmm.k,
                "triplet": triplet,
                "member": member,
                "larger": bool(mi[member] > mi[1 - member]),
                "gmm_id": gmm_id,
            },
        )
