"""The unit of work: one cell = estimator x instance x seed.

The driver ships a :class:`Job` (classes and parameters, never samples) and
chunks of :class:`Cell`; whoever executes a chunk (the driver itself or a
worker process) regenerates each instance from (task, index, seed), runs the
estimator and returns result rows. The driver adds ``run_id`` and
``attempt`` before storing them.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from harness.interface import Estimator, Instance, SpecError, Task, device_used
from results.schema import cell_key, dumps, jsonable

__all__ = [
    "ESTIMATE",
    "INSTANCE",
    "PHASES",
    "PREPARE",
    "PREPARE_FLOOR",
    "Cell",
    "EstimatorSpec",
    "Job",
    "TaskSpec",
    "WorkerSetupError",
    "deadline",
    "instance_info",
    "iter_chunk",
    "make_row",
    "one_line",
    "run_chunk",
    "timeout_rows",
]

MESSAGE_LIMIT = 500


class WorkerSetupError(SpecError):
    """Worker processes cannot run the job at all (they cannot import its classes, or
    they re-run the driver's script); raised by the driver, which stops the run."""


#: Phases of a cell that an executor's per-cell timeout covers, each with its own
#: deadline: generating the instance's samples, the estimator's one-off
#: ``prepare()`` (for every cell of the chunk that waits on it), and the estimate.
INSTANCE, PREPARE, ESTIMATE = "instance", "prepare", "estimate"
PHASES = (INSTANCE, PREPARE, ESTIMATE)

#: Default seconds ``prepare()`` may always take, whatever the per-cell timeout (a
#: run's ``prepare_timeout``): a first call compiles or loads what every later
#: estimate reuses (KSG's Numba kernels with an empty cache: ~20 s on 2 cores), and
#: a worker killed mid-compile never writes its cache, so a small timeout would
#: fail every run the same way.
PREPARE_FLOOR = 300.0

#: Called by :func:`iter_chunk` as some cells enter a phase:
#: ``on_start(positions_in_chunk, instance_infos, phase)``; an info is None
#: while the instance is being generated.
StartHook = Callable[[list[int], list[dict[str, Any] | None], str], None]


@dataclass(frozen=True)
class EstimatorSpec:
    """An estimator configuration: registry name, class, parameters and display label."""

    name: str
    cls: type
    params: dict[str, Any]
    label: str

    @cached_property
    def params_json(self) -> str:
        return dumps(self.params)

    @property
    def batched(self) -> bool:
        caps = getattr(self.cls, "capabilities", None)
        return bool(getattr(caps, "batched", False))

    def build(self) -> Estimator:
        return self.cls(**self.params)

    def base(self) -> Estimator | None:
        """The estimator a wrapper (``sliced``) runs on
        (:meth:`~harness.interface.Estimator.base_estimator`); None for other
        estimators and for a base that cannot be built, whose cells fail with
        their own message."""
        try:
            return self.build().base_estimator()
        except Exception:
            return None

    def devices_asked(self) -> list[tuple[type, Any]]:
        """The class and ``device`` parameter of this estimator and, for a wrapper, of
        its base, the one that does the work (``sliced:base=infonet`` with
        ``--device cuda`` asks infonet for cuda)."""
        asked = [(self.cls, self.params.get("device"))]
        base = self.base()
        if base is not None:
            try:
                asked.append((type(base), base.get_params().get("device")))
            except Exception:  # a plugin base without scikit-learn-style parameters
                pass
        return asked


@dataclass(frozen=True)
class TaskSpec:
    """A task configuration: registry name, class and parameters (including ``n``)."""

    name: str
    cls: type
    params: dict[str, Any]

    @cached_property
    def params_json(self) -> str:
        return dumps(self.params)

    def build(self) -> Task:
        return self.cls(**self.params)


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the cells: small and picklable.

    ``prepare_timeout`` is the least time an estimator's ``prepare()`` gets
    under a per-cell timeout (see :func:`deadline`).
    """

    job_id: str
    task: TaskSpec
    estimators: tuple[EstimatorSpec, ...]
    prepare_timeout: float = PREPARE_FLOOR


@dataclass(frozen=True)
class Cell:
    """Estimator ``estimator`` (index into ``Job.estimators``) on one instance and seed."""

    estimator: int
    instance: int
    seed: int
    key: str


def make_cell(job: Job, estimator: int, instance: int, seed: int) -> Cell:
    e = job.estimators[estimator]
    key = cell_key(e.name, e.params_json, job.task.name, job.task.params_json, instance, seed)
    return Cell(estimator, instance, seed, key)


# -- rows -------------------------------------------------------------------


def one_line(exc: BaseException) -> str:
    """``"TypeName: message"`` on one line, truncated."""
    text = " ".join(str(exc).split())
    msg = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return msg if len(msg) <= MESSAGE_LIMIT else msg[: MESSAGE_LIMIT - 3] + "..."


def instance_info(inst: Instance) -> dict[str, Any]:
    """The per-instance columns of a result row (no samples)."""
    x, y = inst.x, inst.y
    return {
        "instance_id": str(inst.instance_id),
        "n_samples": int(len(x)),
        "dim_x": int(x.shape[1]) if getattr(x, "ndim", 1) == 2 else 1,
        "dim_y": int(y.shape[1]) if getattr(y, "ndim", 1) == 2 else 1,
        "true_mi": float(inst.true_mi),
        "true_mi_se": float(inst.true_mi_se),
        "meta": json.dumps(jsonable(dict(inst.meta))),
    }


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def make_row(
    job: Job,
    cell: Cell,
    info: dict[str, Any] | None,
    status: str,
    *,
    estimate: float | None = None,
    seconds: float | None = None,
    device: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """A result row without ``run_id`` and ``attempt`` (the driver adds those)."""
    e = job.estimators[cell.estimator]
    info = info or {}
    true_mi = info.get("true_mi")
    error = None
    if estimate is not None and true_mi is not None and math.isfinite(true_mi):
        error = estimate - true_mi
    return {
        "cell_key": cell.key,
        "label": e.label,
        "estimator": e.name,
        "estimator_params": e.params_json,
        "task": job.task.name,
        "task_params": job.task.params_json,
        "instance_id": info.get("instance_id"),
        "instance_index": cell.instance,
        "seed": cell.seed,
        "n_samples": info.get("n_samples"),
        "dim_x": info.get("dim_x"),
        "dim_y": info.get("dim_y"),
        "true_mi": true_mi,
        "true_mi_se": info.get("true_mi_se"),
        "estimate": estimate,
        "error": error,
        "seconds": seconds,
        "device": device,
        "status": status,
        "message": message,
        "meta": info.get("meta", "{}"),
        "finished_at": _utc_now(),
    }


def failed_row(
    job: Job,
    cell: Cell,
    message: str,
    info: dict[str, Any] | None = None,
    *,
    regenerate: bool = True,
) -> dict[str, Any]:
    """A ``failed`` row for a cell lost outside its estimator (dead worker, broken executor).

    Without ``info`` the instance columns (truth, size, meta) are regenerated
    here, so the row still says what the cell was; if the task cannot
    regenerate the instance they stay empty, as they do with ``regenerate=False``
    (a cell lost while its instance was generated: here it could hang or die too).
    """
    if info is None and regenerate:
        try:
            info = instance_info(_task(job).instance(cell.instance, cell.seed))
        except Exception:
            info = None
    return make_row(job, cell, info, "failed", message=message)


def deadline(timeout: float, phase: str, cells: int, prepare_timeout: float) -> float:
    """Seconds ``cells`` cells may spend in ``phase``: ``cells * timeout`` for an
    estimate (a batch), ``timeout`` to generate one instance, and
    ``max(timeout, prepare_timeout)`` to prepare (a job's :attr:`Job.prepare_timeout`)."""
    if phase == ESTIMATE:
        return timeout * cells
    return max(timeout, prepare_timeout) if phase == PREPARE else timeout


def timeout_rows(
    job: Job,
    chunk: Sequence[Cell],
    phase: str,
    running: Sequence[int],
    infos: Sequence[dict[str, Any] | None],
    waiting: Sequence[int],
    timeout: float,
    elapsed: float,
    make: Callable[..., dict[str, Any]] = make_row,
) -> tuple[list[dict[str, Any]], list[int]]:
    """``timeout`` rows for cells a phase past its deadline holds up, and what runs again.

    Parameters
    ----------
    job, chunk : Job, sequence of Cell
        The chunk (cells of one estimator) the phase belongs to.
    phase : str
        :data:`ESTIMATE`: the ``running`` cells share ``elapsed`` as their
        seconds. :data:`INSTANCE`: the cell whose samples were being generated
        times out. :data:`PREPARE`: the estimator's ``prepare()`` hung, so the
        ``running`` cells and the ``waiting`` ones, which would wait on it too,
        all time out.
    running, infos : sequences
        Positions in ``chunk`` of the cells in the phase, and their instance
        columns (None where unknown).
    waiting : sequence of int
        Positions of the chunk's cells that have not started.
    timeout : float
        The per-cell timeout, seconds.
    elapsed : float
        Seconds the phase ran.
    make : callable
        Row maker with the signature of :func:`make_row`.

    Returns
    -------
    (list of dict, list of int)
        The rows, and the positions of ``waiting`` cells to run again elsewhere.
    """
    if phase == PREPARE:
        label = job.estimators[chunk[0].estimator].label
        limit = deadline(timeout, PREPARE, 1, job.prepare_timeout)
        text = (
            f"prepare() of {label} exceeded {limit:g} s "
            f"(the per-cell timeout, at least {job.prepare_timeout:g} s)"
        )
        held = [*zip(running, infos, strict=True), *((p, None) for p in waiting)]
        return [make(job, chunk[p], i, "timeout", message=text) for p, i in held], []
    if phase == INSTANCE:
        text = f"generating the instance exceeded the {timeout:g} s per-cell timeout"
        held = list(zip(running, infos, strict=True))
        return [make(job, chunk[p], i, "timeout", message=text) for p, i in held], list(waiting)
    share = elapsed / max(1, len(running))
    text = f"exceeded the {timeout:g} s per-cell timeout"
    rows = [
        make(job, chunk[p], i, "timeout", seconds=share, message=text)
        for p, i in zip(running, infos, strict=True)
    ]
    return rows, list(waiting)


# -- execution ----------------------------------------------------------------

_OBJECTS: dict[tuple[str, object], Any] = {}


def _task(job: Job) -> Task:
    """The task of ``job``, built once per process and reused by later chunks."""
    key = (job.job_id, "task")
    if key not in _OBJECTS:
        _OBJECTS.clear()  # a new job: drop the previous one's objects
        _OBJECTS[key] = job.task.build()
    return _OBJECTS[key]


def _estimator(job: Job, index: int) -> Estimator:
    """Estimator ``index`` of ``job``, built once per process (keeps JIT/model state)."""
    key = (job.job_id, index)
    if key not in _OBJECTS:
        _OBJECTS[key] = job.estimators[index].build()
    return _OBJECTS[key]


def _announce(
    on_start: StartHook | None,
    positions: list[int],
    infos: list[dict[str, Any] | None],
    phase: str,
) -> None:
    if on_start is not None:
        on_start(positions, infos, phase)


def _prepare(
    est: Estimator,
    on_start: StartHook | None = None,
    positions: list[int] | None = None,
    infos: list[dict[str, Any] | None] | None = None,
) -> str | None:
    """Run ``est.prepare()`` once per estimator object; a failure's message, else None.

    ``on_start`` hears of the :data:`PREPARE` phase of ``positions`` first, so an
    executor's timeout covers a prepare() that hangs.
    """
    if getattr(est, "_prepared_by_harness", False):
        return None
    _announce(on_start, positions or [], infos or [], PREPARE)
    try:
        est.prepare()
    except Exception as exc:
        return f"could not prepare {est.name}: {one_line(exc)}"
    est._prepared_by_harness = True  # type: ignore[attr-defined]
    return None


def _skip_reason(est: Estimator, info: dict[str, Any]) -> str | None:
    dx, dy = info["dim_x"], info["dim_y"]
    if not est.supports(dx, dy):
        caps = est.capabilities
        return (
            f"{est.name} does not support dim_x={dx}, dim_y={dy} "
            f"(max {caps.max_dim_x}, {caps.max_dim_y})"
        )
    for req in sorted(getattr(est, "requires", ()) or ()):
        try:
            missing = importlib.util.find_spec(req) is None
        except (ImportError, ValueError):
            missing = False  # not a module name (e.g. a capability tag)
        if missing:
            return f"{est.name} requires {req}, which is not installed"
    return None


def _generate(task: Task, cell: Cell) -> tuple[Instance | None, dict[str, Any] | None, str | None]:
    try:
        inst = task.instance(cell.instance, cell.seed)
        return inst, instance_info(inst), None
    except Exception as exc:
        return None, None, f"task {task.name} could not generate instance: {one_line(exc)}"


def iter_chunk(
    job: Job, chunk: Sequence[Cell], on_start: StartHook | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Run a chunk of cells (all with the same estimator); yield rows as cells finish.

    Estimator exceptions (in ``prepare()`` too) become ``failed`` rows,
    unsupported dimensions or missing requirements ``skipped`` rows;
    ``BaseException`` (Ctrl-C) propagates. Batched estimators get the chunk's
    instances in groups of equal shape through ``estimate_batch``, each cell
    recorded with the group's time / count. ``on_start`` hears of each phase
    (:data:`PHASES`) as cells enter it, for executors that time them.
    """
    if not chunk:
        return
    task = _task(job)
    index = chunk[0].estimator
    if any(c.estimator != index for c in chunk):
        raise ValueError("a chunk must hold cells of one estimator")
    try:
        est = _estimator(job, index)
    except Exception as exc:
        msg = f"could not build estimator: {one_line(exc)}"
        yield [make_row(job, c, None, "failed", message=msg) for c in chunk]
        return
    if job.estimators[index].batched:
        yield from _iter_batched(job, chunk, task, est, on_start)
        return
    for pos, cell in enumerate(chunk):
        _announce(on_start, [pos], [None], INSTANCE)
        inst, info, problem = _generate(task, cell)
        if problem is not None:
            yield [make_row(job, cell, info, "failed", message=problem)]
            continue
        skip = _skip_reason(est, info)
        if skip is not None:
            yield [make_row(job, cell, info, "skipped", message=skip)]
            continue
        problem = _prepare(est, on_start, [pos], [info])
        if problem is not None:
            yield [make_row(job, cell, info, "failed", message=problem)]
            continue
        _announce(on_start, [pos], [info], ESTIMATE)
        t0 = time.perf_counter()
        try:
            value = est.estimate(inst.x, inst.y)
        except Exception as exc:
            seconds = time.perf_counter() - t0
            row = make_row(job, cell, info, "failed", seconds=seconds, message=one_line(exc))
        else:
            seconds = time.perf_counter() - t0
            row = make_row(
                job,
                cell,
                info,
                "ok",
                estimate=float(value),
                seconds=seconds,
                device=device_used(est),
            )
        yield [row]


def _iter_batched(
    job: Job, chunk: Sequence[Cell], task: Task, est: Estimator, on_start: StartHook | None
) -> Iterator[list[dict[str, Any]]]:
    groups: dict[tuple[int, int, int], list[tuple[int, Instance, dict[str, Any]]]] = {}
    for pos, cell in enumerate(chunk):
        _announce(on_start, [pos], [None], INSTANCE)
        inst, info, problem = _generate(task, cell)
        if problem is not None:
            yield [make_row(job, cell, info, "failed", message=problem)]
            continue
        skip = _skip_reason(est, info)
        if skip is not None:
            yield [make_row(job, cell, info, "skipped", message=skip)]
            continue
        shape = (info["n_samples"], info["dim_x"], info["dim_y"])
        groups.setdefault(shape, []).append((pos, inst, info))
    for members in groups.values():
        positions = [m[0] for m in members]
        infos = [m[2] for m in members]
        problem = _prepare(est, on_start, positions, list(infos))
        if problem is not None:
            yield [
                make_row(job, chunk[p], i, "failed", message=problem)
                for p, i in zip(positions, infos, strict=True)
            ]
            continue
        _announce(on_start, positions, list(infos), ESTIMATE)
        t0 = time.perf_counter()
        try:
            xs, ys = [m[1].x for m in members], [m[1].y for m in members]
            values = est.estimate_batch(xs, ys, allow_nonfinite=True)
        except Exception as exc:
            share = (time.perf_counter() - t0) / len(members)
            msg = one_line(exc)
            yield [
                make_row(job, chunk[p], i, "failed", seconds=share, message=msg)
                for p, i in zip(positions, infos, strict=True)
            ]
            continue
        share = (time.perf_counter() - t0) / len(members)
        dev = device_used(est)
        rows = []
        for p, i, v in zip(positions, infos, values, strict=True):
            v = float(v)
            if math.isfinite(v):
                rows.append(make_row(job, chunk[p], i, "ok", estimate=v, seconds=share, device=dev))
            else:
                msg = f"FloatingPointError: {est.name} produced a non-finite estimate ({v})"
                rows.append(make_row(job, chunk[p], i, "failed", seconds=share, message=msg))
        yield rows


def run_chunk(job: Job, chunk: Sequence[Cell]) -> list[dict[str, Any]]:
    """All rows of a chunk at once (for ``concurrent.futures`` executors)."""
    return [row for rows in iter_chunk(job, chunk) for row in rows]
