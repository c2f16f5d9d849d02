"""Executors: where chunks of cells run. One seam, three shapes.

Every executor has ``run(job, chunks) -> iterator of row lists``; the runner's
loop over that iterator stores rows as they arrive, whatever runs them.

* :class:`SerialExecutor` -- in the driver process (``workers=1``, no timeout).
* :class:`ProcessExecutor` -- child processes the driver can kill: a pool of
  ``workers`` and a per-cell ``timeout``. Python cannot interrupt Numba or torch
  code, so a cell past its deadline costs its worker, which is replaced. The
  timeout covers generating a cell's instance, the estimator's ``prepare()``
  (at least the job's ``prepare_timeout``) and the estimate, each with its own
  deadline (:func:`harness.cells.deadline`).
* :class:`FuturesExecutor` -- any ``concurrent.futures.Executor``
  (``ProcessPoolExecutor``, Dask's ``Client.get_executor()``, ...), fed
  chunks and drained with ``as_completed``. No per-cell timeout there.
* :class:`~harness.dask_executor.DaskExecutor` -- a Dask cluster, existing
  (``scheduler``) or local (``workers`` processes), with per-cell timeouts.

:func:`make_executor` maps names to executors (:data:`EXECUTORS`): ``local``
and ``dask``.

Worker processes load the job's classes by reference (module and name), so
:meth:`Executor.check_classes` refuses, before a run starts, classes they could
not import (one defined in the ``__main__`` of a notebook, ``python -c`` or
stdin); a worker that still cannot unpickle a job reports why, and one that
exits with :data:`RERUN_EXIT_CODE` (its import of the driver's script ran
``harness.run`` again) stops the run with a
:class:`~harness.cells.WorkerSetupError` instead of failing every cell.

This module imports only the standard library at the top so that a spawned
worker can set its thread limits before NumPy, Numba or torch load.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.cells import Cell, Job

__all__ = [
    "EXECUTORS",
    "MAX_TIMEOUT",
    "RERUN_EXIT_CODE",
    "Executor",
    "FuturesExecutor",
    "ProcessExecutor",
    "SerialExecutor",
    "check_timeout",
    "in_worker",
    "main_reimported",
    "make_executor",
    "single_thread_env",
    "worker_import_problem",
]

Rows = list[dict[str, Any]]
Chunk = Sequence["Cell"]

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


#: Exit status of a worker process that was about to run ``harness.run`` itself: the
#: driver's main script, which a spawned worker imports again, calls it without an
#: ``if __name__ == "__main__":`` guard (see :func:`harness.runner.run`). The driver
#: stops the run with one error instead of failing every cell.
RERUN_EXIT_CODE = 86

RERUN_MESSAGE = (
    "worker processes re-ran the script's harness.run(...) at import (a worker process "
    "imports the main script again before it runs any cell); put the call under "
    '`if __name__ == "__main__":`'
)

#: What a class the workers cannot load needs (for error messages).
IMPORTABLE_HINT = (
    "worker processes must be able to import the estimator and task classes: define them "
    "at the top level of a module or a script file, or run with workers=1 and no timeout"
)

#: Set in a process running :func:`_worker_main`.
_IN_WORKER = False


def in_worker() -> bool:
    """Whether this process is a :class:`ProcessExecutor` worker."""
    return _IN_WORKER


def main_reimported() -> bool:
    """Whether spawned children re-create the ``__main__`` module (as multiprocessing's
    spawn does: by module name after ``python -m``, else from the script's file)."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        return name != "__main__" and not name.endswith(".__main__")
    path = getattr(main, "__file__", None)
    if path is None or _missing_main_file() is not None:
        return False
    return os.path.splitext(os.path.basename(path))[0] != "ipython"


def _missing_main_file() -> str | None:
    """``__main__.__file__`` when spawn would run that file in a child but it is no
    file (``<stdin>`` for ``python -``), else None."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None) is not None:
        return None
    path = getattr(main, "__file__", None)
    if not isinstance(path, str):
        return None
    origin = mp.process.ORIGINAL_DIR
    full = path if os.path.isabs(path) or origin is None else os.path.join(origin, path)
    return None if os.path.isfile(full) else path


def worker_import_problem(cls: type, start_method: str = "spawn") -> str | None:
    """Why a worker process started with ``start_method`` could not load ``cls``, or None.

    Classes travel to workers by reference (module and name): a class must pickle,
    and one defined in ``__main__`` needs a main module the worker imports again (a
    script file or ``python -m module``; not an interactive session, a notebook,
    ``python -c``, stdin or a package's ``__main__.py``). A forked worker has the
    driver's modules already.
    """
    try:
        ForkingPickler.dumps(cls)  # as the pipe to a worker pickles it
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}"
        return f"{cls.__qualname__} cannot be sent to worker processes ({why})"
    if start_method != "fork" and cls.__module__ == "__main__" and not main_reimported():
        return (
            f"{cls.__qualname__} is defined in __main__ of an interactive session, notebook, "
            "`python -c`, stdin or a package's __main__.py"
        )
    return None


def _check_classes(classes: Iterable[type], start_method: str) -> None:
    for cls in classes:
        problem = worker_import_problem(cls, start_method)
        if problem is not None:
            raise ValueError(f"{problem}; {IMPORTABLE_HINT}")


#: Longest per-cell timeout accepted, seconds (about 11.6 days): the process
#: waits take it as a finite number of seconds.
MAX_TIMEOUT = 1e6


def check_timeout(timeout: float | None, name: str = "timeout") -> None:
    """Raise ValueError unless ``timeout`` is None or a number of seconds in (0, MAX_TIMEOUT]
    (``name``: what the messages call it)."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValueError(f"{name} must be a number of seconds; got {timeout!r}")
    if not 0 < timeout <= MAX_TIMEOUT:  # also refuses NaN and inf
        raise ValueError(
            f"{name} must be > 0 and at most {MAX_TIMEOUT:g} seconds (or none); got {timeout}"
        )


def single_thread_env(threads: int = 1) -> dict[str, str]:
    """Environment variables limiting BLAS, OpenMP, Numba and torch to ``threads``."""
    return {k: str(threads) for k in THREAD_VARS}


class Executor:
    """Runs chunks of cells of one job and yields rows as cells finish."""

    name = "executor"
    supports_timeout = False

    def run(self, job: Job, chunks: Iterable[Chunk]) -> Iterator[Rows]:
        raise NotImplementedError

    def check_classes(self, classes: Iterable[type]) -> None:
        """Raise ValueError if the workers could not load one of ``classes``
        (called before a run starts; the default accepts any)."""

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every cell in the calling process, one after another."""

    name = "serial"

    def run(self, job: Job, chunks: Iterable[Chunk]) -> Iterator[Rows]:
        from harness.cells import iter_chunk

        for chunk in chunks:
            yield from iter_chunk(job, chunk)


class FuturesExecutor(Executor):
    """Adapter for any ``concurrent.futures.Executor``: one future per chunk.

    Parameters
    ----------
    pool : concurrent.futures.Executor
        Where chunks run; must be able to pickle the job when it is remote.
    owns : bool
        Shut the pool down in :meth:`close`.
    on_close : callable, optional
        Called once by :meth:`close` (e.g. a Dask client's ``close``).
    """

    name = "futures"

    def __init__(
        self,
        pool: cf.Executor,
        *,
        owns: bool = False,
        on_close: Callable[[], Any] | None = None,
    ):
        self.pool = pool
        self.owns = owns
        self.on_close = on_close

    def check_classes(self, classes: Iterable[type]) -> None:
        if isinstance(self.pool, cf.ProcessPoolExecutor):
            ctx = getattr(self.pool, "_mp_context", None) or mp.get_context()
            _check_classes(classes, ctx.get_start_method())

    def run(self, job: Job, chunks: Iterable[Chunk]) -> Iterator[Rows]:
        from harness.cells import failed_row, one_line, run_chunk

        futures = {self.pool.submit(run_chunk, job, chunk): chunk for chunk in chunks}
        try:
            for fut in cf.as_completed(futures):
                try:
                    rows = fut.result()
                except Exception as exc:  # the executor itself failed (pickling, lost worker)
                    msg = f"executor error: {one_line(exc)}"
                    rows = [failed_row(job, c, msg) for c in futures[fut]]
                yield rows
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        if self.owns:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.on_close is not None:
            self.on_close()
            self.on_close = None


# -- killable worker processes -------------------------------------------------


def _worker_main(conn: Connection, env: dict[str, str], threads: int | None) -> None:
    """Body of a worker process: run chunks sent by the driver, stream back messages.

    A job the worker cannot unpickle (a class it cannot import) is reported as
    ``("unloadable", message)`` rather than killing the worker.
    """
    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's business
    os.environ.update(env)  # before NumPy/Numba/torch are imported below
    from harness.cells import iter_chunk, one_line

    if threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)

    def on_start(positions: list[int], infos: list[dict[str, Any] | None], phase: str) -> None:
        conn.send(("start", positions, infos, phase))

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        except Exception as exc:  # unpickling it: e.g. AttributeError: Can't get attribute 'X'
            conn.send(("unloadable", one_line(exc)))
            conn.send(("done",))
            continue
        if msg is None:
            return
        job, chunk = msg
        try:
            for rows in iter_chunk(job, chunk, on_start):
                conn.send(("rows", rows))
        except Exception as exc:
            conn.send(("error", one_line(exc)))
        conn.send(("done",))


@dataclass
class _Worker:
    proc: Any  # multiprocessing.Process
    conn: Connection
    chunk: list[Any] | None = None
    finished: set[int] = field(default_factory=set)
    running: list[int] = field(default_factory=list)
    infos: list[dict[str, Any] | None] = field(default_factory=list)
    started: float = 0.0
    phase: str = "estimate"  # of the running cells: one of harness.cells.PHASES

    def unfinished(self) -> list[int]:
        """Positions of the current chunk neither finished nor running."""
        busy = set(self.running) | self.finished
        return [p for p in range(len(self.chunk or ())) if p not in busy]


class ProcessExecutor(Executor):
    """Worker processes with per-cell deadlines; a stuck worker is killed and replaced.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    timeout : float, optional
        Seconds one cell may take (a batch of ``m`` cells gets ``m * timeout``);
        past it the cell is recorded as ``"timeout"``. Generating a cell's
        instance gets ``timeout``, and the estimator's ``prepare()`` at least
        the job's ``prepare_timeout``; a prepare() past its deadline times out
        every cell of the chunk that waits on it.
    threads : int, optional
        Limit each worker to this many BLAS/OpenMP/Numba/torch threads.
    start_method : str
        ``multiprocessing`` start method; ``"spawn"`` keeps workers clean of the
        driver's thread pools.
    """

    name = "processes"
    supports_timeout = True

    def __init__(
        self,
        workers: int = 1,
        timeout: float | None = None,
        *,
        threads: int | None = None,
        start_method: str = "spawn",
    ):
        if workers < 1:
            raise ValueError(f"workers must be >= 1; got {workers}")
        check_timeout(timeout)
        self.workers = workers
        self.timeout = timeout
        self.threads = threads
        self.env = single_thread_env(threads) if threads is not None else {}
        self.ctx = mp.get_context(start_method)
        self._pool: list[_Worker] = []

    def check_classes(self, classes: Iterable[type]) -> None:
        _check_classes(classes, self.ctx.get_start_method())

    # -- worker management ---------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=_worker_main,
            args=(child, self.env, self.threads),
            daemon=True,
            name="mi-harness-worker",
        )
        # a spawned child re-runs the driver script's imports before _worker_main sets
        # the thread variables: it must inherit them (Numba reads its count at import)
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        # spawn runs __main__.__file__ in the child; with `python -` that is "<stdin>",
        # no file, and every child would die: hide it (classes of that __main__ are
        # refused up front by check_classes)
        main = sys.modules.get("__main__")
        hidden = None
        if self.ctx.get_start_method() != "fork" and _missing_main_file() is not None:
            hidden = main.__dict__.pop("__file__")
        try:
            proc.start()
        finally:
            if hidden is not None:
                main.__file__ = hidden
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        child.close()
        worker = _Worker(proc, parent)
        self._pool.append(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        if worker.proc.is_alive():
            worker.proc.kill()
        worker.proc.join(timeout=5)
        worker.conn.close()
        self._pool.remove(worker)

    def close(self) -> None:
        for w in list(self._pool):
            if w.chunk is None and w.proc.is_alive():
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + 2.0
        for w in list(self._pool):
            if w.chunk is None:
                w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            self._discard(w)

    # -- the loop ----------------------------------------------------------------
    def run(self, job: Job, chunks: Iterable[Chunk]) -> Iterator[Rows]:
        from harness.cells import failed_row, make_row

        pending: deque[list[Any]] = deque(list(c) for c in chunks if len(c))
        try:
            while pending or any(w.chunk is not None for w in self._pool):
                self._assign(job, pending)
                busy = [w for w in self._pool if w.chunk is not None]
                ready = wait([w.conn for w in busy], self._wait_time(job, busy))
                for conn in ready:
                    worker = next(w for w in busy if w.conn is conn)
                    yield from self._receive(job, worker, pending, failed_row)
                yield from self._expire(job, pending, make_row)
        finally:
            for w in list(self._pool):
                if w.chunk is not None:  # interrupted mid-chunk: its state is unknown
                    self._discard(w)

    def _assign(self, job: Job, pending: deque[list[Any]]) -> None:
        for w in [w for w in self._pool if w.chunk is None and not w.proc.is_alive()]:
            self._discard(w)  # died while idle (e.g. the OOM killer): a new one replaces it
        idle = [w for w in self._pool if w.chunk is None]
        while pending and (idle or len(self._pool) < self.workers):
            worker = idle.pop() if idle else self._spawn()
            chunk = pending.popleft()
            worker.chunk, worker.finished, worker.running = chunk, set(), []
            worker.started = time.monotonic()
            try:
                worker.conn.send((job, chunk))
            except OSError:  # it died just now: the chunk waits for another worker
                pending.appendleft(chunk)
                worker.proc.join(timeout=5)
                self._check_rerun(worker)
                self._discard(worker)

    def _limit(self, job: Job, worker: _Worker) -> float:
        """Seconds the worker's running cells may spend in their phase."""
        from harness.cells import deadline

        assert self.timeout is not None
        return deadline(self.timeout, worker.phase, len(worker.running), job.prepare_timeout)

    def _wait_time(self, job: Job, busy: list[_Worker]) -> float | None:
        if self.timeout is None:
            return None
        ends = [w.started + self._limit(job, w) for w in busy if w.running]
        return max(0.0, min(ends) - time.monotonic()) if ends else None

    def _receive(
        self, job: Job, worker: _Worker, pending: deque[list[Any]], failed_row: Callable[..., Any]
    ) -> Iterator[Rows]:
        chunk = worker.chunk or []
        try:
            msg = worker.conn.recv()
        except (EOFError, OSError):
            yield from self._died(job, worker, pending, failed_row)
            return
        kind = msg[0]
        if kind == "start":
            worker.running, worker.infos, worker.phase = list(msg[1]), list(msg[2]), msg[3]
            worker.started = time.monotonic()
        elif kind == "rows":
            rows = msg[1]
            keys = {r["cell_key"] for r in rows}
            worker.finished.update(p for p, c in enumerate(chunk) if c.key in keys)
            worker.running, worker.infos = [], []
            yield rows
        elif kind == "error":  # the chunk loop itself broke: every cell without a row fails
            text = f"worker error: {msg[1]}"
            running = zip(worker.running, worker.infos, strict=True)
            yield [failed_row(job, chunk[p], text, i) for p, i in running] + [
                failed_row(job, chunk[p], text) for p in worker.unfinished()
            ]
            worker.finished.update(range(len(chunk)))
            worker.running, worker.infos = [], []
        elif kind == "done":
            worker.chunk, worker.running, worker.infos = None, [], []
        elif kind == "unloadable":  # every worker would fail alike: stop the run
            from harness.cells import WorkerSetupError

            raise WorkerSetupError(
                f"worker processes could not load the job: {msg[1]}; define the estimator "
                "and task classes at the top level of a module or a script file (not under "
                '`if __name__ == "__main__":`), where worker processes can import them, or '
                "run with workers=1 and no timeout"
            )

    def _died(
        self, job: Job, worker: _Worker, pending: deque[list[Any]], failed_row: Callable[..., Any]
    ) -> Iterator[Rows]:
        """Rows for the cells a dead worker was running; its other cells run again."""
        chunk = worker.chunk or []
        worker.proc.join(timeout=5)
        self._check_rerun(worker)
        code = worker.proc.exitcode
        positions = worker.running or worker.unfinished()[:1]
        infos = worker.infos if worker.running else [None] * len(positions)
        phase = worker.phase if worker.running else "estimate"
        rest = [chunk[p] for p in worker.unfinished() if p not in positions]
        self._discard(worker)
        if rest:
            pending.appendleft(rest)
        if len(positions) > 1:
            # a batch died: each of its cells runs again alone, so only a cell
            # that kills a worker by itself is failed
            pending.extendleft([chunk[p]] for p in reversed(positions))
            return
        where = {"instance": " generating the instance", "prepare": " in prepare()"}
        msg_text = f"worker process died (exit code {code}){where.get(phase, '')}"
        yield [
            # the driver does not generate an instance whose generation killed a worker
            failed_row(job, chunk[p], msg_text, i, regenerate=phase != "instance")
            for p, i in zip(positions, infos, strict=True)
        ]

    def _check_rerun(self, worker: _Worker) -> None:
        """Stop the run if ``worker`` exited because it was about to run ``harness.run``."""
        if worker.proc.exitcode == RERUN_EXIT_CODE:
            from harness.cells import WorkerSetupError

            self._discard(worker)
            raise WorkerSetupError(RERUN_MESSAGE) from None

    def _expire(
        self, job: Job, pending: deque[list[Any]], make_row: Callable[..., Any]
    ) -> Iterator[Rows]:
        from harness.cells import timeout_rows

        if self.timeout is None:
            return
        now = time.monotonic()
        for worker in [w for w in self._pool if w.chunk is not None and w.running]:
            if now - worker.started < self._limit(job, worker) or worker.conn.poll():
                continue  # in time, or its rows wait to be read (the driver was late)
            chunk = worker.chunk or []
            rows, again = timeout_rows(
                job,
                chunk,
                worker.phase,
                worker.running,
                worker.infos,
                worker.unfinished(),
                self.timeout,
                now - worker.started,
                make_row,
            )
            self._discard(worker)
            if again:
                pending.appendleft([chunk[p] for p in again])
            yield rows


# -- names ----------------------------------------------------------------------


def _local(workers: int, timeout: float | None, scheduler: str | None) -> Executor:
    if scheduler is not None:
        raise ValueError("a scheduler address applies only to executor 'dask'")
    if workers == 1 and timeout is None:
        return SerialExecutor()
    # One thread per worker when several share the machine; a lone worker keeps them all.
    return ProcessExecutor(workers, timeout, threads=1 if workers > 1 else None)


def _dask(workers: int, timeout: float | None, scheduler: str | None) -> Executor:
    from harness.dask_executor import DaskExecutor

    return DaskExecutor(scheduler, workers, timeout).start()


#: Executor name -> factory(workers, timeout, scheduler).
EXECUTORS: dict[str, Callable[[int, float | None, str | None], Executor]] = {
    "local": _local,
    "dask": _dask,
}


def make_executor(
    executor: str | cf.Executor | Executor = "local",
    workers: int = 1,
    timeout: float | None = None,
    *,
    scheduler: str | None = None,
) -> Executor:
    """An :class:`Executor` for a name, a ``concurrent.futures`` executor or an Executor.

    Parameters
    ----------
    executor : str, concurrent.futures.Executor or Executor
        ``"local"`` (serial, or killable worker processes when ``workers > 1`` or a
        ``timeout`` is given), ``"dask"``, or an executor object.
    workers : int
        Worker processes for ``"local"``, or of the local Dask cluster started
        by ``"dask"`` when no ``scheduler`` is given.
    timeout : float, optional
        Seconds one cell may take.
    scheduler : str, optional
        Address of a running Dask scheduler for ``"dask"``.

    Raises
    ------
    ValueError
        Unknown name, ``workers < 1``, a timeout the executor cannot enforce, or a
        Dask cluster that cannot be reached.
    """
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers}")
    check_timeout(timeout)
    if isinstance(executor, Executor):
        ex = executor
        own = getattr(ex, "timeout", None)
        if timeout is not None and own != timeout:
            raise ValueError(
                f"executor {ex.name!r} has its own timeout ({own}); give the timeout to the "
                "executor object, not to run()"
            )
    elif isinstance(executor, cf.Executor):
        ex = FuturesExecutor(executor)
    elif isinstance(executor, str) and executor in EXECUTORS:
        return EXECUTORS[executor](int(workers), timeout, scheduler)
    else:
        raise ValueError(
            f"unknown executor {executor!r}; available: {', '.join(sorted(EXECUTORS))}"
        )
    if timeout is not None and not ex.supports_timeout:
        raise ValueError(f"executor {ex.name!r} cannot enforce a per-cell timeout")
    return ex
