"""Random 2-D Gaussian mixtures binned by MI level (InfoNet, Hu et al. 2024, Table 2).

Mixtures follow InfoNet's recipe (:mod:`tasks.gmm`) and are kept in the bin
of level L in 0.0, 0.1, ..., 0.9 when their Monte Carlo MI lies within
``L +- 0.02``. Finding them and computing their truth (standard error below
0.003 nats) is costly, so the mixtures live in stored sets built by
:mod:`tasks.build`; a set with 100 mixtures per level ships with the package,
larger ones are built with ``python -m harness tasks build gmm_levels
--per-level N`` into the cache directory. Only the samples are drawn when an
instance is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harness.interface import Instance, SpecError, Task
from tasks._params import check_int, float_list
from tasks.gmm import (
    DEFAULT_SET_SEED,
    GMM,
    loadable_sets,
    missing_set_error,
    sample_rng,
    stored_sets,
    unpack_gmm,
)

__all__ = ["BAND", "BUILDER_VERSION", "LEVELS", "TARGET_SE", "GMMLevels"]

LEVELS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))
"""The MI levels of the paper, in nats."""

BAND = 0.02
"""A mixture belongs to level L when its MI lies within L +- BAND."""

TARGET_SE = 0.003
"""Largest Monte Carlo standard error of a stored truth, nats."""

BUILDER_VERSION = 1
"""Version of the build procedure; sets from another version are ignored."""

SAMPLE_STREAM = 1
"""First spawn-key entry of the generators that draw instance samples."""


def _level_key(level: float) -> int:
    return int(round(level * 1000))


class GMMLevels(Task):
    """Random 2-D Gaussian mixtures whose MI lies within 0.02 nats of a level.

    Instances are interleaved over levels (index ``i`` is the ``i // n_levels``-th
    mixture of level ``levels[i % n_levels]``), so a partial run still covers
    every level. Meta: ``level``, ``K`` (components) and ``gmm_id`` (the
    mixture's id in the stored sets; its samples depend on it and the seed only).

    Parameters
    ----------
    n : int
        Sample size.
    per_level : int
        Mixtures per level. More than any stored set holds is an error that
        names the ``tasks build`` command to run.
    levels : float, sequence of float or str, optional
        A subset of 0.0, 0.1, ..., 0.9 (``levels=0.1;0.5`` in a spec string).
    set_seed : int
        Build seed of the stored set to draw mixtures from (0: the shipped set).
    """

    name: ClassVar[str] = "gmm_levels"
    summary: ClassVar[str] = "levels"

    def __init__(
        self,
        n: int = 2000,
        per_level: int = 100,
        levels: Any = None,
        set_seed: int = DEFAULT_SET_SEED,
    ):
        self.n = n
        self.per_level = per_level
        self.levels = levels
        self.set_seed = set_seed

    # -- parameters -----------------------------------------------------------
    def _level_values(self) -> tuple[float, ...]:
        if self.levels is None:
            return LEVELS
        values = float_list(self.name, "levels", self.levels)
        known = {_level_key(v) for v in LEVELS}
        bad = [v for v in values if _level_key(v) not in known or abs(v - round(v, 1)) > 1e-9]
        if bad:
            raise SpecError(
                f"{self.name}: levels must be among {', '.join(f'{v:g}' for v in LEVELS)}; "
                f"got {bad[0]!r}"
            )
        if len({_level_key(v) for v in values}) != len(values):
            raise SpecError(f"{self.name}: levels repeats a value: {list(values)}")
        return tuple(round(v, 1) for v in values)

    def _check_params(self) -> None:
        check_int(self.name, "n", self.n, 2)
        check_int(self.name, "per_level", self.per_level, 1)
        check_int(self.name, "set_seed", self.set_seed, 0)
        self._level_values()
        self._selection()  # a missing stored set is a parameter error, raised up front

    def n_instances(self) -> int:
        self._check_params()
        return len(self._level_values()) * int(self.per_level)

    # -- the stored set -------------------------------------------------------
    def _usable(self, rec: dict[str, Any]) -> bool:
        have = {_level_key(v) for v in rec.get("levels", ())}
        return (
            rec.get("per_level", 0) >= self.per_level
            and {_level_key(v) for v in self._level_values()} <= have
            and rec.get("band") == BAND
            and rec.get("target_se") == TARGET_SE
        )

    def _selection(self) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
        """The set used, its arrays, and row numbers (level-major) of the chosen mixtures."""
        key = (self.per_level, self._level_values(), self.set_seed)
        cached = getattr(self, "_selection_", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        usable = stored_sets(self.name, self.set_seed, BUILDER_VERSION, self._usable)
        found = next(loadable_sets(usable), None)  # the smallest that reads
        if found is None:
            raise missing_set_error(
                self.name, "per_level", self.per_level, self.set_seed, BUILDER_VERSION
            )
        path, arrays = found
        rows = []
        for level in self._level_values():
            hits = np.flatnonzero(np.round(arrays["level"] * 1000).astype(int) == _level_key(level))
            hits = hits[np.argsort(arrays["candidate"][hits], kind="stable")]
            if hits.size < self.per_level:  # a record that overstates its contents
                raise SpecError(f"{self.name}: set {path} holds only {hits.size} at level {level}")
            rows.append(hits[: self.per_level])
        value = (path, arrays, np.stack(rows))
        self._selection_ = (key, value)
        return value

    def set_path(self) -> Path:
        """The stored set the instances come from."""
        self._check_params()
        return self._selection()[0]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_selection_", None)  # workers reload the set themselves
        return state

    # -- instances ------------------------------------------------------------
    def _row(self, index: int) -> tuple[dict[str, np.ndarray], int, int, int]:
        """The set's arrays, and instance ``index``'s row, draw number and level number."""
        self._check_params()
        count = self.n_instances()
        if not 0 <= index < count:
            raise IndexError(f"{self.name} has {count} instances; index {index} is out of range")
        _, arrays, rows = self._selection()
        j, lvl = divmod(index, rows.shape[0])
        return arrays, int(rows[lvl, j]), j, lvl

    def mixture(self, index: int) -> GMM:
        """The 2-D mixture behind instance ``index`` (x is its first coordinate)."""
        arrays, row, _, _ = self._row(index)
        return unpack_gmm(arrays, row, arrays["offsets"])

    def instance(self, index: int, seed: int) -> Instance:
        arrays, row, j, lvl = self._row(index)
        gmm = unpack_gmm(arrays, row, arrays["offsets"])
        gmm_id = int(arrays["candidate"][row])
        xy = gmm.sample(sample_rng(seed, (SAMPLE_STREAM, gmm_id)), int(self.n))
        level = self._level_values()[lvl]
        return Instance(
            instance_id=f"level={level:.1f}/{j}",
            x=xy[:, :1],
            y=xy[:, 1:],
            true_mi=float(arrays["mi"][row]),
            true_mi_se=float(arrays["se"][row]),
            meta={"level": level, "K": gmm.k, "gmm_id": gmm_id},
        )
