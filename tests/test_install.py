"""The installed packages are found from any working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)


def test_plain_folders_named_like_our_packages_do_not_stand_in_for_them(tmp_path: Path) -> None:
    for name in ("results", "tasks", "reports", "estimators"):
        (tmp_path / name).mkdir()
    out = _run(tmp_path, "-m", "harness", "list")
    assert out.returncode == 0, out.stderr
    assert "gmm_levels" in out.stdout and "ksg" in out.stdout


def test_a_package_that_hides_ours_is_named_in_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "__init__.py").write_text("")
    out = _run(tmp_path, "-m", "harness", "runs")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"error: the folder {tmp_path / 'results'} would be imported as mi-harness's 'results' "
        f"package (which is in {Path(__file__).resolve().parent.parent}); run from another "
        "directory or rename that folder"
    )


def test_a_module_file_named_like_ours_blocks_only_what_needs_that_package(
    tmp_path: Path,
) -> None:
    (tmp_path / "tasks.py").write_text("")  # e.g. invoke's tasks.py
    code = (
        "import numpy as np, estimators, harness\n"
        "x = np.random.default_rng(0).standard_normal(300)\n"
        "print(round(estimators.make('ksg').estimate(x, x), 1) > 1)\n"
        "try:\n"
        "    harness.run\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = _run(tmp_path, "-c", code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "True"
    assert lines[1].startswith(f"the module {tmp_path / 'tasks.py'} would be imported as")
