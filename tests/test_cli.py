"""``python -m harness``: verbs, summaries, exit codes, and a light ``list``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import fake_plugins as fp
import pandas as pd
import pytest

import results
from harness.cli import main
from harness.cli.arguments import (
    float_list_arg,
    int_list_arg,
    optional_int_list_arg,
    parse_seeds,
)
from harness.cli.run import split_estimators

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
        (["--estimators", "fake_corr", "--task", "fake_gauss", "--per-d", "2"], "--per-d does not"),
        (["--resume", "x", "--per-d", "2"], "--resume takes the grid"),
        (["--estimators", "k=5"], "must follow an estimator name"),
        (["--estimators", "fake_corr shrink=0.5"], "did you mean 'fake_corr:shrink=0.5'?"),
        (["--estimators", "fake_gauss,fake_corr shrink=0.5"], "'fake_corr shrink=0.5' has a space"),
        (["-e", "fake_corr shrink=0.5"], "where ':' belongs"),
        (["-e", "fake_corr,fake_gauss"], "-e/--estimator takes one spec"),
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
    from estimators.infonet.card import load_card

    card = load_card()  # which InfoNet a run here would use
    assert f"infonet: step {card['steps']:,}, sha256 {card['sha256'][:8]}" in out


def test_help_lists_verbs(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for verb in ("list", "run", "runs", "export", "info"):
        assert verb in out


def test_split_estimators_and_parse_seeds() -> None:
    with pytest.raises(ValueError, match="more than 100,000"):
        parse_seeds("0..150000")  # checked before the list is built: 0..10**12 is refused alike
    with pytest.raises(ValueError, match="more than 100,000"):
        parse_seeds("0..60000,70000..130000")
    assert len(parse_seeds("0..99999")) == 100_000
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


def test_int_list_arg() -> None:
    assert int_list_arg(" 50, 100,300,") == [50, 100, 300]
    assert optional_int_list_arg("") == optional_int_list_arg(" , ") == []
    for empty in ("", ","):  # a list option that is not optional needs a number
        with pytest.raises(argparse.ArgumentTypeError, match="at least one"):
            int_list_arg(empty)
    for bad in ("50,x", "0", "-5", "1.5", "\u00b2"):
        for parse in (int_list_arg, optional_int_list_arg):
            with pytest.raises(argparse.ArgumentTypeError, match="not a positive integer"):
                parse(bad)
    with pytest.raises(ValueError, match="bad seed"):
        parse_seeds("\u00b2")  # a digit to str.isdigit, not to int()


def test_float_list_arg() -> None:
    assert float_list_arg(" 0.5, 1e-1,0,2,") == [0.5, 0.1, 0.0, 2.0]
    for empty in ("", " , "):
        with pytest.raises(argparse.ArgumentTypeError, match="at least one"):
            float_list_arg(empty)
    for bad in ("0.5,x", "-0.1", "nan", "inf", "1,,-inf", "\u0661"):
        with pytest.raises(argparse.ArgumentTypeError, match="not a finite non-negative"):
            float_list_arg(bad)


@pytest.mark.parametrize(
    ("module", "argv", "message"),
    [
        ("estimators.infonet.evaluate", ["model.pt", "--sliced-seeds", "0,a"], "bad seed 'a'"),
        ("estimators.infonet.evaluate", ["model.pt", "--sliced-n", "50,1e3"], "'1e3'"),
        ("benchmarks.sliced_ceiling", ["draws", "--sizes", "fifty"], "'fifty'"),
        ("benchmarks.sliced_ceiling", ["draws", "--sizes", ""], "at least one"),
        ("estimators.infonet.evaluate", ["model.pt", "--sliced-seeds", "1,1"], "distinct"),
        ("estimators.infonet.train", ["--n", "50,x"], "argument --n: 'x'"),
        ("benchmarks.infonet_capacity", ["--sigmas", "1,nan"], "argument --sigmas: 'nan'"),
        ("benchmarks.infonet_capacity", ["--levels", ""], "argument --levels: give at least one"),
    ],
)
def test_list_options_fail_as_usage(module: str, argv: list[str], message: str, capsys) -> None:
    """A mistyped number list is argparse's usage error (exit 2) naming the piece."""
    import importlib

    main_of = importlib.import_module(module).main
    with pytest.raises(SystemExit) as info:
        main_of(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


# -- what a run says when cells fail, and its exit code -------------------------------------


def test_run_where_no_cell_succeeds_prints_why_and_exits_1(db: Path, capsys) -> None:
    argv = ["run", "-e", "fake_prepare:fail=True,load=0", "--task", "fake_gauss"]
    assert main([*argv, "--run-id", "dead", "--store", str(db)]) == 1
    out, err = capsys.readouterr()
    reason = "3 failed: could not prepare fake_prepare: FileNotFoundError: weights.pt not found"
    assert out.count(reason) == 1  # once, with its count, not once per cell
    assert "fake_prepare:fail=True,load=0.0: 3 of 3 cells" in out
    assert "run dead: 3 cells (3 failed)" in out
    assert err == "error: no cell of run dead succeeded (3 failed)\n"
    # --quiet: the run id alone on stdout, the reasons on stderr
    assert main([*argv, "--run-id", "dead2", "--store", str(db), "-q"]) == 1
    out, err = capsys.readouterr()
    assert out == "dead2\n"
    assert reason in err and err.endswith("error: no cell of run dead2 succeeded (3 failed)\n")


def test_run_with_some_failed_cells_names_them_and_exits_0(db: Path, capsys) -> None:
    argv = ["run", "--estimators", "fake_corr,fake_fail", "--task", "fake_gauss"]
    assert main([*argv, "--store", str(db)]) == 0
    out, err = capsys.readouterr()
    assert "fake_fail: 1 of 3 cells\n    1 failed: ValueError: too strong second line" in out
    assert "fake_corr: " not in out  # every fake_corr cell succeeded
    assert err == ""
    assert main([*argv, "--store", str(db), "-q"]) == 0
    assert "1 failed: ValueError: too strong second line" in capsys.readouterr().err


def test_failure_lines_count_and_cap_distinct_messages() -> None:
    from harness.cli.run import failure_lines

    messages = ["A"] * 4 + ["B"] * 2 + ["C", "D", "E"] + ["x" * 500]
    df = pd.DataFrame(
        {
            "label": ["ksg"] * len(messages) + ["kde"],
            "status": ["failed"] * 9 + ["timeout", "ok"],
            "message": [*messages, None],
        }
    )
    lines = failure_lines(df, per_estimator=3)
    assert lines[1:5] == [
        "  ksg: 10 of 10 cells",
        "    4 failed: A",
        "    2 failed: B",
        "    1 failed: C",
    ]
    assert lines[5].startswith("    ... 3 more distinct message(s) in 3 cell(s)")
    assert len(lines) == 6  # kde succeeded: no line for it
    long = failure_lines(df.iloc[-2:])
    assert long[2] == "    1 timeout: " + "x" * 197 + "..."
    assert failure_lines(df.iloc[-1:]) == []


def test_sigterm_stops_a_run_with_exit_143(db: Path, capsys) -> None:
    import signal

    import estimators
    from harness.interface import Estimator

    class SelfTerm(Estimator):
        """Sends SIGTERM to its own process on its second estimate."""

        name = "self_term"
        calls = 0

        def _estimate(self, x, y) -> float:
            type(self).calls += 1
            if type(self).calls == 2:
                # only with the run's handler in place: the default one would end pytest
                assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
                os.kill(os.getpid(), signal.SIGTERM)
            return fp.corr_mi(x, y)

    before = signal.getsignal(signal.SIGTERM)
    estimators.registry.register(SelfTerm)
    try:
        argv = ["run", "-e", "self_term", "--task", "fake_gauss", "--run-id", "t"]
        assert main([*argv, "--store", str(db)]) == 143
    finally:
        estimators.registry.unregister("self_term")
    assert signal.getsignal(signal.SIGTERM) is before
    assert f"interrupted; continue with: python -m harness run --resume t --store {db}" in (
        capsys.readouterr().err
    )
    assert results.Store(db).get_run("t")["status"] == "interrupted"
    assert len(results.load("t", db)) == 1


def test_resume_of_a_complete_run_says_nothing_was_left(db: Path, capsys) -> None:
    argv = ["run", "--estimators", "fake_corr,fake_fail", "--task", "fake_gauss"]
    assert main([*argv, "--run-id", "done", "--store", str(db), "-q"]) == 0
    capsys.readouterr()
    assert main(["run", "--resume", "done", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "nothing left to run: every cell of run done already has a final result; "
        "--retry-failed reruns its 1 failed or timed-out cells\n"
    )
    assert "run done: 6 cells (5 ok, 1 failed)" in out
    # a resume that ran cells says nothing of the kind
    assert main(["run", "--resume", "done", "--retry-failed", "--store", str(db), "-q"]) == 0
    out, err = capsys.readouterr()
    assert out == "done\n" and "nothing left" not in err
    assert main(["run", "--resume", "done", "--store", str(db), "-q"]) == 0
    out, err = capsys.readouterr()
    assert out == "done\n"  # --quiet: the note goes to stderr
    assert err.startswith("nothing left to run: every cell of run done already has a final")


# -- paths, --debug, help -----------------------------------------------------------------


def test_a_directory_as_store_is_named_as_such(tmp_path: Path, capsys) -> None:
    for argv in (["runs"], ["export", "latest", "-o", str(tmp_path / "x.csv")]):
        assert main([*argv, "--store", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"error: results store {tmp_path} is a directory, not a store file; "
            f"give a file, e.g. --store {tmp_path / 'mi-harness.sqlite'}\n"
        )
    argv = ["run", "-e", "fake_corr", "--task", "fake_gauss", "--store", str(tmp_path)]
    assert main(argv) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_info_says_whether_the_store_exists(db: Path, tmp_path: Path, capsys) -> None:
    assert main(["info", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"store {db} (does not exist yet; 'python -m harness run' creates it)" in out
    assert main(["info", "--store", str(tmp_path)]) == 0
    assert f"store {tmp_path} (a directory, not a store file)" in capsys.readouterr().out
    assert main(["run", "-e", "fake_corr", "--task", "fake_gauss", "--store", str(db), "-q"]) == 0
    assert main(["info", "--store", str(db)]) == 0
    assert f"store {db} (1 run)\n" in capsys.readouterr().out


def test_export_and_report_say_which_folder_they_created(db: Path, tmp_path: Path, capsys) -> None:
    assert main(["run", "-e", "fake_corr", "--task", "fake_gauss", "--store", str(db), "-q"]) == 0
    run_id = capsys.readouterr().out.strip()
    csv = tmp_path / "new" / "deeper" / "x.csv"
    assert main(["export", run_id, "-o", str(csv), "--store", str(db)]) == 0
    folder = csv.parent
    out = capsys.readouterr().out
    assert out == f"wrote 3 rows of run {run_id} to {csv} (created folder {folder})\n"
    assert main(["export", run_id, "-o", str(csv), "--store", str(db)]) == 0
    assert "created folder" not in capsys.readouterr().out  # it exists now
    html = tmp_path / "pages" / "r.html"
    assert main(["report", run_id, "-o", str(html), "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert out == f"report written to {html} (created folder {html.parent})\n" and html.exists()
    # a directory as output, or a file where a folder belongs: one line, exit 2
    (tmp_path / "d.csv").mkdir()
    assert main(["export", run_id, "-o", str(tmp_path / "d.csv"), "--store", str(db)]) == 2
    assert "is a directory; give a file path inside it" in capsys.readouterr().err
    assert main(["report", run_id, "-o", str(csv / "r.html"), "--store", str(db)]) == 2
    assert f"{csv} is a file, not a folder" in capsys.readouterr().err


def test_debug_is_accepted_before_the_verb(tmp_path: Path, capsys) -> None:
    from results.store import StoreError

    missing = str(tmp_path / "none.sqlite")
    assert main(["runs", "--store", missing]) == 2
    assert capsys.readouterr().err.startswith("error: no results store at")
    for argv in (["--debug", "runs", "--store", missing], ["runs", "--debug", "--store", missing]):
        with pytest.raises(StoreError, match="no results store at"):
            main(argv)


def test_help_shows_defaults_and_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--seeds SEEDS e.g. 0..4 or 0,1,2 (default: 0)" in out
    assert "--n N sample size (default: the task's own n" in out
    assert "1: no cell succeeded" in out and "143 (SIGTERM)" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--debug" in out and "exit codes: 0 success; 1" in out
    assert "143 stopped by SIGTERM" in out
    for verb in ("export", "report"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        assert "a missing folder is created" in " ".join(capsys.readouterr().out.split())


def test_per_d_sets_the_triplets_per_dimension_of_highdim_order(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    argv = ["run", "-e", "ksg", "--task", "highdim_order:dims=2,n=64", "--per-d", "2"]
    assert main([*argv, "--store", str(db), "-q"]) == 0
    df = results.load("latest", db)
    assert df.groupby("d")["triplet"].nunique().to_dict() == {2: 2}


@pytest.mark.parametrize(
    "flag", [["--tolerance", "nan"], ["--slowdown", "nan"], ["--slowdown", "0.5"]]
)
def test_report_refuses_a_nan_or_low_comparison_threshold(
    db: Path, tmp_path: Path, capsys, flag: list[str]
) -> None:
    out = tmp_path / "r.html"
    assert main(["report", "latest", "-o", str(out), "--store", str(db), *flag]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: --tolerance must be >= 0 and --slowdown >= 1")
        and err.count("\n") == 1
    )
    assert not out.exists()


def test_report_of_a_file_that_is_not_an_export_names_what_it_lacks(tmp_path: Path, capsys) -> None:
    other = tmp_path / "other.csv"
    pd.DataFrame({"estimator": ["ksg"], "estimate": [0.1]}).to_csv(other, index=False)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path, message in [
        (other, "lacks the column(s) task, status"),
        (empty, "cannot be read as a csv export (EmptyDataError"),
    ]:
        assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}") and message in err and err.count("\n") == 1
    with pytest.raises(results.export.ExportFileError, match="lacks the column"):
        results.load(other)


def test_running_out_of_memory_is_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    import reports

    def exhausted(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(reports, "build_report", exhausted)
    assert main(["report", "latest", "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory; a smaller task grid") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "-e", "ksg", "--task", "gaussian", "--seeds", "5..2"], "empty seed range"),
        (["run", "-e", "ksg", "--task", "gaussian", "--n", "abc"], "--n: invalid int value"),
        (["tasks", "build"], "required: name (see 'python -m harness tasks build --help')"),
        (["nope"], "invalid choice: 'nope'"),
        (["tasks", "build", "gmm_levels", "-x"], "-x (see 'python -m harness tasks build"),
        (["run", "--bogus"], "arguments: --bogus (see 'python -m harness run --help')"),
    ],
)
def test_usage_errors_are_one_line_that_says_where_help_is(
    capsys, argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert err.rstrip().endswith("--help')")
