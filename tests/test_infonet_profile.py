"""benchmarks/infonet_latency.py --profile: one warm call's operators, counted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_profile_counts_the_operators_of_one_call(tmp_path: Path) -> None:
    out = tmp_path / "ops.txt"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/infonet_latency.py"), "--device", "cpu",
         "--threads", "1", "--profile", "200,2", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    head = re.search(r"one call: ([\d.]+) ms wall, (\d+) operator calls", text)
    assert head and float(head.group(1)) > 0 and int(head.group(2)) > 100  # a whole forward
    assert "aten::" in text and "# of Calls" in text
