"""benchmarks.cuda_check's stored cpu rows: a spec with a comma survives the CSV, and
rows that cannot stand for today's workload are refused before anything runs."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from benchmarks import cuda_check

SPEC = "doe:epochs=50,density=logistic"


def _write(path, rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*cuda_check.HEADER, "speedup"])
        w.writerows(rows)


def test_cpu_rows_round_trip_a_spec_with_a_comma_and_match_the_workload(tmp_path) -> None:
    _, _, truth, data = cuda_check.workload(SPEC)
    path = tmp_path / "cpu.csv"
    _write(path, [[SPEC, "cpu", "none", data, "0.73", "0.5567", f"{truth:.4f}", "1.00"]])
    rows = cuda_check.read_cpu_rows(str(path))
    assert list(rows) == [SPEC]
    assert rows[SPEC]["seconds_per_distribution"] == 0.73
    assert truth == pytest.approx(-0.5 * np.log(1 - 0.8**2))
    assert cuda_check.unmatched(rows, [SPEC]) == []
    assert cuda_check.unmatched(rows, [SPEC, "mine:steps=500"]) == [
        "no cpu row for 'mine:steps=500'"
    ]
    moved = {SPEC: {**rows[SPEC], "data": "1-D n=5000"}}
    assert "ran on 1-D n=5000" in cuda_check.unmatched(moved, [SPEC])[0]


def test_foreign_or_mismatched_cpu_rows_stop_before_measuring(tmp_path, monkeypatch) -> None:
    other = tmp_path / "other.csv"
    other.write_text("spec,seconds\nksg,0.1\n")
    with pytest.raises(SystemExit, match="not a cuda_check CSV"):
        cuda_check.read_cpu_rows(str(other))
    ran = []
    monkeypatch.setattr(cuda_check, "measure", lambda *a: ran.append(a))
    _, _, truth, data = cuda_check.workload(SPEC)
    path = tmp_path / "cpu.csv"
    _write(path, [[SPEC, "cpu", "none", data, "0.73", "0.5567", f"{truth:.4f}", "1.00"]])
    with pytest.raises(SystemExit, match="no cpu row for 'mine:steps=500'"):
        cuda_check.main(["--specs", f"{SPEC};mine:steps=500", "--cpu-rows", str(path)])
    if not torch.cuda.is_available():  # nothing to time beside stored cpu rows
        assert cuda_check.main(["--specs", SPEC, "--cpu-rows", str(path)]) == 1
    assert ran == []
