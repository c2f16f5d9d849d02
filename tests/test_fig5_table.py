"""benchmarks.fig5_table: AUC per cell from exported runs, estimator names from full params."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.fig5_table import fig5_frame, markdown, paired_frame, paired_markdown
from harness.metrics import delong


def export(
    path, label: str, params: dict, scores: np.ndarray, dependent: np.ndarray, **extra
) -> None:
    n = len(scores)
    pd.DataFrame(
        {
            "run_id": "r", "label": label, "estimator": label.split(":")[0],
            "estimator_params": json.dumps(params), "task": "highdim_independence",
            "status": "ok", "estimate": scores, "dependent": dependent,
            "dependence": "one_feature", "d": 128, "n_samples": 100, "true_mi": np.nan,
            "error": np.nan, "seconds": 0.1, "instance_id": [f"i{i}" for i in range(n)],
            **extra,
        }
    ).to_csv(path, index=False)  # fmt: skip


def test_fig5_frame_names_estimators_from_params_and_drops_repeated_ksg(tmp_path):
    dep = np.array([1] * 5 + [0] * 5)
    perfect = dep + 0.01 * np.arange(10)
    same = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1], dtype=float)  # both classes alike: AUC 0.5
    ksg = {"k": 5}
    export(tmp_path / "paper_fig5-one_feature-d128-n100.csv.gz", "ksg", ksg, perfect, dep)
    # the 1,000-projection run: default projections are not in its label, only in its params
    export(tmp_path / "a.csv", "infonet:batch_size=1000", {"projections": 1000}, same, dep)
    export(tmp_path / "b.csv", "ksg", ksg, perfect, dep)
    frame = pd.concat([pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")])
    frame.to_csv(tmp_path / "paper_fig5k-one_feature-d128-n100.csv.gz", index=False)

    out = fig5_frame(tmp_path)
    assert sorted(out["estimator"]) == ["InfoNet-1000", "KSG"]  # KSG once
    auc = out.set_index("estimator")["auc"]
    assert auc["KSG"] == 1.0
    assert auc["InfoNet-1000"] == 0.5
    assert "| one_feature | paper | 128 | 0.50 / 1.00 |" in markdown(out)


def test_rows_that_record_their_checkpoint_are_told_apart(tmp_path):
    dep = np.array([1] * 5 + [0] * 5)
    perfect = dep + 0.01 * np.arange(10)
    params = {"projections": 1000}
    export(
        tmp_path / "paper_fig5k-one_feature-d128-n100.csv.gz",
        "infonet",
        params,
        perfect,
        dep,
        artifacts=json.dumps({"checkpoint_sha256": "9fc45bfb" + "0" * 56}),
    )
    export(tmp_path / "paper_fig5k-one_feature-d128-n50.csv.gz", "infonet", params, perfect, dep)
    out = fig5_frame(tmp_path)
    assert sorted(out["estimator"]) == ["InfoNet-1000", "InfoNet-1000@9fc45bfb"]
    assert "AUC (InfoNet-1000 / InfoNet-1000@9fc45bfb)" in markdown(out)


def test_paired_difference_per_cell_on_shared_samples(tmp_path):
    dep = np.array([1] * 5 + [0] * 5)
    perfect = dep + 0.01 * np.arange(10)
    same = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1], dtype=float)
    export(tmp_path / "a.csv", "infonet:batch_size=1000", {"projections": 1000}, same, dep)
    # KSG scored one sample less: only the nine shared samples count
    export(tmp_path / "b.csv", "ksg", {"k": 5}, perfect, dep)
    frame = pd.concat([pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")[:-1]])
    frame.to_csv(tmp_path / "paper_fig5k-one_feature-d128-n100.csv.gz", index=False)

    out = paired_frame(tmp_path, "InfoNet-1000", "KSG").iloc[0]
    assert out["pairs"] == 9
    truth = dep[:9].astype(bool)
    (a_inf, a_ksg), cov = delong(truth, np.stack([same[:9], perfect[:9]]))
    assert out["difference"] == pytest.approx(a_inf - a_ksg)
    assert a_ksg == 1.0 and cov[1, 1] == 0.0  # KSG's placements are all 1: no variance
    assert out["difference_se"] == pytest.approx(math.sqrt(cov[0, 0]))
    text = paired_markdown(paired_frame(tmp_path, "InfoNet-1000", "KSG"), "InfoNet-1000", "KSG")
    assert (
        f"| one_feature | paper | 128 | {a_inf - a_ksg:+.2f} ± {math.sqrt(cov[0, 0]):.2f} |" in text
    )
    full = fig5_frame(tmp_path).set_index("estimator")
    se = full.at["InfoNet-1000", "auc_se"]
    assert f"{full.at['InfoNet-1000', 'auc']:.2f} ± {se:.2f}" in markdown(
        full.reset_index(), se=True
    )


def test_cells_with_further_trials_average_them(tmp_path):
    dep = np.array([1] * 5 + [0] * 5)
    perfect = dep + 0.01 * np.arange(10)
    same = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1], dtype=float)
    params = {"projections": 1000}
    name = "paper_fig5k-one_feature-d128-n100"
    export(tmp_path / f"{name}.csv.gz", "infonet", params, perfect, dep, seed=0, trial=0)
    # a second run: seed 1 draws new samples (same instance ids), scored at chance here
    export(tmp_path / f"{name}-s1-1.csv.gz", "infonet", params, same, dep, seed=1, trial=0)
    out = fig5_frame(tmp_path).iloc[0]
    assert out["trials"] == 2
    assert out["auc"] == pytest.approx((1.0 + 0.5) / 2)
    one_se = delong(dep.astype(bool), same)[1][0, 0] ** 0.5  # the perfect trial's is 0
    assert out["auc_se"] == pytest.approx(one_se / 2)
    assert "one_feature (paper) d = 128 n = 100: 2." in markdown(fig5_frame(tmp_path))


def test_main_shows_the_estimators_asked_for_in_order(tmp_path, capsys):
    from benchmarks.fig5_table import main

    dep = np.array([1] * 5 + [0] * 5)
    perfect = dep + 0.01 * np.arange(10)
    same = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1], dtype=float)
    export(tmp_path / "a.csv", "infonet:batch_size=1000", {"projections": 1000}, same, dep)
    export(tmp_path / "b.csv", "ksg", {"k": 5}, perfect, dep)
    frame = pd.concat([pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")])
    frame.to_csv(tmp_path / "paper_fig5k-one_feature-d128-n100.csv.gz", index=False)
    assert main([str(tmp_path), "--estimators", "KSG,InfoNet-1000"]) == 0
    out = capsys.readouterr().out
    assert "AUC (KSG / InfoNet-1000)" in out and "| 1.00 / 0.50 |" in out
    assert main([str(tmp_path), "--estimators", "KSG,MINE-1000"]) == 2
    assert "no rows of MINE-1000; have: InfoNet-1000, KSG" in capsys.readouterr().err
