"""Worker-process pitfalls of ``harness.run`` from a user's own code.

* A script that calls ``harness.run(...)`` without an ``if __name__ ==
  "__main__":`` guard: spawned workers import the script again and would run it
  there. The workers must leave the store alone and the driver must stop with
  one error (not fail every cell, not return normally).
* A class defined in ``python -c``, stdin or a notebook: workers cannot import
  it, which is said before anything runs; a job a worker cannot unpickle is
  reported with the worker's own exception text.
* Resuming with an estimator object whose parameters differ from the run's.

The scripts run in child processes (``sys.executable``, cwd ``tmp_path``) and
use the tiny task of ``fake_plugins``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fake_plugins as fp
import numpy as np
import pytest

import harness
from harness.cells import WorkerSetupError
from harness.executors import RERUN_EXIT_CODE
from harness.interface import Estimator, SpecError
from results.store import Store


@pytest.fixture(autouse=True, scope="module")
def _fakes():
    fp.register()
    yield
    fp.unregister()


TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

HEADER = f"""\
import sys

sys.path.insert(0, {str(TESTS)!r})
import numpy as np

import fake_plugins
import harness
from harness.interface import Estimator

fake_plugins.register()
"""

CLASS = """\
class ScriptCorr(Estimator):
    name = "script_corr"

    def _estimate(self, x, y):
        return fake_plugins.corr_mi(x, y)
"""


def _call(**kw: object) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return (
        'harness.run(estimators=[ScriptCorr()], task="fake_gauss:n=50", store="runs.sqlite", '
        f'run_id="mine", progress=False, {args})'
    )


def _python(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
    }
    env.pop("MI_HARNESS_STORE", None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _runs(tmp_path: Path) -> list[dict]:
    with Store(tmp_path / "runs.sqlite", create=False) as st:
        return st.list_runs()


def _last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


# -- 1. a script without the __main__ guard ----------------------------------------


@pytest.mark.parametrize("kw", [{"workers": 2}, {"timeout": 60.0}], ids=["workers", "timeout"])
def test_an_unguarded_script_stops_with_one_error_and_leaves_no_junk_runs(
    tmp_path: Path, kw: dict
) -> None:
    (tmp_path / "bench.py").write_text(
        f"{HEADER}\n\n{CLASS}\n\ndf = {_call(**kw)}\nprint('RETURNED')\n"
    )
    done = _python(tmp_path, "bench.py")
    assert done.returncode == 1, done.stderr
    assert "RETURNED" not in done.stdout  # the call raised instead of returning failed rows
    assert _last_line(done.stderr) == (
        "harness.cells.WorkerSetupError: worker processes re-ran the script's harness.run(...) "
        "at import (a worker process imports the main script again before it runs any cell); "
        'put the call under `if __name__ == "__main__":`'
    )
    # each worker that got as far as the call said so in one line, and nothing else
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("mi-harness: worker process")]
    assert lines and all('outside `if __name__ == "__main__":`' in ln for ln in lines)
    assert "bootstrapping phase" not in done.stderr
    # the driver's run only, ended and without rows; no run of a worker
    (run,) = _runs(tmp_path)
    assert (run["run_id"], run["status"]) == ("mine", "crashed")
    with Store(tmp_path / "runs.sqlite", create=False) as st:
        assert st.rows("mine") == []
        assert [s["status"] for s in st.sessions("mine")] == ["crashed"]


def test_an_unguarded_script_on_a_local_dask_cluster_is_told_why_it_did_not_start(
    tmp_path: Path,
) -> None:
    pytest.importorskip("distributed")
    call = _call(executor="dask", workers=1)
    (tmp_path / "bench.py").write_text(f"{HEADER}\n\n{CLASS}\n\ndf = {call}\n")
    done = _python(tmp_path, "bench.py")
    assert done.returncode == 1, done.stderr
    last = _last_line(done.stderr)
    assert last.startswith("harness.interface.SpecError: could not start a local Dask cluster (")
    assert last.endswith('at import, put the call under `if __name__ == "__main__":`')
    assert "mi-harness: worker process " in done.stderr
    assert not (tmp_path / "runs.sqlite").exists()  # before the store was opened


def test_the_guarded_script_runs_in_workers(tmp_path: Path) -> None:
    body = f"{HEADER}\n\n{CLASS}\n\nif __name__ == '__main__':\n    df = {_call(workers=2)}\n"
    (tmp_path / "bench.py").write_text(body + "    print(df['status'].tolist())\n")
    done = _python(tmp_path, "bench.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ok', 'ok', 'ok']"
    assert [r["run_id"] for r in _runs(tmp_path)] == ["mine"]


def test_a_worker_that_starts_harness_run_exits_with_the_code_and_stores_nothing(
    tmp_path: Path,
) -> None:
    # what each worker of the unguarded script does, seen from the worker's side:
    # harness.run while multiprocessing imports the main script in a spawned process
    (tmp_path / "child.py").write_text(f"{HEADER}\n\n{CLASS}\n\ndf = {_call()}\n")
    starter = textwrap.dedent(
        """\
        import multiprocessing as mp
        import sys

        if __name__ == "__main__":
            sys.modules["__main__"].__file__ = "child.py"  # what the child imports
            p = mp.get_context("spawn").Process(target=print)
            p.start()
            p.join()
            print("EXIT", p.exitcode)
        """
    )
    (tmp_path / "start.py").write_text(starter)
    done = _python(tmp_path, "start.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["EXIT", str(RERUN_EXIT_CODE)]
    assert _last_line(done.stderr).startswith("mi-harness: worker process ")
    assert not (tmp_path / "runs.sqlite").exists()


def test_harness_run_in_the_target_of_a_users_own_spawned_process_runs(tmp_path: Path) -> None:
    body = textwrap.dedent(
        f"""\
        import multiprocessing as mp

        def work():
            {_call()}

        if __name__ == "__main__":
            p = mp.get_context("spawn").Process(target=work)
            p.start()
            p.join()
            print("EXIT", p.exitcode)
        """
    )
    (tmp_path / "own.py").write_text(f"{HEADER}\n\n{CLASS}\n\n{body}")
    done = _python(tmp_path, "own.py")
    assert done.stdout.split() == ["EXIT", "0"], done.stderr
    (run,) = _runs(tmp_path)
    assert (run["run_id"], run["status"]) == ("mine", "finished")


# -- 2. classes the workers cannot import -------------------------------------------


@pytest.mark.parametrize("how", ["-c", "stdin"])
def test_a_class_from_python_c_or_stdin_is_refused_before_anything_runs(
    tmp_path: Path, how: str
) -> None:
    code = f"{HEADER}\n\n{CLASS}\n\ndf = {_call(workers=2)}\n"
    done = _python(tmp_path, "-c", code) if how == "-c" else _python(tmp_path, "-", stdin=code)
    assert done.returncode == 1, done.stderr
    assert _last_line(done.stderr) == (
        "harness.cells.WorkerSetupError: ScriptCorr is defined in __main__ of an interactive "
        "session, notebook, `python -c`, stdin or a package's __main__.py; worker processes "
        "must be able to import the estimator and task classes: define them at the top level "
        "of a module or a script file, or run with workers=1 and no timeout"
    )
    assert not (tmp_path / "runs.sqlite").exists()  # refused before the store was opened


def test_stdin_runs_importable_classes_in_workers_and_its_own_in_process(tmp_path: Path) -> None:
    # `python -` names its main module "<stdin>", which spawned workers cannot run
    code = (
        f"{HEADER}\n\n{CLASS}\n\n"
        'df = harness.run(["fake_corr"], "fake_gauss:n=50", store="runs.sqlite", workers=2, '
        "progress=False)\n"
        "print(df['status'].tolist())\n"
        f"print({_call()}['status'].tolist())\n"
    )
    done = _python(tmp_path, "-", stdin=code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["['ok', 'ok', 'ok']"] * 2
    assert len(_runs(tmp_path)) == 2


def test_a_job_the_workers_cannot_unpickle_is_reported_with_their_error(tmp_path: Path) -> None:
    # the class exists only under the guard: the workers' import of the script lacks it
    guarded = textwrap.indent(f"{CLASS}\ndf = {_call(workers=2)}\n", "    ")
    (tmp_path / "bench.py").write_text(f"{HEADER}\n\nif __name__ == '__main__':\n{guarded}")
    done = _python(tmp_path, "bench.py")
    assert done.returncode == 1, done.stderr
    last = _last_line(done.stderr)
    assert last.startswith(
        "harness.cells.WorkerSetupError: worker processes could not load the job: "
        "AttributeError: Can't get attribute 'ScriptCorr' on <module '__mp_main__'"
    )
    assert last.endswith(
        'not under `if __name__ == "__main__":`), where worker processes can import them, '
        "or run with workers=1 and no timeout"
    )
    assert "worker process died" not in done.stderr
    (run,) = _runs(tmp_path)
    assert run["status"] == "crashed"


def test_a_class_defined_in_a_function_is_refused_up_front(tmp_path: Path) -> None:
    class Local(fp.FakeCorr):
        name = "local_corr"

    with pytest.raises(WorkerSetupError, match="Local cannot be sent to worker processes"):
        harness.run(
            [Local()], fp.FakeGauss(n=50), store=tmp_path / "r.sqlite", workers=2, progress=False
        )
    assert not (tmp_path / "r.sqlite").exists()
    # in-process it runs
    df = harness.run([Local()], fp.FakeGauss(n=50), store=tmp_path / "r.sqlite", progress=False)
    assert (df["status"] == "ok").all()


# -- 3. resuming with other parameters ------------------------------------------------


class SlowPlug(Estimator):
    """An unregistered estimator (as if defined in a user's script)."""

    name = "slowplug"

    def __init__(self, delay: float = 0.05):
        self.delay = delay

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return fp.corr_mi(x, y)


class ScriptInterrupt(fp.FakeInterrupt):
    name = "script_interrupt2"

    def __init__(self, level: int = 1):
        self.level = level


def test_resuming_with_other_parameters_names_both(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    harness.run([SlowPlug(delay=0.01)], fp.FakeGauss(n=50), store=db, run_id="py1", progress=False)
    with pytest.raises(SpecError) as info:
        harness.run([SlowPlug(delay=0.0)], resume="py1", store=db, progress=False)
    assert str(info.value) == (
        "run py1 used the estimator 'slowplug' with delay=0.01, but the 'slowplug' object "
        "given has delay=0.0; pass it with the stored parameters to resume: "
        "harness.run(estimators=[SlowPlug(delay=0.01)], resume='py1')"
    )
    # without any object of that name, the message asks for the object
    with pytest.raises(SpecError, match="'slowplug:delay=0.01', which is not registered"):
        harness.run(resume="py1", store=db, progress=False)
    df = harness.run([SlowPlug(delay=0.01)], resume="py1", store=db, progress=False)
    assert (df["status"] == "ok").all()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_the_interrupt_note_passes_the_unregistered_estimators_again(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    fp.INTERRUPT.update(after=2, calls=0)
    with pytest.raises(KeyboardInterrupt) as info:
        harness.run(
            [ScriptInterrupt(level=3), "fake_corr"],
            fp.FakeGauss(n=50),
            store=db,
            run_id="py2",
            progress=False,
        )
    (note,) = info.value.__notes__
    call = note.split("continue with ", 1)[1]
    assert call == (
        f"harness.run(resume='py2', store={str(db)!r}, estimators=[ScriptInterrupt(level=3)])"
    )
    # the note's call, as written, resumes the run
    df = eval(call, {"harness": harness, "ScriptInterrupt": ScriptInterrupt})
    assert (df["status"] == "ok").all() and len(df) == 6
