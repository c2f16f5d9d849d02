"""``python -m harness``: verbs, summaries, exit codes, and a light ``list``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fake_plugins as fp
import pandas as pd
import pytest

import results
from harness.cli import main
from harness.cli.run import parse_seeds, split_estimators

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="module")
def _fakes():
    fp.register()
    yield
    fp.unregister()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.sqlite"


def _harness(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env=env, **kw
    )


def test_list_never_imports_torch() -> None:
    # exactly `python -m harness list`, then a look at what got imported
    code = (
        "import runpy, sys; sys.argv = ['harness', 'list']\n"
        "try:\n    runpy.run_module('harness', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "mods = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'estimators'))\n"
        "print('MODULES', ' '.join(mods))"
    )
    done = _harness("-c", code)
    assert done.returncode == 0, done.stderr
    mods = done.stdout.rsplit("MODULES", 1)[1].split()
    assert {"estimators.ksg", "estimators.kde", "estimators.infonet.estimator"} <= set(mods)
    assert not [m for m in mods if m.split(".")[0] == "torch"]
    out = done.stdout
    assert "ksg" in out and "k=5" in out and "variant=1" in out  # parameters with defaults
    assert "infonet" in out and "requires torch" in out
    sliced = [line for line in out.splitlines() if "sliced MI in more than one dimension" in line]
    assert len(sliced) == 2  # infonet's and sliced's notes; ksg's say nothing of it
    assert "gaussian" in out and "n=2000" in out


PLUGIN = """
import torch

from harness.interface import Estimator


class Heavy(Estimator):
    \"\"\"A plugin that imports torch when its module loads.\"\"\"

    name = "heavy"

    def __init__(self, steps: int = 500, lr: float = 1e-3, *, device: str = "auto"):
        self.steps, self.lr, self.device = steps, lr, device
"""


def test_list_describes_a_torch_plugin_from_source(tmp_path: Path) -> None:
    (tmp_path / "heavy_plugin.py").write_text(PLUGIN)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from importlib.metadata import EntryPoint\n"
        "import harness.registry as r\n"
        "ep = EntryPoint('heavy', 'heavy_plugin:Heavy', 'mi_harness.estimators')\n"
        "r.entry_points = lambda group: [ep] if group == ep.group else []\n"
        "from harness.cli import main\n"
        "assert main(['list', 'estimators']) == 0\n"
        "print('TORCH', 'torch' in sys.modules, 'heavy_plugin' in sys.modules)"
    )
    done = _harness("-c", code, str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "TORCH False False" in done.stdout
    assert "heavy    A plugin that imports torch when its module loads." in done.stdout
    assert "params: steps=500, lr=0.001, device='auto'" in done.stdout
    assert "imports torch when loaded (not loaded here)" in done.stdout


def test_unknown_names_exit_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    store = str(tmp_path / "none.sqlite")
    done = _harness(
        "-m", "harness", "run", "--estimators", "ksgg", "--task", "gaussian", "--store", store
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown estimator 'ksgg' (did you mean 'ksg'?); available: ")
    assert "ksg" in lines[0] and "kde" in lines[0]
    assert not Path(store).exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--estimators", "fake_corr:bogus=1"], "unknown parameter bogus for estimator"),
        (["--estimators", "fake_corr", "--task", "nope"], "unknown task 'nope'"),
        (["--estimators", "fake_corr", "--task", "fake_gauss:x=1"], "valid parameters"),
        (["--estimators", "fake_corr", "--task", "fake_gauss", "--per-level", "2"], "--per-level"),
        (["--estimators", "k=5"], "must follow an estimator name"),
        (["--task", "fake_gauss"], "give estimators"),
        (["--resume", "x", "--task", "fake_gauss"], "--resume takes the grid"),
    ],
)
def test_bad_run_arguments_exit_2(db: Path, capsys, argv: list[str], message: str) -> None:
    if "--task" not in argv and "--resume" not in argv:
        argv = [*argv, "--task", "fake_gauss"]
    assert main(["run", *argv, "--store", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not db.exists()


def test_run_prints_paper_tables_and_location(db: Path, capsys) -> None:
    argv = ["run", "--estimators", "fake_corr,fake_fail", "--task", "fake_levels"]
    assert main([*argv, "--per-level", "2", "--seeds", "0..1", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    df = results.load("latest", db)
    assert len(df) == 2 * 6 * 2
    assert "mean error per MI level (nats)" in out
    assert "error variance per MI level" in out
    assert "median_seconds" in out
    assert f"run {df.attrs['run_id']}: 24 cells (20 ok, 4 failed)" in out
    assert f"stored in {db}" in out
    rec = results.Store(db).get_run("latest")
    assert rec["command"].startswith("python -m harness run --estimators fake_corr,fake_fail")
    assert rec["task_params"]["per_level"] == 2


def test_quiet_run_export_and_runs(db: Path, tmp_path: Path, capsys) -> None:
    argv = ["run", "-e", "fake_corr", "-e", "fake_corr:shrink=0.5", "--task", "fake_gauss"]
    assert main([*argv, "--quiet", "--store", str(db)]) == 0
    run_id = capsys.readouterr().out.strip()
    df = results.load(run_id, db)
    assert df["label"].unique().tolist() == ["fake_corr", "fake_corr:shrink=0.5"]
    for suffix in ("csv", "parquet"):
        path = tmp_path / f"out.{suffix}"
        assert main(["export", run_id[:10], "-o", str(path), "--store", str(db)]) == 0
        pd.testing.assert_frame_equal(results.load(path), df, check_exact=True)
    assert main(["export", run_id, "-o", str(tmp_path / "x.txt"), "--store", str(db)]) == 2
    capsys.readouterr()
    assert main(["runs", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert run_id in out and "fake_corr,fake_corr:shrink=0.5" in out and "finished" in out


def test_resume_through_the_cli(db: Path, capsys) -> None:
    fp.INTERRUPT.update(after=2, calls=0)
    argv = ["run", "-e", "fake_interrupt", "--task", "fake_gauss", "--run-id", "r1"]
    assert main([*argv, "--store", str(db)]) == 130
    hint = f"continue with: python -m harness run --resume r1 --store {db}"
    assert hint in capsys.readouterr().err
    assert len(results.load("r1", db)) == 2
    assert main(["run", "--resume", "r1", "--store", str(db), "--quiet"]) == 0
    df = results.load("r1", db)
    assert len(df) == 3 and (df["status"] == "ok").all()
    assert df["session"].tolist() == [1, 1, 2]
    # without --run-id the hint names the new run, not "latest" (which another run may become)
    fp.INTERRUPT.update(after=1, calls=0)
    assert main(["run", "-e", "fake_interrupt", "--task", "fake_gauss", "--store", str(db)]) == 130
    from results.store import Store

    with Store(db) as st:
        new = st.resolve("latest")
    assert new != "r1"
    assert f"--resume {new} --store {db}" in capsys.readouterr().err


def test_info_reports_versions_and_store(db: Path, capsys) -> None:
    assert main(["info", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    import numpy

    assert f"numpy {numpy.__version__}" in out and f"store {db}" in out and "git commit" in out


def test_help_lists_verbs(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for verb in ("list", "run", "runs", "export", "info"):
        assert verb in out


def test_split_estimators_and_parse_seeds() -> None:
    assert split_estimators("ksg:k=5,variant=2,kde,infonet:projections=10") == [
        "ksg:k=5,variant=2",
        "kde",
        "infonet:projections=10",
    ]
    assert parse_seeds("0..3,7") == [0, 1, 2, 3, 7]
    with pytest.raises(ValueError, match="empty seed range"):
        parse_seeds("3..1")
    with pytest.raises(ValueError, match="bad seed"):
        parse_seeds("a")
