"""``harness.run``: build the grid, run it on an executor, store rows as they come.

The grid is estimator x instance x seed. Every spec is validated before any
work starts; cells are regenerated wherever they run from (task, instance
index, seed), so only classes, parameters and indices travel. Rows are
committed to the store as each cell finishes; ``resume`` re-creates the grid
from the stored run record and runs only the cells without a final row.
"""

from __future__ import annotations

import json
import math
import operator
import os
import secrets
import shlex
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

import pandas as pd

import estimators as estimator_registry
import tasks as task_registry
from harness.cells import Cell, EstimatorSpec, Job, TaskSpec, make_cell
from harness.executors import Executor, make_executor
from harness.interface import Estimator, SpecError, Task, param_defaults
from harness.registry import format_spec
from results.export import to_frame
from results.store import Store, StoreError, new_run_id, now

__all__ = ["run", "plan", "make_chunks", "print_summary"]

#: Statuses that close a cell for ``resume`` (failed/timeout reopen with ``retry_failed``).
FINAL = frozenset({"ok", "skipped", "failed", "timeout"})
RETRYABLE = frozenset({"failed", "timeout"})
DEFAULT_BATCH = 16


def _roundtrip(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as they come back from the store (JSON types)."""
    from results.schema import dumps

    return json.loads(dumps(params))


def _label(name: str, cls: type, params: dict[str, Any]) -> str:
    defaults = param_defaults(cls)
    changed = {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}
    return format_spec(name, changed)


def _estimator_spec(spec: str | Estimator, device: str) -> EstimatorSpec:
    obj = estimator_registry.make(spec, device=device)
    if not isinstance(obj, Estimator):
        raise SpecError(f"not an estimator: {obj!r}")
    if not isinstance(spec, str):
        obj._check_params()
    name = obj.name or type(obj).__name__.lower()
    params = _roundtrip(obj.get_params())
    return EstimatorSpec(name, type(obj), params, _label(name, type(obj), params))


def _task_spec(spec: str | Task, n: int | None) -> TaskSpec:
    if isinstance(spec, str):
        obj = task_registry.make(spec, n=n) if n is not None else task_registry.make(spec)
    elif isinstance(spec, Task):
        obj = spec
        if n is not None and "n" in param_defaults(type(obj)) and obj.get_params()["n"] != n:
            obj = type(obj)(**{**obj.get_params(), "n": n})
        obj._check_params()
    else:
        raise SpecError(f"task must be a spec string or a Task; got {spec!r}")
    name = obj.name or type(obj).__name__.lower()
    return TaskSpec(name, type(obj), _roundtrip(obj.get_params()))


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    items = [seeds] if isinstance(seeds, int) else list(seeds)
    if not items:
        raise SpecError("seeds must name at least one seed")
    out = []
    for s in items:
        try:
            value = operator.index(s)
        except TypeError:
            value = -1
        if isinstance(s, bool) or value < 0:
            raise SpecError(f"seeds must be non-negative integers; got {s!r}")
        out.append(value)
    if len(set(out)) != len(out):
        raise SpecError(f"seeds repeat: {out}")
    return out


def _n_instances(task: TaskSpec) -> int:
    try:
        count = int(task.build().n_instances())
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"task {task.name}: {type(exc).__name__}: {exc}") from exc
    if count < 1:
        raise SpecError(f"task {task.name} has no instances with parameters {task.params}")
    return count


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

    Batched estimators get chunks of their ``batch_size`` (default 16), which
    become ``estimate_batch`` calls; others get chunks small enough to keep
    ``workers`` busy to the end, large enough to amortise messaging.
    """
    by_est: dict[int, list[Cell]] = {}
    for c in cells:
        by_est.setdefault(c.estimator, []).append(c)
    queues = []
    for e, group in by_est.items():
        spec = job.estimators[e]
        if spec.batched:
            size = int(spec.params.get("batch_size") or DEFAULT_BATCH)
        elif workers > 1:
            size = min(32, max(1, math.ceil(len(group) / (workers * 4))))
        else:
            size = 64
        queues.append([group[i : i + size] for i in range(0, len(group), size)])
    out: list[list[Cell]] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        out.extend(q[round_] for q in queues if round_ < len(q))
    return out


def _from_record(rec: dict[str, Any]) -> tuple[list[EstimatorSpec], TaskSpec]:
    ests = []
    for e in rec["estimators"]:
        cls = estimator_registry.registry.get_class(e["name"])
        ests.append(EstimatorSpec(e["name"], cls, e["params"], e["label"]))
    cls = task_registry.registry.get_class(rec["task"])
    return ests, TaskSpec(rec["task"], cls, rec["task_params"])


def run(
    estimators: Sequence[str | Estimator] | str | Estimator | None = None,
    task: str | Task | None = None,
    seeds: int | Iterable[int] = (0,),
    n: int | None = None,
    executor: str | Executor | Any = "local",
    workers: int | None = None,
    timeout: float | None = None,
    store: str | os.PathLike[str] | Store | None = None,
    resume: str | None = None,
    device: str = "auto",
    progress: bool = True,
    run_id: str | None = None,
    retry_failed: bool = False,
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
        Sample seeds; each instance is drawn once per seed.
    n : int, optional
        Sample size, overriding the task's default.
    executor : str, Executor or concurrent.futures.Executor
        ``"local"`` (in-process, or worker processes when ``workers > 1`` or a
        ``timeout`` is set), an :class:`~harness.executors.Executor`, or any
        ``concurrent.futures`` executor.
    workers : int, optional
        Worker processes for ``"local"`` (default 1; on resume, the stored value).
    timeout : float, optional
        Seconds per cell; a slower cell is recorded as ``"timeout"``. On resume,
        ``None`` keeps the stored value.
    store : str, path or Store, optional
        The results store; default ``$MI_HARNESS_STORE`` or
        ``./runs/mi-harness.sqlite``.
    resume : str, optional
        Run id (or ``"latest"``) to continue: its grid is rebuilt from the store and
        only cells without a final row run. ``estimators``, ``task``, ``seeds``,
        ``n`` and ``device`` must then be left out.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"`` for estimators that take a device.
    progress : bool
        Progress bar on stderr (when it is a terminal) and a summary at the end.
    run_id : str, optional
        Id for a new run (default: timestamp plus random suffix).
    retry_failed : bool
        With ``resume``, also rerun cells whose latest attempt failed or timed out.
    argv : sequence of str, optional
        Command line to record (the CLI passes its own).

    Returns
    -------
    pandas.DataFrame
        One row per cell (latest attempt), the result schema plus one column
        per instance meta key; ``df.attrs`` holds ``run_id`` and ``store``.

    Raises
    ------
    SpecError
        A spec, parameter, seed list or executor setting is invalid; raised before
        anything runs or is stored.
    """
    if isinstance(estimators, (str, Estimator)):
        estimators = [estimators]
    own_store = not isinstance(store, Store)
    st = Store(store) if own_store else store
    try:
        return _run(
            st,
            estimators,
            task,
            seeds,
            n,
            executor,
            workers,
            timeout,
            resume,
            device,
            progress,
            run_id,
            retry_failed,
            argv,
        )
    finally:
        if own_store:
            st.close()


def _run(
    st: Store,
    estimators: Sequence[str | Estimator] | None,
    task: str | Task | None,
    seeds: int | Iterable[int],
    n: int | None,
    executor: Any,
    workers: int | None,
    timeout: float | None,
    resume: str | None,
    device: str,
    progress: bool,
    run_id: str | None,
    retry_failed: bool,
    argv: Sequence[str] | None,
) -> pd.DataFrame:
    from harness import environment

    if resume is not None:
        if estimators or task is not None or n is not None or tuple(_as_list(seeds)) != (0,):
            raise SpecError(
                "resume takes the grid from the stored run; leave out estimators, task, seeds and n"
            )
        if run_id is not None:
            raise SpecError("give either resume or run_id, not both")
        rec = st.get_run(resume)
        run_id = rec["run_id"]
        est_specs, task_spec = _from_record(rec)
        seed_list = rec["seeds"]
        workers = rec["workers"] if workers is None else workers
        timeout = rec["timeout"] if timeout is None else timeout
    else:
        if not estimators:
            raise SpecError("give at least one estimator")
        if task is None:
            raise SpecError("give a task")
        est_specs = [_estimator_spec(s, device) for s in estimators]
        seen: dict[tuple[str, str], str] = {}
        for e in est_specs:
            key = (e.name, json.dumps(e.params, sort_keys=True))
            if key in seen:
                raise SpecError(f"estimator {e.label!r} is given twice")
            seen[key] = e.label
        task_spec = _task_spec(task, n)
        seed_list = _seeds(seeds)
        workers = 1 if workers is None else workers
        if run_id is not None and st.has_run(run_id):
            raise SpecError(f"run {run_id} already exists; use resume={run_id!r} to continue it")
    try:
        ex = make_executor(executor, workers, timeout)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    count = _n_instances(task_spec)

    run_id = run_id or new_run_id()
    job = Job(f"{run_id}:{secrets.token_hex(4)}", task_spec, tuple(est_specs))
    cells = plan(job, seed_list, count)
    states = st.cell_states(run_id) if resume is not None else {}
    closed = FINAL - RETRYABLE if retry_failed else FINAL
    todo = [c for c in cells if c.key not in states or states[c.key][1] not in closed]
    attempts = {c.key: states.get(c.key, (0, ""))[0] + 1 for c in todo}

    argv = list(sys.argv if argv is None else argv)
    threads = 1 if getattr(ex, "threads", None) == 1 else None
    if resume is None:
        record = {
            "run_id": run_id,
            "created": now(),
            "command": shlex.join(argv),
            "argv": argv,
            "task": task_spec.name,
            "task_params": task_spec.params,
            "estimators": [
                {"name": e.name, "params": e.params, "label": e.label} for e in est_specs
            ],
            "seeds": seed_list,
            "n": task_spec.params.get("n"),
            "device": device,
            "executor": executor if isinstance(executor, str) else type(executor).__name__,
            "workers": workers,
            "timeout": timeout,
            "started": now(),
            "status": "running",
            "sessions": 1,
            **environment.collect(threads),
        }
        st.create_run(record)
    else:
        st.update_run(
            run_id,
            status="running",
            finished=None,
            sessions=rec["sessions"] + 1,
            workers=workers,
            timeout=timeout,
        )

    bar = _progress_bar(len(todo), run_id, progress)
    status = "crashed"
    try:
        with ex:
            for rows in ex.run(job, make_chunks(job, todo, workers)):
                for row in rows:
                    row["run_id"] = run_id
                    row["attempt"] = attempts[row["cell_key"]]
                st.append(rows)
                if bar is not None:
                    bar.update(len(rows))
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        if bar is not None:
            bar.close()
        try:
            st.update_run(run_id, status=status, finished=now())
        except StoreError:
            pass  # keep the original exception
    df = to_frame(st.rows(run_id))
    df.attrs.update(run_id=run_id, store=str(st.path))
    if progress:
        print_summary(df, sys.stdout)
    return df


def _as_list(seeds: int | Iterable[int]) -> list[int]:
    return [seeds] if isinstance(seeds, int) else list(seeds)


def _progress_bar(total: int, run_id: str, enabled: bool) -> Any:
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=run_id, unit="cell", file=sys.stderr, dynamic_ncols=True)


def print_summary(df: pd.DataFrame, file: IO[str] | None = None) -> None:
    """Print the metric tables of a run, then where its rows are stored."""
    from harness.metrics import format_summary, summarize

    out = file or sys.stdout
    if len(df):
        print(format_summary(summarize(df)), file=out)
    run_id = df.attrs.get("run_id")
    store = df.attrs.get("store")
    if run_id:
        print(f"\nrun {run_id}: {len(df)} cells stored in {store}", file=out)
