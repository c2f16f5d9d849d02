"""Build the stored GMM task sets (``gmm_levels``, ``gmm_order``) and their records.

Candidates are numbered 0, 1, 2, ...; candidate ``c`` draws everything it
needs (its mixture, its pilot and its final Monte Carlo run) from its own
generator, ``SeedSequence([seed, stream], spawn_key=(c,))`` (``(K, c)`` for
``gmm_order``), so its fate depends on itself alone. Candidates are taken in
order until every bin is full. A set built for more instances therefore
extends a smaller one with the same seed: its first N mixtures of each bin
*are* the smaller set's.

Each candidate is screened with cheap pilot runs (2,000 draws, then 20,000
for ``gmm_levels``), each on fresh draws; those that could still belong to an
open bin (within the band plus 4 pilot standard errors) get a fresh final run
sized from the last pilot's spread so that the standard error is below 0.003
nats (:meth:`ground_truth.monte_carlo.MixtureMI.integrate_to`). The final
estimate alone decides acceptance and is the stored truth.

``python -m harness tasks build gmm_levels --per-level 1000`` runs
:func:`build_task_set`; ``python -m tasks.build`` is the same command.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ground_truth.cache import cache_dir, save_set
from ground_truth.monte_carlo import MCEstimate, MixtureMI
from harness.interface import SpecError
from tasks import gmm_levels, gmm_order
from tasks.gmm import (
    FORMAT_VERSION,
    GMM,
    RECIPE,
    pack_gmms,
    random_gmm,
    round_trip,
    set_stem,
)

__all__ = ["PILOT_SAMPLES", "SCREEN_Z", "build_levels", "build_order", "build_task_set"]

PILOT_SAMPLES = 2000
"""Draws in the first screening run of every candidate."""

LEVEL_SCREENS = (PILOT_SAMPLES, 20_000)
"""Draws in the successive screening runs of a ``gmm_levels`` candidate."""

SCREEN_Z = 4.0
"""A candidate passes a screen when it is within band + SCREEN_Z screening SEs."""

MAX_SAMPLES = 2 * 10**7
"""Cap on the final run's draws (a candidate that needs more is rejected)."""

MIN_SAMPLES = 20_000
"""Floor on the final run's draws, so that its standard error is itself well estimated."""

_LEVELS_STREAM = 1
_ORDER_STREAM = 2

Progress = Callable[[int], None]


def _candidate_rng(seed: int, stream: int, key: Sequence[int]) -> np.random.Generator:
    ss = np.random.SeedSequence(entropy=[int(seed), stream], spawn_key=tuple(int(k) for k in key))
    return np.random.default_rng(ss)


def _versions() -> dict[str, str]:
    import numba

    try:
        from importlib.metadata import version

        own = version("mi-harness")
    except Exception:
        own = "unknown"
    return {
        "mi-harness": own,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }


def _record(task: str, seed: int, n_rows: int, n_mc: np.ndarray, se: np.ndarray) -> dict[str, Any]:
    return {
        "task": task,
        "format": FORMAT_VERSION,
        "build_seed": int(seed),
        "n_rows": int(n_rows),
        "generator": f"tasks.build ({'build_levels' if task == 'gmm_levels' else 'build_order'})",
        "recipe": dict(RECIPE),
        "screen_samples": list(LEVEL_SCREENS) if task == "gmm_levels" else [PILOT_SAMPLES],
        "screen_z": SCREEN_Z,
        "final_samples": {"min": MIN_SAMPLES, "max": MAX_SAMPLES},
        "mc_samples": {
            "total": int(n_mc.sum()),
            "min": int(n_mc.min()),
            "median": int(np.median(n_mc)),
            "max": int(n_mc.max()),
        },
        "max_se": float(se.max()),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    }


class _Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def timing(self) -> dict[str, float]:
        return {
            "wall_seconds": round(time.perf_counter() - self.wall, 2),
            "cpu_seconds": round(time.process_time() - self.cpu, 2),
        }


# --------------------------------------------------------------------------
# gmm_levels
# --------------------------------------------------------------------------


def _level_candidate(
    seed: int, c: int, open_levels: Sequence[float], stats: dict[str, int]
) -> tuple[GMM, float, MCEstimate] | None:
    """Candidate ``c``: (mixture, level, final run) if it lands in an open level."""
    rng = _candidate_rng(seed, _LEVELS_STREAM, (c,))
    g = round_trip(random_gmm(rng, dim=2))
    mi = MixtureMI(g.weights, g.means, g.covs, [([0], [1])])
    for draws in LEVEL_SCREENS:
        pilot = mi.integrate(draws, rng)
        reach = gmm_levels.BAND + SCREEN_Z * float(pilot.se[0])
        if not any(abs(pilot.mean[0] - lv) <= reach for lv in open_levels):
            return None
    stats["final_runs"] += 1
    run = mi.integrate_to(
        gmm_levels.TARGET_SE, rng, pilot=pilot, max_samples=MAX_SAMPLES, min_samples=MIN_SAMPLES
    )
    if not run.se[0] < gmm_levels.TARGET_SE:
        stats["se_too_large"] += 1
        return None
    for lv in open_levels:
        if abs(run.mean[0] - lv) <= gmm_levels.BAND:
            return g, lv, run
    return None


def build_levels(
    per_level: int,
    seed: int = 0,
    levels: Sequence[float] = gmm_levels.LEVELS,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Random 2-D mixtures, ``per_level`` per MI level, with Monte Carlo truth.

    Parameters
    ----------
    per_level : int
        Mixtures per level (>= 1).
    seed : int
        Build seed.
    levels : sequence of float
        Levels to fill (a subset of :data:`tasks.gmm_levels.LEVELS`).
    progress : callable, optional
        Called with the number of mixtures accepted at each acceptance.

    Returns
    -------
    arrays : dict of str to ndarray
        Packed mixtures (:func:`tasks.gmm.pack_gmms`) plus ``level``, ``mi``,
        ``se``, ``n_mc`` (final-run draws) and ``candidate`` per mixture, in
        acceptance order.
    record : dict
        The build record.
    """
    if per_level < 1:
        raise SpecError(f"per_level must be >= 1; got {per_level}")
    levels = tuple(round(float(v), 1) for v in levels)
    clock = _Clock()
    counts = dict.fromkeys(levels, 0)
    stats = {"final_runs": 0, "se_too_large": 0}
    gmms: list[GMM] = []
    rows: list[tuple[float, float, float, int, int]] = []
    c = 0
    while True:
        open_levels = [lv for lv in levels if counts[lv] < per_level]
        if not open_levels:
            break
        hit = _level_candidate(seed, c, open_levels, stats)
        if hit is not None:
            g, lv, run = hit
            counts[lv] += 1
            gmms.append(g)
            rows.append((lv, float(run.mean[0]), float(run.se[0]), int(run.n), c))
            if progress is not None:
                progress(len(rows))
        c += 1
    level, mi, se, n_mc, cand = (np.array(col) for col in zip(*rows, strict=True))
    arrays = {
        **pack_gmms(gmms),
        "level": level.astype(np.float64),
        "mi": mi.astype(np.float64),
        "se": se.astype(np.float32),
        "n_mc": n_mc.astype(np.int32),
        "candidate": cand.astype(np.int32),
    }
    record = _record("gmm_levels", seed, len(rows), n_mc, se)
    record.update(
        builder_version=gmm_levels.BUILDER_VERSION,
        per_level=int(per_level),
        levels=list(levels),
        band=gmm_levels.BAND,
        target_se=gmm_levels.TARGET_SE,
        candidates=c,
        final_runs=stats["final_runs"],
        rejected_se=stats["se_too_large"],
        components={"min": int(arrays["k"].min()), "max": int(arrays["k"].max())},
        timing=clock.timing(),
    )
    return arrays, record


# --------------------------------------------------------------------------
# gmm_order
# --------------------------------------------------------------------------


def _order_candidate(
    seed: int, k: int, c: int, min_gap: float, stats: dict[str, int]
) -> tuple[GMM, MCEstimate] | None:
    """Candidate ``c`` with ``k`` components: (mixture, final run) if its gap is >= min_gap."""
    rng = _candidate_rng(seed, _ORDER_STREAM, (k, c))
    g = round_trip(random_gmm(rng, dim=3, k=k))
    mi = MixtureMI(g.weights, g.means, g.covs, [([0], [1]), ([0], [2])])
    vals = mi.pointwise(mi.sample(PILOT_SAMPLES, rng))
    mean = vals.mean(axis=1)
    pilot = MCEstimate(mean, ((vals - mean[:, None]) ** 2).sum(axis=1), PILOT_SAMPLES)
    diff = vals[0] - vals[1]
    gap_se = float(diff.std(ddof=1)) / math.sqrt(PILOT_SAMPLES)
    if min_gap > 0 and abs(float(diff.mean())) + SCREEN_Z * gap_se < min_gap:
        return None
    stats["final_runs"] += 1
    run = mi.integrate_to(
        gmm_order.TARGET_SE, rng, pilot=pilot, max_samples=MAX_SAMPLES, min_samples=MIN_SAMPLES
    )
    if not run.se.max() < gmm_order.TARGET_SE:
        stats["se_too_large"] += 1
        return None
    if abs(float(run.mean[0] - run.mean[1])) < min_gap or run.mean[0] == run.mean[1]:
        return None
    return g, run


def build_order(
    per_k: int,
    seed: int = 0,
    ks: Sequence[int] = gmm_order.KS,
    min_gap: float = gmm_order.MIN_GAP,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Random 3-D mixtures, ``per_k`` per number of components, with pair MI truth.

    Parameters
    ----------
    per_k : int
        Triplets per K (>= 1).
    seed : int
        Build seed.
    ks : sequence of int
        Component counts to fill.
    min_gap : float
        Keep triplets with |MI(x; y) - MI(x; y')| >= min_gap.
    progress : callable, optional
        Called with the number of triplets accepted at each acceptance.

    Returns
    -------
    arrays : dict of str to ndarray
        Packed mixtures plus ``mi`` and ``se`` of shape (N, 2) (MI(x; y),
        MI(x; y')), ``n_mc`` and ``candidate`` (numbered within each K).
    record : dict
        The build record.
    """
    if per_k < 1:
        raise SpecError(f"per_k must be >= 1; got {per_k}")
    min_gap = _checked_gap(min_gap)
    clock = _Clock()
    stats = {"final_runs": 0, "se_too_large": 0}
    gmms: list[GMM] = []
    mi_rows: list[np.ndarray] = []
    se_rows: list[np.ndarray] = []
    n_mc: list[int] = []
    cand: list[int] = []
    candidates: dict[str, int] = {}
    for k in ks:
        got, c = 0, 0
        while got < per_k:
            hit = _order_candidate(seed, int(k), c, float(min_gap), stats)
            if hit is not None:
                g, run = hit
                gmms.append(g)
                mi_rows.append(run.mean.copy())
                se_rows.append(run.se.copy())
                n_mc.append(int(run.n))
                cand.append(c)
                got += 1
                if progress is not None:
                    progress(len(gmms))
            c += 1
        candidates[str(k)] = c
    se = np.array(se_rows)
    arrays = {
        **pack_gmms(gmms),
        "mi": np.array(mi_rows, dtype=np.float64),
        "se": se.astype(np.float32),
        "n_mc": np.array(n_mc, dtype=np.int32),
        "candidate": np.array(cand, dtype=np.int32),
    }
    record = _record("gmm_order", seed, len(gmms), np.array(n_mc), se)
    record.update(
        builder_version=gmm_order.BUILDER_VERSION,
        per_k=int(per_k),
        ks=[int(k) for k in ks],
        min_gap=float(min_gap),
        target_se=gmm_order.TARGET_SE,
        candidates=candidates,
        final_runs=stats["final_runs"],
        rejected_se=stats["se_too_large"],
        timing=clock.timing(),
    )
    return arrays, record


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

BUILDABLE = ("gmm_levels", "gmm_order")


def _checked_gap(min_gap: Any) -> float:
    """``min_gap`` as a float, or one SpecError unless it is a number >= 0 (NaN is not)."""
    if isinstance(min_gap, bool) or not isinstance(min_gap, (int, float, np.number)):
        raise SpecError(f"min_gap must be a number >= 0; got {min_gap!r}")
    if not min_gap >= 0:
        raise SpecError(f"min_gap must be a number >= 0; got {min_gap!r}")
    return float(min_gap)


def build_task_set(
    name: str,
    *,
    per_level: int | None = None,
    per_k: int | None = None,
    seed: int = 0,
    min_gap: float | None = None,
    out_dir: str | Path | None = None,
    progress: bool = False,
) -> Path:
    """Build a stored set for task ``name`` and save it; return the ``.npz`` path.

    Parameters
    ----------
    name : str
        ``"gmm_levels"`` or ``"gmm_order"``.
    per_level : int, optional
        Mixtures per level (``gmm_levels``; default 100).
    per_k : int, optional
        Triplets per K (``gmm_order``; default 200).
    seed : int
        Build seed; tasks pick sets by it (``set_seed``).
    min_gap : float, optional
        ``gmm_order`` only; default 0.02.
    out_dir : str or Path, optional
        Where to write; default the cache directory
        (:func:`ground_truth.cache.cache_dir`), which tasks search first.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    Path
        The ``.npz`` written (a ``.json`` record lies beside it).

    Raises
    ------
    SpecError
        For an unknown task, an option that does not apply to it, a bad count or
        ``min_gap``, or an output folder that cannot be made or written (all
        checked before the build; the folder is made first).
    """
    if name not in BUILDABLE:
        raise SpecError(
            f"task {name!r} has no stored set to build; buildable: {', '.join(BUILDABLE)}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"seed must be an integer >= 0; got {seed!r}")
    if name == "gmm_levels":
        if per_k is not None or min_gap is not None:
            raise SpecError("gmm_levels takes --per-level (not --per-k or --min-gap)")
        count, unit = (100 if per_level is None else per_level), "levels"
        total = count * len(gmm_levels.LEVELS)
    else:
        if per_level is not None:
            raise SpecError("gmm_order takes --per-k and --min-gap (not --per-level)")
        count, unit = (200 if per_k is None else per_k), "ks"
        total = count * len(gmm_order.KS)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise SpecError(f"the number per {unit[:-1]} must be an integer >= 1; got {count!r}")
    gap = _checked_gap(gmm_order.MIN_GAP if min_gap is None else min_gap)
    # the output folder is made (and checked) before the build, which can take hours
    target = Path(out_dir) if out_dir is not None else cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"cannot write the task set to {str(target)!r}: {exc}") from None
    if not os.access(target, os.W_OK):
        raise SpecError(f"cannot write the task set to {str(target)!r}: permission denied")
    bar = _progress_bar(name, total) if progress else None
    try:
        update = (lambda done: bar.update(done - bar.n)) if bar is not None else None
        if name == "gmm_levels":
            arrays, record = build_levels(count, seed, progress=update)
        else:
            arrays, record = build_order(count, seed, min_gap=gap, progress=update)
    finally:
        if bar is not None:
            bar.close()
    stem = set_stem(name, count, seed)
    if name == "gmm_order" and record["min_gap"] != gmm_order.MIN_GAP:
        stem += f"_gap{record['min_gap']:g}"
    return save_set(target / stem, arrays, record)


def _progress_bar(name: str, total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"building {name}", unit="set", file=sys.stderr)


def describe(record: dict[str, Any]) -> str:
    """One line summarising a build record."""
    size = (
        f"{record['per_level']} per level" if "per_level" in record else f"{record['per_k']} per K"
    )
    t = record.get("timing", {})
    return (
        f"{record['task']}: {record['n_rows']} mixtures ({size}, build seed "
        f"{record['build_seed']}), max SE {record['max_se']:.4f}, "
        f"{record['mc_samples']['total']:,} MC draws, {t.get('wall_seconds', 0):.0f} s wall / "
        f"{t.get('cpu_seconds', 0):.0f} s CPU"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tasks.build ...``: the same as ``python -m harness tasks build ...``."""
    from harness.cli import main as cli_main

    return cli_main(["tasks", "build", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
