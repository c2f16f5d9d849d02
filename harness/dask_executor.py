"""The ``dask`` executor: chunks of cells as Dask tasks, rows streamed back to the driver.

Cells travel as a :class:`~harness.cells.Job` (classes and parameters) and
chunks of :class:`~harness.cells.Cell` (indices); each worker regenerates its
samples from (task, instance, seed). Results come back with ``as_completed``
and only the driver writes the store.

Two ways to get workers:

* ``DaskExecutor(scheduler="tcp://host:8786")`` -- an existing cluster
  (``dask scheduler`` + ``dask worker``, or ``dask-jobqueue`` on Slurm/PBS).
* ``DaskExecutor(workers=N)`` -- a ``distributed.LocalCluster`` of ``N``
  processes with one thread each, closed with the executor.

Faults:

* A lost worker: Dask reruns its chunks elsewhere (up to the scheduler's
  ``allowed-failures``). A chunk that keeps killing workers is split into
  single cells; a cell that kills its worker again (twice more, as Dask also
  blames chunks that merely waited there) gets a ``failed`` row.
* Per-cell ``timeout``: the worker runs the chunk in a thread and stops waiting
  at the deadline; the cell gets a ``timeout`` row and the chunk's unstarted
  cells are resubmitted. Generating an instance and the estimator's
  ``prepare()`` have a deadline of their own (``timeout``; for prepare() at
  least the job's ``prepare_timeout``); a prepare() past it times out every
  cell of the chunk waiting on it. Python cannot
  interrupt Numba or torch code, so the stuck thread runs on in the
  background (later chunks on that worker build fresh estimator objects); at
  the end of the run the driver restarts such workers through their nannies
  (a local cluster is simply closed). Killing workers mid-run instead would
  make Dask blame and rerun innocent chunks.
* GPU estimators (``"cuda"`` in their capabilities' devices and a ``device``
  other than ``"cpu"``; for a ``sliced`` estimator, those of its base) run only
  on workers that advertise a ``GPU`` resource
  (``dask worker ... --resources GPU=1``), when the cluster has any.

This module imports ``distributed`` only inside functions, so importing it (as
every worker does to run a chunk) needs nothing beyond the standard library.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.executors import Chunk, Executor, Rows, single_thread_env

if TYPE_CHECKING:
    from harness.cells import Cell, EstimatorSpec, Job

__all__ = [
    "SCHEDULER_CONFIG",
    "ChunkResult",
    "DaskExecutor",
    "local_cluster",
    "run_chunk_on_worker",
]

#: Resource name GPU workers advertise (``dask worker --resources GPU=1``).
GPU_RESOURCE = "GPU"
#: A cell alone in its chunk fails after this many worker deaths while it ran.
KILLS_TO_FAIL = 2
#: Scheduler settings for the local cluster (and recommended for others): a worker
#: holds only the chunks it is running, so a dying worker's KilledWorker blames
#: the chunk that killed it and not an innocent one queued behind it.
SCHEDULER_CONFIG = {"distributed.scheduler.worker-saturation": 1.0}


def local_cluster(workers: int, config: dict[str, Any] | None = None, **options: Any) -> Any:
    """A ``distributed.LocalCluster`` set up as the executor starts its own.

    ``workers`` processes of one thread each (BLAS/OpenMP/Numba pinned to one
    thread), a free dashboard port, quiet logs, and the scheduler created under
    :data:`SCHEDULER_CONFIG` updated with ``config``. ``options`` override the
    ``LocalCluster`` arguments.
    """
    import dask
    from distributed import LocalCluster

    kwargs: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",
        "silence_logs": logging.ERROR,
        "env": single_thread_env(1),
    }
    kwargs.update(options)
    with dask.config.set({**SCHEDULER_CONFIG, **(config or {})}):
        return LocalCluster(**kwargs)


def _cluster_failed(exc: Exception) -> str:
    """The message for a local cluster that did not start."""
    from harness.cells import one_line
    from harness.executors import main_reimported

    text = f"could not start a local Dask cluster ({one_line(exc)})"
    if main_reimported():  # its worker processes import the driver's script again
        text += (
            "; worker processes import the script again, so if it calls harness.run(...) "
            'at import, put the call under `if __name__ == "__main__":`'
        )
    return text


def quiet_interrupted_client() -> None:
    """Silence the client's comm-teardown errors once a run is interrupted.

    Cancelling futures and closing the client while its event-loop thread still
    has sends queued makes tornado log "Exception in callback ... CommClosedError"
    with a traceback (seen on a loaded machine), which would bury the one-line
    "interrupted; continue with ..." message. The interrupt is on its way to
    ending the command, so those loggers are raised to CRITICAL for good.
    """
    for name in ("tornado.application", "distributed"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@dataclass
class ChunkResult:
    """What a worker sends back for one chunk.

    Attributes
    ----------
    rows : list of dict
        Rows of the cells that finished (``ok``, ``failed``, ``skipped``, ``timeout``).
    unfinished : list of int
        Positions in the chunk that were not run; the driver resubmits them.
    stuck : str, optional
        Address of the worker when a cell overran its timeout (its thread still runs).
    """

    rows: Rows
    unfinished: list[int]
    stuck: str | None = None


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def run_chunk_on_worker(job: Job, chunk: Sequence[Cell], timeout: float | None) -> ChunkResult:
    """Run one chunk where Dask put it; enforce the per-cell ``timeout`` if given."""
    from harness.cells import run_chunk

    here = _worker_address()
    if timeout is None:
        return ChunkResult(run_chunk(job, chunk), [])
    return _run_with_deadline(job, chunk, timeout, here)


def _run_with_deadline(
    job: Job, chunk: Sequence[Cell], timeout: float, here: str | None
) -> ChunkResult:
    from harness.cells import (
        _OBJECTS,
        ESTIMATE,
        deadline,
        failed_row,
        iter_chunk,
        one_line,
        timeout_rows,
    )

    inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
    stop = threading.Event()  # set at a timeout: the thread starts no further cell

    def body() -> None:
        try:
            for rows in iter_chunk(job, chunk, lambda *start: inbox.put(("start", *start))):
                if stop.is_set():
                    return
                inbox.put(("rows", rows))
        except BaseException as exc:  # reported to the driver as failed rows
            inbox.put(("error", one_line(exc)))
        inbox.put(("done",))

    threading.Thread(target=body, daemon=True, name="mi-harness-cell").start()
    out: Rows = []
    finished: set[int] = set()
    running: list[int] = []
    infos: list[dict[str, Any] | None] = []
    phase = ESTIMATE
    started = time.monotonic()
    position = {c.key: p for p, c in enumerate(chunk)}
    while True:
        wait = None
        if running:
            limit = deadline(timeout, phase, len(running), job.prepare_timeout)
            wait = max(0.0, started + limit - time.monotonic())
        try:
            msg = inbox.get(timeout=wait)
        except queue.Empty:
            waiting = [p for p in range(len(chunk)) if p not in finished and p not in running]
            elapsed = time.monotonic() - started
            rows, again = timeout_rows(job, chunk, phase, running, infos, waiting, timeout, elapsed)
            out.extend(rows)
            stop.set()
            _OBJECTS.clear()  # later chunks build their own estimators, not the stuck one's
            return ChunkResult(out, again, here or "")
        kind = msg[0]
        if kind == "start":
            running, infos, phase = list(msg[1]), list(msg[2]), msg[3]
            started = time.monotonic()
        elif kind == "rows":
            out.extend(msg[1])
            finished.update(position[r["cell_key"]] for r in msg[1])
            running, infos = [], []
        elif kind == "error":
            text = f"worker error: {msg[1]}"
            rest = [p for p in range(len(chunk)) if p not in finished]
            out.extend(failed_row(job, chunk[p], text) for p in rest)
            finished.update(rest)
        else:  # done
            return ChunkResult(out, [])


async def _restart_workers(addresses: list[str], dask_scheduler: Any = None) -> Any:
    """On the scheduler: restart ``addresses`` through their nannies, without waiting."""
    return await dask_scheduler.restart_workers(
        [a for a in addresses if a in dask_scheduler.workers],
        wait_for_workers=False,
        on_error="return",
        stimulus_id=f"mi-harness-stuck-{time.time()}",
    )


def uses_gpu(spec: EstimatorSpec) -> bool:
    """Whether cells of ``spec`` should go to ``GPU`` workers: the estimator that does the
    work (a ``sliced`` estimator's base) is CUDA-capable and not pinned to CPU."""
    cls, device = spec.devices_asked()[-1]
    caps = getattr(cls, "capabilities", None)
    devices = getattr(caps, "devices", ()) or ()
    return "cuda" in devices and str(device if device is not None else "auto") != "cpu"


class DaskExecutor(Executor):
    """Run chunks of cells on a Dask cluster; the driver alone stores the rows.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). Without it a
        ``LocalCluster`` of ``workers`` processes is started and owned.
    workers : int
        Processes of the local cluster (one thread each); ignored with ``scheduler``.
    timeout : float, optional
        Seconds one cell may take; enforced on the worker (see the module notes).
    connect_timeout : float
        Seconds to wait for the scheduler and for its first worker; a run also stops
        with an error once the cluster has had no worker for this long.

    Notes
    -----
    Nothing starts in ``__init__``; :meth:`start` connects or launches the cluster
    (``make_executor`` calls it, so a bad address fails before a run is recorded).
    """

    name = "dask"
    supports_timeout = True

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 1,
        timeout: float | None = None,
        *,
        connect_timeout: float = 30.0,
    ):
        self.scheduler = scheduler
        self.workers = workers
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.threads = None if scheduler else 1
        self.client: Any = None
        self.cluster: Any = None
        self._warned: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> DaskExecutor:
        """Connect to ``scheduler`` or start the local cluster (idempotent).

        Raises
        ------
        ValueError
            ``distributed`` is missing, the scheduler is unreachable or has no workers.
        """
        if self.client is not None:
            return self
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(
                "executor 'dask' needs the 'distributed' package (pip install 'mi-harness[dask]')"
            ) from None
        if self.scheduler is None:
            try:
                self.cluster = local_cluster(self.workers)
            except Exception as exc:
                raise ValueError(_cluster_failed(exc)) from exc
            self.client = Client(self.cluster)
            return self
        try:
            self.client = Client(self.scheduler, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"could not connect to the Dask scheduler at {self.scheduler}: {exc}"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=self.connect_timeout)
        except (OSError, TimeoutError):
            self.close()
            raise ValueError(
                f"the Dask scheduler at {self.scheduler} has no workers "
                f"(none joined within {self.connect_timeout:g} s)"
            ) from None
        self._warn_crowded()
        return self

    def _warn_crowded(self) -> None:
        """Warn once per worker about workers with several threads (joined by now)."""
        crowded = sorted(
            a for a, n in self.client.nthreads().items() if n > 1 and a not in self._warned
        )
        if crowded:
            self._warned.update(crowded)
            warnings.warn(
                f"{len(crowded)} Dask worker(s) run several threads (e.g. {crowded[0]}); "
                "cells on one worker then share its estimator objects and its process-wide "
                "torch and Numba thread settings, and their thread pools compete for cores: "
                "start workers with --nthreads 1",
                RuntimeWarning,
                stacklevel=3,
            )

    def close(self) -> None:
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    @property
    def slots(self) -> int:
        """Worker threads on the cluster now (how many chunks run at once)."""
        if self.client is None:
            return self.workers
        return max(1, sum(self.client.nthreads().values()))

    def _has_gpu_workers(self) -> bool:
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return any(GPU_RESOURCE in (w.get("resources") or {}) for w in workers.values())

    def _restart_stuck(self, stuck: set[str]) -> None:
        """Restart workers whose timed-out cells still run (a local cluster just closes)."""
        if stuck and self.scheduler is not None and self.client is not None:
            self.client.run_on_scheduler(_restart_workers, sorted(stuck))

    def _completed(self, done: Any) -> Iterator[Any]:
        """Futures of ``done`` as they finish; an error once no worker is left for a while.

        A nanny does not replace a worker that dies while it is still starting (a cell
        that kills every fresh worker at once), so a cluster can run out of workers.
        """
        last_seen = time.monotonic()
        checked = 0.0
        while not done.is_empty():
            if done.has_ready():
                yield next(done)
                continue
            now = time.monotonic()
            if now - checked > 1.0:
                checked = now
                if self.client.nthreads():
                    last_seen = now
                elif now - last_seen > self.connect_timeout:
                    raise RuntimeError(
                        f"the Dask cluster has had no workers for {self.connect_timeout:g} s; "
                        "rows stored so far are kept: continue with --resume once it has"
                    )
            time.sleep(0.002)

    # -- the loop -----------------------------------------------------------------
    def run(self, job: Job, chunks: Iterable[Chunk]) -> Iterator[Rows]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        from harness.cells import failed_row, one_line

        client = self.start().client
        self._warn_crowded()  # workers may have joined since start()
        # which estimators' cells need a GPU worker, asked once per run, not per chunk
        on_gpu = [uses_gpu(spec) for spec in job.estimators] if self._has_gpu_workers() else []
        pending: dict[Any, list[Cell]] = {}
        stuck: set[str] = set()
        kills: dict[str, int] = {}
        done = as_completed()

        def submit(chunk: list[Cell], priority: int = 0) -> None:
            extra = {}
            if on_gpu and on_gpu[chunk[0].estimator]:
                extra["resources"] = {GPU_RESOURCE: 1}
            fut = client.submit(
                run_chunk_on_worker,
                job,
                chunk,
                self.timeout,
                pure=False,
                priority=priority,
                **extra,
            )
            pending[fut] = chunk
            done.add(fut)

        for chunk in chunks:
            if len(chunk):
                submit(list(chunk))
        try:
            for fut in self._completed(done):
                chunk = pending.pop(fut)
                rows: Rows = []
                try:
                    res = fut.result()
                except KilledWorker as exc:
                    # Dask blames every chunk on a dying worker: split chunks, and fail a
                    # cell only when it was alone on its worker's death twice
                    for cell in chunk if len(chunk) > 1 else ():
                        submit([cell], priority=1)
                    if len(chunk) == 1:
                        key = chunk[0].key
                        kills[key] = kills.get(key, 0) + 1
                        if kills[key] < KILLS_TO_FAIL:
                            submit(chunk, priority=1)
                        else:
                            text = f"worker died running this cell ({one_line(exc)})"
                            rows = [failed_row(job, chunk[0], text)]
                except Exception as exc:
                    if fut.status != "error":  # its result was lost with a worker: rerun
                        submit(chunk, priority=1)
                        continue
                    text = f"executor error: {one_line(exc)}"  # unpicklable, broken worker...
                    rows = [failed_row(job, c, text) for c in chunk]
                else:
                    rows = res.rows
                    if res.unfinished:  # after a timeout: the rest of the chunk runs again
                        submit([chunk[p] for p in res.unfinished], priority=1)
                    if res.stuck is not None:
                        stuck.add(res.stuck)
                finally:
                    fut.release()
                if rows:
                    yield rows
        except KeyboardInterrupt:
            quiet_interrupted_client()
            raise
        finally:
            if pending:
                client.cancel(list(pending), force=True)
            self._restart_stuck(stuck)
