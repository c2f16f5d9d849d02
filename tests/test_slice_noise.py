"""benchmarks.sliced_ceiling slice-noise: one slice's behaviour, checked on the Gaussian plug-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.sliced_ceiling import slice_noise

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


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


def test_paired_difference_of_an_estimator_with_itself_is_zero():
    first = slice_noise("plugin", 80, draws=50, rho=0.3, seed=3)
    again = slice_noise("plugin", 80, draws=50, rho=0.3, seed=3, first=first["scores"])
    assert again["auc"] == first["auc"]
    assert again["auc_vs_first"] == 0.0 and again["auc_vs_first_se"] == 0.0
    assert np.isnan(first["auc_vs_first"])


def test_slice_noise_command_runs_the_estimators_and_sizes_asked_for(tmp_path, monkeypatch):
    import sys

    from benchmarks.sliced_ceiling import main

    out = tmp_path / "noise.csv"
    argv = ["sliced_ceiling", "slice-noise", "--estimator", "plugin", "--sizes", "60,80",
            "--estimator", "ksg"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", [*argv, "--draws", "40", "--out", str(out)])
    assert main() == 0
    lines = out.read_text().splitlines()
    assert lines[0] == (RESULTS / "slice_noise.csv").read_text().splitlines()[0]
    rows = [line.split(",") for line in lines[1:]]
    assert [r[:3] for r in rows] == [
        ["plugin", "60", "40"],
        ["plugin", "80", "40"],
        ["ksg", "60", "40"],
        ["ksg", "80", "40"],
    ]
    # ksg against plugin on the same draws; nothing to compare the first with
    assert rows[0][-2:] == ["", ""]
    for plug, ksg in zip(rows[:2], rows[2:], strict=True):
        assert float(ksg[-2]) == pytest.approx(float(ksg[7]) - float(plug[7]), abs=2e-4)
        assert 0 < float(ksg[-1]) < 0.2


def test_pooled_means_give_the_plugin_sliced_test_and_trimming_drops_the_top():
    from benchmarks.sliced_ceiling import independence_auc, pooled_aucs

    rows = {r["pooling"]: r for r in pooled_aucs("plugin", "independent_coords", 128, 50, 40)}
    # the mean is the plug-in sliced MI on the same samples and directions
    direct = independence_auc("independent_coords", "paper", 128, 50, trials=1, projections=40)
    assert rows["mean"]["auc"] == pytest.approx(direct)
    assert rows["mean"]["auc_vs_mean"] == 0.0 and rows["mean"]["auc_vs_mean_se"] == 0.0
    assert set(rows) == {"mean", "median"} | {f"mean without top {f:g}" for f in (0.01, 0.05, 0.1)}
    # 1 % of 40 slices rounds to none dropped: the same score as the mean
    assert rows["mean without top 0.01"]["auc"] == rows["mean"]["auc"]
    assert rows["mean without top 0.1"]["auc_vs_mean"] != 0.0


def test_pooling_runs_a_registered_estimator_slice_by_slice():
    from benchmarks.sliced_ceiling import pooled_aucs

    rows = pooled_aucs("ksg", "one_feature", 4, 100, projections=8)
    assert [r["estimator"] for r in rows] == ["ksg"] * 5
    # at d = 4 and n = 100 a shared feature shows in most slices, however they are pooled
    assert all(0.9 < r["auc"] <= 1.0 for r in rows)


def test_pooling_command_writes_the_committed_columns(tmp_path, monkeypatch):
    import sys

    from benchmarks.sliced_ceiling import main

    out = tmp_path / "pooling.csv"
    argv = ["sliced_ceiling", "pooling", "--estimator", "plugin", "--sizes", "50", "--d", "16"]
    monkeypatch.setattr(sys, "argv", [*argv, "--out", str(out)])
    assert main() == 0
    lines = out.read_text().splitlines()
    assert lines[0] == (RESULTS / "slice_pooling.csv").read_text().splitlines()[0]
    assert [line.split(",")[5] for line in lines[1:]] == [
        "mean", "median", "mean without top 0.01", "mean without top 0.05", "mean without top 0.1"
    ]  # fmt: skip


def test_composition_splits_the_sliced_mean_by_the_slices_rank_correlation():
    from scipy.stats import spearmanr

    from benchmarks.sliced_ceiling import cell_slices, independence_auc, slice_composition
    from estimators.sliced import slices
    from tasks.highdim_independence import HighDimIndependence

    raw, rank2, labels = cell_slices("plugin", "independent_coords", 128, 50, 40)
    assert raw.shape == rank2.shape == (100, 40) and labels.sum() == 50
    inst = HighDimIndependence(dependence="independent_coords", d=128, n=50).instance(3, 0)
    a, b = slices(inst.x, inst.y, 40, 0)
    assert rank2[3, 7] == pytest.approx(spearmanr(a[7], b[7])[0] ** 2)
    row = slice_composition("plugin", "independent_coords", 128, 50, 40)
    direct = independence_auc("independent_coords", "paper", 128, 50, trials=1, projections=40)
    assert row["auc_mean"] == pytest.approx(direct)
    # the Gaussian plug-in is a function of the slice's Pearson correlation, close to
    # its Spearman one: the squared rank correlation explains most of it
    assert row["fit_r2"] > 0.8
    assert abs(row["separation_remainder"]) < row["separation_rank2_part"]
    assert row["separation_rank2_part"] == pytest.approx(row["separation_rank2"], rel=0.05)
    assert row["independent_slice_sd"] == pytest.approx(raw[~labels].std(ddof=1))


def test_symmetry_scores_average_slices_over_the_square_and_a_second_direction_set():
    import estimators
    from benchmarks.sliced_ceiling import symmetry_scores
    from harness.metrics import delong
    from tasks.highdim_independence import HighDimIndependence

    rows = {r["score"]: r for r in symmetry_scores("ksg", "independent_coords", 16, 50, 8, 10)}
    assert list(rows) == ["sliced mean", "with u and v swapped", "all 8 symmetries",
                          "directions of seed 1", "both direction sets"]  # fmt: skip
    assert [r["passes"] for r in rows.values()] == [1, 2, 8, 1, 2]
    assert {r["samples"] for r in rows.values()} == {20}
    # the plain score is the harness's sliced estimate on the first 10 samples of each class
    task = HighDimIndependence(dependence="independent_coords", d=16, n=50, trials=1)
    insts = list(task.instances(0))
    chosen = [*insts[:10], *insts[50:60]]
    assert [i.meta["dependent"] for i in chosen] == [True] * 10 + [False] * 10
    sliced = estimators.make("sliced:base=ksg,projections=8")
    direct = np.array([sliced.estimate(i.x, i.y) for i in chosen])
    auc, _ = delong(np.arange(20) < 10, direct[None, :])
    assert rows["sliced mean"]["auc"] == pytest.approx(float(auc[0]))
    # KSG is exactly symmetric in the square: averaging its symmetries changes nothing
    for name in ("with u and v swapped", "all 8 symmetries"):
        assert rows[name]["auc"] == pytest.approx(rows["sliced mean"]["auc"])
        assert rows[name]["separation"] == pytest.approx(rows["sliced mean"]["separation"])
    assert rows["with u and v swapped"]["independent_slice_corr"] == pytest.approx(1.0)
    # other directions are other slices: nearly uncorrelated with the first set's
    assert abs(rows["both direction sets"]["independent_slice_corr"]) < 0.2
    assert rows["sliced mean"]["auc_vs_mean"] == 0.0


def test_symmetry_scores_give_the_estimator_each_symmetry_of_each_slice(monkeypatch):
    import benchmarks.sliced_ceiling as sc
    from estimators.sliced import slices
    from tasks.highdim_independence import HighDimIndependence

    seen = []

    class Spy:  # records what it is given
        def estimate_batch(self, us, vs):
            seen.append((np.array(us)[..., 0], np.array(vs)[..., 0]))
            return np.array([u[0, 0] + 2 * v[1, 0] for u, v in zip(us, vs, strict=True)])

    monkeypatch.setattr(sc.estimators, "make", lambda spec: Spy())
    rows = {r["score"]: r for r in sc.symmetry_scores("spy", "one_feature", 4, 20, 3, 2)}
    assert len(seen) == 4 * 9  # 2 + 2 samples, 8 symmetries and a second direction set each
    inst = HighDimIndependence(dependence="one_feature", d=4, n=20, trials=1).instance(0, 0)
    a, b = slices(inst.x, inst.y, 3, 0)
    expected = [(a, b), (a, -b), (-a, b), (-a, -b), (b, a), (-b, a), (b, -a), (-b, -a)]
    for (u, v), (eu, ev) in zip(seen[:8], expected, strict=True):
        np.testing.assert_array_equal(u, eu)
        np.testing.assert_array_equal(v, ev)
    np.testing.assert_array_equal(seen[8][0], slices(inst.x, inst.y, 3, 1)[0])
    assert [r["passes"] for r in rows.values()] == [1, 2, 8, 1, 2]
    with pytest.raises(ValueError, match="per_class must be 2 to 50; got 1"):
        sc.symmetry_scores("spy", "one_feature", 4, 20, 3, 1)


def test_slice_efficiency_of_the_plugin_is_near_the_rank_statistic_and_above_ksg():
    from benchmarks.sliced_ceiling import slice_efficiency

    plugin = slice_efficiency("plugin", 100, draws=400, rho=0.2, seed=4)
    ksg = slice_efficiency("ksg", 100, draws=400, rho=0.2, seed=4)
    # r ~ N(0.2, 0.96^2/n) against N(0, 1/n): r^2 shifts by about rho^2 = 0.04 over an
    # sd of about sqrt(2)/n = 0.014 under independence, d' about 2.8
    assert 2.0 < plugin["rank2_shift_sd"] < 3.6
    assert plugin["rank2_shift_sd"] == ksg["rank2_shift_sd"]  # the same draws
    # Pearson's r on Gaussian pairs is at least as efficient as Spearman's
    assert 0.9 < plugin["efficiency"] < 1.4
    assert ksg["efficiency"] < 0.2  # about 0.05: KSG moves little with a weak correlation


def test_draw_ceiling_scores_each_direction_draw_against_ksg_on_the_same_samples():
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    import estimators
    import tasks
    from benchmarks.sliced_ceiling import draw_ceiling, pooled_aucs

    rows = list(draw_ceiling("independent_coords", 16, 50, 12, [0, 1], [0, 1]))
    assert [(r["task_seed"], r["direction_seed"]) for r in rows] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # direction seed 0 on task seed 0 is what the pooling part (and the harness) slices
    pooled = {r["pooling"]: r for r in pooled_aucs("plugin", "independent_coords", 16, 50, 12)}
    assert rows[0]["plugin_auc"] == pytest.approx(pooled["mean"]["auc"], abs=1e-4)
    # the rank statistic and KSG, recomputed another way on task seed 1 with directions 1
    task = tasks.make(
        "highdim_independence:dependence=independent_coords,d=16,n=50,trials=1,recipe=paper"
    )
    samples = list(task.instances(1))
    labels = [inst.meta["dependent"] for inst in samples]
    rng = np.random.default_rng(1)
    g = rng.standard_normal((12, 16))
    px = g / np.linalg.norm(g, axis=1, keepdims=True)
    g = rng.standard_normal((12, 16))
    py = g / np.linalg.norm(g, axis=1, keepdims=True)
    rank2 = [
        np.mean([spearmanr(inst.x @ u, inst.y @ v)[0] ** 2 for u, v in zip(px, py, strict=True)])
        for inst in samples
    ]
    assert rows[3]["rank2_auc"] == pytest.approx(roc_auc_score(labels, rank2), abs=1e-4)
    ksg = estimators.make("ksg")
    auc = roc_auc_score(labels, [ksg.estimate(inst.x, inst.y) for inst in samples])
    assert rows[2]["ksg_auc"] == rows[3]["ksg_auc"] == pytest.approx(auc, abs=1e-4)
    assert {r["plugin_auc"] for r in rows} != {rows[0]["plugin_auc"]}  # the draws differ
