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
    out = _run(tmp_path, "-c", "import harness")
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ImportError: the folder {tmp_path / 'results'} would be imported")
    assert "rename that folder" in last
