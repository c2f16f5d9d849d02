"""``harness.run``: build the grid, run it on an executor, store rows as they come.

The grid is estimator x instance x seed. Every spec is validated before the
store is touched or any work starts; cells are regenerated wherever they run
from (task, instance index, seed), so only classes, parameters and indices
travel. Rows are committed to the store as each cell finishes; ``resume``
re-creates the grid from the stored run record and runs only the cells
without a final row. Each invocation is a *session* of its run, recorded with
its own command, versions, commit and host; every row names its session.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import operator
import os
import platform
import re
import secrets
import shlex
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import estimators as estimator_registry
import tasks as task_registry
from harness.cells import (
    PREPARE_FLOOR,
    Cell,
    EstimatorSpec,
    Job,
    TaskSpec,
    WorkerSetupError,
    make_cell,
    one_line,
)
from harness.executors import RERUN_EXIT_CODE, Executor, check_timeout, in_worker, make_executor
from harness.interface import Estimator, SpecError, Task, param_defaults
from harness.matching import canonical_numbers
from harness.params import MAX_CELLS, MAX_SEED, MAX_SEEDS
from harness.registry import format_spec, parse_spec
from results import stored_frame
from results.schema import NON_FINITE_TEXT, dumps
from results.store import Store, StoreError, default_path, new_run_id, now

__all__ = ["FINAL", "RETRYABLE", "make_chunks", "plan", "run"]

#: Statuses that close a cell for ``resume`` (failed/timeout reopen with ``retry_failed``).
FINAL = frozenset({"ok", "skipped", "failed", "timeout"})
RETRYABLE = frozenset({"failed", "timeout"})
DEFAULT_BATCH = 16
#: Most distributions a batched estimator gets in one ``estimate_batch`` call.
#: A chunk's rows are stored when the call returns, so this bounds what an
#: interrupted run loses; sliced specs set ``batch_size`` (1-D problems per
#: forward pass) to their projection count, e.g. ``infonet:batch_size=1000``.
MAX_BATCH_CHUNK = 64


# -- specs ---------------------------------------------------------------------


def _float_params(params: dict[str, Any], cls: type) -> dict[str, Any]:
    """``params`` with float parameters (those whose default is a float) as floats:
    an integer becomes a float, so ``shrink=0`` and ``shrink=0.0`` are one
    configuration (one label, one cell key), and a non-finite value the store
    holds as text (``clip=inf``) is a float again."""
    defaults = param_defaults(cls)
    out = dict(params)
    for key, value in out.items():
        if not isinstance(defaults.get(key), float) or isinstance(value, bool):
            continue
        if isinstance(value, int):
            out[key] = float(value)
        elif isinstance(value, str) and value in NON_FINITE_TEXT:
            out[key] = NON_FINITE_TEXT[value]
    return out


def _roundtrip(params: dict[str, Any], cls: type) -> dict[str, Any]:
    """Parameters as they come back from the store (JSON types, :func:`_float_params`)."""
    return _float_params(json.loads(dumps(params)), cls)


def _label(name: str, cls: type, params: dict[str, Any]) -> str:
    defaults = param_defaults(cls)
    changed = {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}
    return format_spec(name, changed)


def _estimator_spec(spec: str | Estimator, device: str) -> EstimatorSpec:
    obj = estimator_registry.make(spec, defaults={"device": device})
    if isinstance(spec, str) and not _device_reaches_base(obj):
        # a wrapper (sliced) whose base has no device would only carry it in its label
        obj = estimator_registry.make(spec)
    if not isinstance(obj, Estimator):
        raise SpecError(f"not an estimator: {obj!r}")
    if not isinstance(spec, str):
        obj._check_params()
    # the registry key the spec used, so a resume finds the same class again
    name = parse_spec(spec)[0] if isinstance(spec, str) else obj.name or type(obj).__name__.lower()
    params = _roundtrip(obj.get_params(), type(obj))
    return EstimatorSpec(name, type(obj), params, _label(name, type(obj), params))


def _device_reaches_base(obj: Any) -> bool:
    """False for a wrapper whose base estimator takes no ``device``; True otherwise,
    also where the base cannot be built (its cells fail with their own message)."""
    try:
        base = obj.base_estimator()
    except Exception:
        return True
    return base is None or "device" in base.get_params()


def _task_spec(spec: str | Task, n: int | None) -> TaskSpec:
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise SpecError(f"n must be a positive integer; got {n!r}")
    if isinstance(spec, str):
        name, params = parse_spec(spec)
        if n is not None:
            if "n" not in task_registry.registry.defaults(name):
                raise SpecError(f"task {name!r} has no sample size parameter n")
            if params.get("n", n) != n:
                raise SpecError(f"n={n} contradicts n={params['n']} in the task spec {spec!r}")
            params["n"] = n
        obj = task_registry.make(format_spec(name, params))
    elif isinstance(spec, Task):
        obj = spec
        if n is not None and "n" in param_defaults(type(obj)) and obj.get_params()["n"] != n:
            obj = type(obj)(**{**obj.get_params(), "n": n})
        obj._check_params()
    else:
        raise SpecError(f"task must be a spec string or a Task; got {spec!r}")
    name = parse_spec(spec)[0] if isinstance(spec, str) else obj.name or type(obj).__name__.lower()
    return TaskSpec(name, type(obj), _roundtrip(obj.get_params(), type(obj)))


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, str):
        raise SpecError(
            f"seeds must be an integer or integers, e.g. 0 or range(5); got the string {seeds!r}"
        )
    items = [seeds] if isinstance(seeds, int) else list(itertools.islice(seeds, MAX_SEEDS + 1))
    if len(items) > MAX_SEEDS:
        raise SpecError(f"seeds name more than {MAX_SEEDS:,} seeds; one run takes at most that")
    if not items:
        raise SpecError("seeds must name at least one seed")
    out = []
    for s in items:
        try:
            value = operator.index(s)
        except TypeError:
            value = -1
        if isinstance(s, bool) or not 0 <= value < MAX_SEED:
            raise SpecError(f"seeds must be integers in [0, 2**63); got {s!r}")
        out.append(value)
    if len(set(out)) != len(out):
        twice = sorted(s for s, count in Counter(out).items() if count > 1)
        shown = ", ".join(map(str, twice[:10])) + (", ..." if len(twice) > 10 else "")
        raise SpecError(f"seeds repeat: {shown} named more than once")
    return out


def _n_instances(task: TaskSpec, seed: int, timeout: float | None = None) -> int:
    """Instance count of ``task``; its first instance is generated as a check.

    A :class:`SpecError` there (e.g. a task set that has not been built) stops the
    run before it starts; other errors are left to the cells, which record them,
    as is a check still generating after ``timeout`` seconds (see
    :func:`_check_first_instance`).
    """
    try:
        obj = task.build()
        count = int(obj.n_instances())
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"task {task.name}: {type(exc).__name__}: {exc}") from exc
    if count < 1:
        raise SpecError(f"task {task.name} has no instances with parameters {task.params}")
    _check_first_instance(obj, seed, timeout)
    return count


def _used_classes(grid: Grid) -> list[type]:
    """The task and estimator classes of ``grid``, with the base of a ``sliced``
    estimator (``sliced:base=my_plugin``), whose code provenance records."""
    out: list[type] = [grid.task.cls]
    for e in grid.estimators:
        out.append(e.cls)
        base = e.base()
        if base is not None:
            out.append(type(base))
    return out


def _check_first_instance(obj: Task, seed: int, timeout: float | None) -> None:
    """Generate instance 0 of ``obj``; raise the :class:`SpecError` it raises.

    With a per-cell ``timeout`` the check runs in a daemon thread and is given
    up after ``timeout`` seconds, so a generation that hangs does not hang the
    run before it starts: its cells record ``timeout`` rows instead. Python
    cannot stop the thread; it runs on until it ends or the process does.
    """
    problem: list[SpecError] = []

    def check() -> None:
        try:
            obj.instance(0, seed)
        except SpecError as exc:
            problem.append(exc)
        except Exception:
            pass  # the cells record it

    if timeout is None:
        check()
    else:
        thread = threading.Thread(target=check, daemon=True, name="mi-harness-instance-check")
        thread.start()
        thread.join(timeout)
    if problem:
        raise problem[0]


@dataclass(frozen=True)
class Grid:
    """A validated grid: estimator specs, the task, seeds and the instance count."""

    estimators: tuple[EstimatorSpec, ...]
    task: TaskSpec
    seeds: tuple[int, ...]
    n_instances: int


def _new_grid(
    estimators: Sequence[str | Estimator] | None,
    task: str | Task | None,
    seeds: int | Iterable[int],
    n: int | None,
    device: str,
    timeout: float | None = None,
) -> Grid:
    if not estimators:
        raise SpecError("give at least one estimator, e.g. estimators=['ksg', 'kde']")
    if task is None:
        raise SpecError("give a task, e.g. task='gaussian'")
    if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
        raise SpecError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {device!r}")
    est_specs = [_estimator_spec(s, device) for s in estimators]
    seen: set[tuple[str, str]] = set()
    for e in est_specs:
        key = (e.name, dumps(canonical_numbers(e.params)))
        if key in seen:
            raise SpecError(f"estimator {e.label!r} is given twice")
        seen.add(key)
    task_spec = _task_spec(task, n)
    seed_list = tuple(_seeds(seeds))
    count = _n_instances(task_spec, seed_list[0], timeout)
    return _bounded(Grid(tuple(est_specs), task_spec, seed_list, count))


def _bounded(grid: Grid, run_id: str | None = None) -> Grid:
    """``grid``, refused with a clear error when it has more than ``MAX_CELLS`` cells;
    ``run_id`` names the stored run a resume rebuilt it from."""
    count, n_seeds, n_est = grid.n_instances, len(grid.seeds), len(grid.estimators)
    cells = count * n_seeds * n_est
    if cells > MAX_CELLS:
        size = (
            f"{cells:,} cells ({_count(count, 'instance')} x "
            f"{_count(n_seeds, 'seed')} x {_count(n_est, 'estimator')})"
        )
        if run_id is None:
            raise SpecError(
                f"the grid has {size}; a run holds at most {MAX_CELLS:,}: split it into "
                "several runs (fewer seeds, estimators or instances)"
            )
        raise SpecError(
            f"run {run_id} cannot be resumed: its task now lists more instances than "
            f"when the run was made, {size}, and a run holds at most {MAX_CELLS:,}; "
            "start new runs with fewer seeds, estimators or instances"
        )
    return grid


def _count(n: int, noun: str) -> str:
    """``"1 seed"``, ``"3 seeds"``, ``"1,000 instances"``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _artifacts(spec: EstimatorSpec) -> dict[str, str]:
    """The estimator's :meth:`~harness.interface.Estimator.artifacts`; a failure is recorded."""
    try:
        return dict(spec.build().artifacts())
    except Exception as exc:  # the cells will fail with their own message
        return {"error": one_line(exc)}


def _check_artifacts(run_id: str, rec: dict[str, Any], now: dict[str, dict[str, str]]) -> None:
    """Refuse to resume a run whose estimators now load different files."""
    for e in rec["estimators"]:
        before, current = e.get("artifacts") or {}, now.get(e["label"]) or {}
        if "error" in before or "error" in current or before == current:
            continue
        raise SpecError(
            f"run {run_id}: {e['label']} was run with {dumps(before)} and would now use "
            f"{dumps(current)}; resuming would mix the two in one run. Start a new run, "
            "or restore the files the run was made with."
        )


def _stored_grid(
    rec: dict[str, Any],
    supplied: Sequence[Estimator] = (),
    device: str = "auto",
    timeout: float | None = None,
) -> Grid:
    """The grid of a stored run; ``supplied`` estimator objects stand in for
    classes the registry does not know (an estimator defined in a script)."""
    given = [_estimator_spec(obj, device) for obj in supplied]
    used: set[int] = set()
    ests = []
    for e in rec["estimators"]:
        match = next(
            (
                i
                for i, g in enumerate(given)
                if g.name == e["name"] and g.params == _float_params(e["params"], g.cls)
            ),
            None,
        )
        if match is not None:
            used.add(match)
            cls = given[match].cls
        elif e["name"] in estimator_registry.registry.names():
            cls = estimator_registry.registry.get_class(e["name"])
        else:
            _unmatched(rec, e, [g for g in given if g.name == e["name"]])
        ests.append(EstimatorSpec(e["name"], cls, _float_params(e["params"], cls), e["label"]))
    extra = [g.label for i, g in enumerate(given) if i not in used]
    if extra:
        stored = ", ".join(e["label"] for e in rec["estimators"])
        raise SpecError(
            f"run {rec['run_id']} has no estimator {extra[0]!r} (with these parameters); "
            f"its estimators: {stored}"
        )
    cls = task_registry.registry.get_class(rec["task"])
    task = TaskSpec(rec["task"], cls, _float_params(rec["task_params"], cls))
    seeds = tuple(rec["seeds"])
    # the task may list more instances than when the run was made (a newer version)
    grid = Grid(tuple(ests), task, seeds, _n_instances(task, seeds[0], timeout))
    return _bounded(grid, rec["run_id"])


def _unmatched(rec: dict[str, Any], stored: dict[str, Any], named: list[EstimatorSpec]) -> None:
    """Raise the SpecError for a stored, unregistered estimator no object matched;
    ``named`` are the given objects of its name (whose parameters differ)."""
    run_id = rec["run_id"]
    if not named:
        raise SpecError(
            f"run {run_id} used the estimator {stored['label']!r}, which is not registered; "
            "resume it from Python, passing the same estimator object again: "
            f"harness.run(estimators=[...], resume={run_id!r})"
        )
    cls = named[0].cls
    want = _float_params(stored["params"], cls)
    got = "; ".join(_kwargs(g.params) for g in named)
    given = "object given has" if len(named) == 1 else "objects given have"
    raise SpecError(
        f"run {run_id} used the estimator {stored['name']!r} with {_kwargs(want)}, but the "
        f"{stored['name']!r} {given} {got}; pass it with the stored parameters to resume: "
        f"harness.run(estimators=[{_constructor(cls, want)}], resume={run_id!r})"
    )


def _kwargs(params: dict[str, Any], defaults: dict[str, Any] | None = None) -> str:
    """``k=v, ...`` (leaving out values equal to ``defaults``), or "no parameters"."""
    missing = object()
    shown = {k: v for k, v in params.items() if defaults is None or defaults.get(k, missing) != v}
    text = ", ".join(f"{k}={v!r}" for k, v in shown.items())
    return text or ("" if defaults is not None else "no parameters")


def _constructor(cls: type, params: dict[str, Any]) -> str:
    """``Cls(k=v, ...)`` with the parameters that differ from the defaults."""
    return f"{cls.__name__}({_kwargs(params, param_defaults(cls))})"


def _unregistered(grid: Grid) -> list[EstimatorSpec]:
    """Estimators a resume cannot rebuild from the registry (their objects must be given)."""
    names = set(estimator_registry.registry.names())
    out = []
    for e in grid.estimators:
        try:
            same = e.name in names and estimator_registry.registry.get_class(e.name) is e.cls
        except Exception:
            same = False
        if not same:
            out.append(e)
    return out


def _resume_call(run_id: str, store: Path, grid: Grid) -> str:
    """The ``harness.run(...)`` call that continues ``run_id``."""
    call = f"harness.run(resume={run_id!r}, store={str(store)!r}"
    own = _unregistered(grid)
    if own:
        objects = ", ".join(_constructor(e.cls, e.params) for e in own)
        call += f", estimators=[{objects}]"
    return call + ")"


# -- grid and chunks -------------------------------------------------------------


def plan(job: Job, seeds: Sequence[int], n_instances: int) -> list[Cell]:
    """Every cell of the grid, seed-major, then instance, then estimator."""
    return [
        make_cell(job, e, i, s)
        for s in seeds
        for i in range(n_instances)
        for e in range(len(job.estimators))
    ]


def make_chunks(job: Job, cells: Sequence[Cell], workers: int) -> list[list[Cell]]:
    """Group cells by estimator into chunks, interleaved across estimators.

    Batched estimators get chunks of their ``batch_size`` (default 16, at most
    :data:`MAX_BATCH_CHUNK`), which become ``estimate_batch`` calls; others
    get chunks small enough to keep ``workers`` busy to the end, large enough
    to amortise messaging.
    """
    by_est: dict[int, list[Cell]] = {}
    for c in cells:
        by_est.setdefault(c.estimator, []).append(c)
    queues = []
    for e, group in by_est.items():
        spec = job.estimators[e]
        if spec.batched:
            size = min(int(spec.params.get("batch_size") or DEFAULT_BATCH), MAX_BATCH_CHUNK)
        elif workers > 1:
            size = min(32, max(1, math.ceil(len(group) / (workers * 4))))
        else:
            size = 64
        queues.append([group[i : i + size] for i in range(0, len(group), size)])
    out: list[list[Cell]] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        out.extend(q[round_] for q in queues if round_ < len(q))
    return out


# -- the public entry point --------------------------------------------------------


def run(
    estimators: Sequence[str | Estimator] | str | Estimator | None = None,
    task: str | Task | None = None,
    seeds: int | Iterable[int] = (0,),
    n: int | None = None,
    executor: str | Executor | Any = "local",
    store: str | os.PathLike[str] | Store | None = None,
    *,
    workers: int | None = None,
    timeout: float | None = None,
    prepare_timeout: float | None = None,
    resume: str | None = None,
    device: str = "auto",
    progress: bool | None = None,
    run_id: str | None = None,
    retry_failed: bool = False,
    scheduler: str | None = None,
    argv: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run estimators on a task's instances for several seeds; store and return the rows.

    Parameters
    ----------
    estimators : list of str or Estimator
        Specs such as ``"ksg:k=5"`` (built with ``device``) or estimator objects.
    task : str or Task
        A spec such as ``"gmm_levels:per_level=50"`` or a task object.
    seeds : int or iterable of int
        Sample seeds; each instance is drawn once per seed (at most
        :data:`~harness.params.MAX_SEEDS`, 100,000).
    n : int, optional
        Sample size, overriding the task's default (an error if the spec says otherwise).
    executor : str, Executor or concurrent.futures.Executor
        ``"local"`` (in-process, or worker processes when ``workers > 1`` or a
        ``timeout`` is set), ``"dask"`` (needs ``distributed``; the cluster at
        ``scheduler``, else a local cluster of ``workers`` processes), an
        :class:`~harness.executors.Executor`, or any ``concurrent.futures``
        executor.
    store : str, path or Store, optional
        The results store; default ``$MI_HARNESS_STORE`` or
        ``./runs/mi-harness.sqlite``.
    workers : int, optional
        Worker processes for ``"local"`` or for a local ``"dask"`` cluster
        (default 1; on resume, the stored value).
    timeout : float, optional
        Seconds per cell; a slower cell is recorded as ``"timeout"``. On resume,
        ``None`` keeps the stored value.
    prepare_timeout : float, optional
        Seconds an estimator's one-off ``prepare()`` always gets under a
        ``timeout`` (it gets ``timeout`` when that is longer); past it every cell
        waiting on the prepare() is recorded as ``"timeout"``. Default
        :data:`~harness.cells.PREPARE_FLOOR` (300: a first call compiling Numba
        kernels is not cut short); on resume, ``None`` keeps the stored value.
        Needs a ``timeout`` (given, stored or the executor object's own).
    resume : str, optional
        Run id (or unique prefix, or ``"latest"``) to continue: its grid is rebuilt
        from the store and only cells without a final row run. ``task``,
        ``seeds``, ``n`` and ``run_id`` must then be left out; ``estimators``
        may only hold estimator objects, which stand in for classes the
        registry does not know (one defined in your script), matched to the
        stored estimators by name and parameters.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"`` for estimators that take a device.
    progress : bool, optional
        Progress bar on stderr; default: only when stderr is a terminal.
    run_id : str, optional
        Id for a new run (default: timestamp plus random suffix).
    retry_failed : bool
        With ``resume``, also rerun cells whose latest attempt failed or timed out.
    scheduler : str, optional
        Address of a running Dask scheduler for ``executor="dask"``.
    argv : sequence of str, optional
        Command line to record (default ``sys.argv``; the CLI passes its own).

    Returns
    -------
    pandas.DataFrame
        One row per cell (latest attempt) in grid order, the result schema plus
        one column per instance meta key; ``df.attrs`` holds ``run_id``, ``store``
        and ``provenance`` (the run record and sessions, which an export keeps).

    Raises
    ------
    SpecError
        A spec, parameter, seed list or executor setting is invalid, the grid
        (also a resumed run's, whose task's instances are counted again) has
        more than :data:`~harness.params.MAX_CELLS` (10,000,000) cells, or a run on
        the local executor asks a torch estimator (or a ``sliced`` estimator's
        torch base) for CUDA where there is none; raised before anything runs or
        is stored.
    KeyboardInterrupt
        After storing every finished cell and marking the run ``interrupted``.
    WorkerSetupError
        (a SpecError) Worker processes cannot run the job: a class they cannot
        import (checked up front where possible), or a script that calls
        ``harness.run`` without an ``if __name__ == "__main__":`` guard (which
        each worker would run again as it imports the script). Cells finished
        before are stored; the run is marked ``crashed``.

    Notes
    -----
    Called in a worker process that is still starting (see
    :func:`_starting_worker`), ``run`` touches nothing: it prints one line on
    stderr and ends the process with exit status
    :data:`~harness.executors.RERUN_EXIT_CODE`, which the driver turns into a
    :class:`~harness.cells.WorkerSetupError`.
    """
    if _starting_worker():
        _leave_worker()
    if isinstance(estimators, (str, Estimator)):
        estimators = [estimators]
    supplied: list[Estimator] = []
    if resume is not None:
        if task is not None or n is not None or _as_list(seeds) != [0]:
            raise SpecError(
                "resume takes the grid from the stored run; leave out task, seeds and n"
            )
        supplied = list(estimators or [])
        if not all(isinstance(e, Estimator) for e in supplied):
            raise SpecError(
                "resume takes the grid from the stored run; pass estimators only as objects, "
                "to stand in for classes that are not registered"
            )
        if run_id is not None:
            raise SpecError("give either resume or run_id, not both")
        grid, ex = None, None
    else:
        if retry_failed:
            raise SpecError("retry_failed only applies with resume")
        if run_id is not None:
            _check_run_id(run_id)
        given = timeout if timeout is not None else _own_timeout(executor)
        _check_prepare_timeout(prepare_timeout, given)
        limit = _checked_timeout(given)
        grid = _new_grid(estimators, task, seeds, n, device, limit)
        if executor == "local":
            _check_local_cuda(grid)
        workers = 1 if workers is None else workers
        ex = _executor(executor, workers, timeout, scheduler, grid)  # before a store file exists
    own_store = not isinstance(store, Store)
    try:
        if own_store:
            path = Path(store) if store is not None else default_path()
            # resuming never creates a store: a missing one is a clear error instead
            st = Store(path, create=resume is None or path.exists())
        else:
            st = store
        try:
            return _run(
                st,
                grid,
                supplied,
                ex,
                executor,
                workers,
                timeout,
                prepare_timeout,
                resume,
                device,
                progress,
                run_id,
                retry_failed,
                scheduler,
                argv,
            )
        finally:
            if own_store:
                st.close()
    finally:
        if ex is not None:
            ex.close()


#: what a new run id may hold: it names files (exports) and appears in commands
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@=-]*")


def _check_run_id(run_id: str) -> None:
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id) or run_id == "latest":
        raise SpecError(
            f"run id {run_id!r} is not allowed: use letters, digits and . _ + @ = - "
            "(starting with a letter or digit), and not 'latest', which names the newest run"
        )


def _check_local_cuda(grid: Grid) -> None:
    """Refuse a run on this machine that asks torch estimators (or a sliced
    estimator's torch base) for CUDA where there is none, before any cell fails for
    it (a Dask worker elsewhere may have a GPU: not checked; nor are plugins that do
    not declare torch)."""
    from estimators._torch import resolve_device  # imports torch only when called

    for est in grid.estimators:
        for cls, device in est.devices_asked():
            if "torch" in cls.capabilities.requires and str(device).startswith("cuda"):
                try:
                    resolve_device(device, est.label)
                except ImportError:  # no torch: left to the cells, which record why
                    return


def _executor(
    executor: Any, workers: int, timeout: float | None, scheduler: str | None, grid: Grid
) -> Any:
    """The executor, once it is known that its workers can load the grid's classes."""
    try:
        ex = make_executor(executor, workers, timeout, scheduler=scheduler)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    try:
        ex.check_classes([grid.task.cls, *(e.cls for e in grid.estimators)])
    except ValueError as exc:
        ex.close()
        raise WorkerSetupError(str(exc)) from None
    except BaseException:
        ex.close()
        raise
    return ex


def _starting_worker() -> bool:
    """Whether this process is a worker process that is still starting up, or a
    harness worker (:func:`~harness.executors.in_worker`).

    With the ``spawn`` (and ``forkserver``) start methods, multiprocessing imports
    the driver's main script again in each new process, as ``__mp_main__``, before
    the process runs its target; an unguarded ``harness.run(...)`` in the script
    runs then. The sign is ``current_process()._inheriting``, which multiprocessing
    sets for exactly that phase (its own "bootstrapping phase" RuntimeError tests
    it; tests/test_worker_pitfalls.py fails should a Python drop it). It does not
    hold in a spawned process's target, so ``harness.run`` in a user's own pool works.
    """
    return in_worker() or bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _leave_worker() -> None:
    """End a starting worker process that was about to run ``harness.run``: one line
    on stderr, exit status RERUN_EXIT_CODE (the driver stops the run with an error)."""
    print(
        f"mi-harness: worker process {os.getpid()} was about to run harness.run(...) as it "
        'imported the driver\'s script (a call outside `if __name__ == "__main__":`); '
        "not running it there",
        file=sys.stderr,
        flush=True,
    )
    os._exit(RERUN_EXIT_CODE)  # no cleanup: the process has done nothing worth keeping


def _checked_timeout(timeout: Any) -> float | None:
    """``timeout`` if it is a valid per-cell timeout, else None (the executor's
    check reports it, after the grid is validated)."""
    try:
        check_timeout(timeout)
    except ValueError:
        return None
    return timeout


def _check_prepare_timeout(prepare_timeout: Any, timeout: Any) -> None:
    """Refuse a ``prepare_timeout`` that is not a number of seconds, or that comes
    without a per-cell ``timeout`` (nothing would enforce it)."""
    try:
        check_timeout(prepare_timeout, "prepare_timeout")
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    if prepare_timeout is not None and timeout is None:
        raise SpecError(
            "prepare_timeout (--prepare-timeout) applies under a per-cell timeout; "
            "give timeout (--timeout) as well"
        )


def _own_timeout(executor: Any) -> Any:
    """The per-cell timeout an :class:`Executor` object was given, else None."""
    return getattr(executor, "timeout", None) if isinstance(executor, Executor) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _check_not_running(st: Store, run_id: str) -> None:
    """Refuse to resume a run whose last session is still going on this host."""
    sessions = st.sessions(run_id)
    last = sessions[-1] if sessions else None
    if last is None or last["status"] != "running":
        return
    pid = last.get("pid")
    here = last.get("host") == platform.node()
    if here and pid and pid != os.getpid() and _pid_alive(int(pid)):
        raise StoreError(
            f"run {run_id} is still running (process {pid} on {last['host']}); "
            "wait for it or stop it before resuming"
        )
    st.update_session(run_id, last["session"], status="crashed")


def _run(
    st: Store,
    grid: Grid | None,
    supplied: Sequence[Estimator],
    ex: Executor | None,
    executor: Any,
    workers: int | None,
    timeout: float | None,
    prepare_timeout: float | None,
    resume: str | None,
    device: str,
    progress: bool | None,
    run_id: str | None,
    retry_failed: bool,
    scheduler: str | None,
    argv: Sequence[str] | None,
) -> pd.DataFrame:
    rec: dict[str, Any] | None = None
    if resume is not None:
        rec = st.get_run(resume)
        run_id = rec["run_id"]
        workers = rec["workers"] if workers is None else workers
        timeout = rec["timeout"] if timeout is None else timeout
        _check_prepare_timeout(
            prepare_timeout, timeout if timeout is not None else _own_timeout(executor)
        )
        if prepare_timeout is None:
            prepare_timeout = rec.get("prepare_timeout")  # None in a run stored before it
        grid = _stored_grid(rec, supplied, device, _checked_timeout(timeout))
        _check_not_running(st, run_id)
        # before anything else: a resume that would mix models is refused even when
        # nothing is left to run
        _check_artifacts(run_id, rec, {e.label: _artifacts(e) for e in grid.estimators})
        if _complete(st, run_id, rec, grid, retry_failed):
            # nothing to do: no executor is started and no session recorded, so the
            # run's record and its exports stay as they were
            return stored_frame(st, run_id)
        ex = _executor(executor, workers, timeout, scheduler, grid)
    elif run_id is not None and st.has_run(run_id):
        raise SpecError(
            f"run {run_id} already exists; resume it (resume={run_id!r}, or --resume {run_id} "
            "on the command line) or choose another id"
        )
    assert grid is not None and ex is not None and workers is not None
    with ex:
        return _session(
            st,
            grid,
            ex,
            executor,
            rec,
            workers,
            timeout,
            PREPARE_FLOOR if prepare_timeout is None else prepare_timeout,
            device,
            progress,
            run_id or new_run_id(),
            retry_failed,
            argv,
        )


def _session(
    st: Store,
    grid: Grid,
    ex: Executor,
    executor: Any,
    rec: dict[str, Any] | None,
    workers: int,
    timeout: float | None,
    prepare_timeout: float,
    device: str,
    progress: bool | None,
    run_id: str,
    retry_failed: bool,
    argv: Sequence[str] | None,
) -> pd.DataFrame:
    """One invocation's work on a run: record the session, run the cells, store rows."""
    from harness import environment

    job = Job(f"{run_id}:{secrets.token_hex(4)}", grid.task, grid.estimators, prepare_timeout)
    cells = plan(job, grid.seeds, grid.n_instances)
    states = st.cell_states(run_id) if rec is not None else {}
    todo = _open_cells(cells, states, retry_failed)
    attempts = {c.key: states.get(c.key, (0, ""))[0] + 1 for c in todo}

    argv = list(sys.argv if argv is None else argv)
    threads = 1 if getattr(ex, "threads", None) == 1 else None
    env = environment.collect(threads, used=_used_classes(grid))
    executor_name = executor if isinstance(executor, str) else type(executor).__name__
    session = 1 if rec is None else int(rec["sessions"]) + 1
    started = now()
    if rec is None:
        artifacts = {e.label: _artifacts(e) for e in grid.estimators}  # a resume checked them
        st.create_run(
            {
                "run_id": run_id,
                "created": started,
                "command": shlex.join(argv),
                "argv": argv,
                "task": grid.task.name,
                "task_params": grid.task.params,
                "estimators": [
                    {"name": e.name, "params": e.params, "label": e.label}
                    | ({"artifacts": artifacts[e.label]} if artifacts[e.label] else {})
                    for e in grid.estimators
                ],
                "seeds": list(grid.seeds),
                "n": grid.task.params.get("n"),
                "device": device,
                "executor": executor_name,
                "workers": workers,
                "timeout": timeout,
                "prepare_timeout": prepare_timeout,
                "started": started,
                "status": "running",
                "sessions": 1,
                **env,
            }
        )
    else:
        st.update_run(run_id, status="running", finished=None, sessions=session)
    st.create_session(
        {
            "run_id": run_id,
            "session": session,
            "command": shlex.join(argv),
            "argv": argv,
            "executor": executor_name,
            "workers": workers,
            "timeout": timeout,
            "prepare_timeout": prepare_timeout,
            "pid": os.getpid(),
            "started": started,
            "status": "running",
            "cells": len(todo),
            **env,
        }
    )
    stamp = {
        "run_id": run_id,
        "session": session,
        "git_commit": env["git_commit"],
        "git_dirty": env["git_dirty"],
        "harness_version": env["versions"]["mi-harness"],
        "host": env["host"],
    }

    bar = _progress_bar(len(todo), run_id, progress)
    status = "crashed"
    not_ok = 0
    try:
        for rows in ex.run(job, make_chunks(job, todo, getattr(ex, "slots", workers))):
            for row in rows:
                row.update(stamp)
                row["attempt"] = attempts[row["cell_key"]]
            st.append(rows)
            if bar is not None:
                not_ok += sum(r["status"] != "ok" for r in rows)
                if not_ok:
                    bar.set_postfix(not_ok=not_ok, refresh=False)
                bar.update(len(rows))
        status = "finished"
    except KeyboardInterrupt as exc:
        status = "interrupted"
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(
                f"run {run_id}: every finished cell is stored; continue with "
                + _resume_call(run_id, st.path, grid)
            )
        raise
    finally:
        if bar is not None:
            bar.close()
        try:
            end = now()
            st.update_session(run_id, session, status=status, finished=end)
            st.update_run(run_id, status=status, finished=end)
        except StoreError:
            pass  # keep the original exception
    return stored_frame(st, run_id)


def _complete(st: Store, run_id: str, rec: dict[str, Any], grid: Grid, retry_failed: bool) -> bool:
    """Whether resuming ``run_id`` has nothing to do: the run and its last session ended
    normally and every cell of ``grid`` has a final result (a retryable one counts as
    final unless ``retry_failed``)."""
    sessions = st.sessions(run_id)
    if rec["status"] != "finished" or not sessions or sessions[-1]["status"] != "finished":
        return False
    cells = plan(Job(run_id, grid.task, grid.estimators), grid.seeds, grid.n_instances)
    return not _open_cells(cells, st.cell_states(run_id), retry_failed)


def _open_cells(
    cells: Sequence[Cell], states: dict[str, tuple[int, str]], retry_failed: bool
) -> list[Cell]:
    """The ``cells`` without a final result in ``states`` (cell key -> attempt, status);
    with ``retry_failed`` failed and timed-out cells are open again."""
    closed = FINAL - RETRYABLE if retry_failed else FINAL
    return [c for c in cells if c.key not in states or states[c.key][1] not in closed]


def _as_list(seeds: int | Iterable[int]) -> list[int]:
    return [seeds] if isinstance(seeds, int) else list(seeds)


def _progress_bar(total: int, run_id: str, enabled: bool | None) -> Any:
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=run_id, unit="cell", file=sys.stderr, dynamic_ncols=True)
