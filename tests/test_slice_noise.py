"""benchmarks.sliced_ceiling slice-noise: one slice's behaviour, checked on the Gaussian plug-in."""

from __future__ import annotations

import pytest

from benchmarks.sliced_ceiling import slice_noise


def test_plugin_slice_noise_matches_gaussian_theory():
    n = 300
    row = slice_noise("plugin", n, draws=200, rho=0.2, seed=1)
    # under independence r^2 has mean 1/(n - 1), so -1/2 ln(1 - r^2) about half that
    assert row["null_mean"] == pytest.approx(1 / (2 * (n - 1)), abs=0.0006)
    # r ~ N(0.2, 0.96^2 / n) against N(0, 1 / n): r^2 separates them almost surely
    assert row["auc"] > 0.95 and row["auc_se"] < 0.02
    # Pearson's and Spearman's squared correlations of Gaussian pairs nearly agree
    assert row["corr_rank2"] > 0.85


def test_slice_noise_runs_a_registered_estimator():
    row = slice_noise("ksg", 100, draws=30, rho=0.9, seed=2)
    assert row["estimator"] == "ksg" and row["draws"] == 30
    assert row["auc"] == pytest.approx(1.0)  # rho = 0.9 (0.83 nats) is unmistakable at n = 100
    assert abs(row["null_mean"]) < 0.05


def test_slice_noise_command_runs_the_estimators_and_sizes_asked_for(tmp_path, monkeypatch):
    import sys

    from benchmarks.sliced_ceiling import main

    out = tmp_path / "noise.csv"
    argv = ["sliced_ceiling", "slice-noise", "--estimator", "plugin", "--sizes", "60,80"]
    monkeypatch.setattr(sys, "argv", [*argv, "--draws", "40", "--out", str(out)])
    assert main() == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("estimator,n,draws,")
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["plugin", "60", "40"],
        ["plugin", "80", "40"],
    ]
