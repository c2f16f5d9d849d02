"""Summary metrics on hand-made rows, checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness import metrics


def _rows(records: list[dict]) -> pd.DataFrame:
    base = {"task": "t", "status": "ok", "seconds": 1.0, "seed": 0}
    df = pd.DataFrame([{**base, **r} for r in records])
    if "estimate" in df and "true_mi" in df and "error" not in df:
        df["error"] = df["estimate"] - df["true_mi"]
    return df


@pytest.fixture
def levels() -> pd.DataFrame:
    # errors per (label, level): a at 0.0: +0.1, -0.1, +0.3; a at 0.5: 0.2, 0.0; b at 0.0: -0.2
    return _rows(
        [
            {"label": "a", "level": 0.0, "true_mi": 0.0, "estimate": 0.1, "seconds": 1.0},
            {"label": "a", "level": 0.0, "true_mi": 0.0, "estimate": -0.1, "seconds": 3.0},
            {"label": "a", "level": 0.0, "true_mi": 0.0, "estimate": 0.3, "seconds": 2.0},
            {"label": "a", "level": 0.5, "true_mi": 0.5, "estimate": 0.7, "seconds": 10.0},
            {"label": "a", "level": 0.5, "true_mi": 0.5, "estimate": 0.5, "seconds": 4.0},
            {"label": "b", "level": 0.0, "true_mi": 0.0, "estimate": -0.2, "seconds": 0.5},
            {
                "label": "b",
                "level": 0.5,
                "true_mi": 0.5,
                "estimate": np.nan,
                "status": "failed",
                "seconds": np.nan,
            },
            {
                "label": "b",
                "level": 0.5,
                "true_mi": 0.5,
                "estimate": np.nan,
                "status": "timeout",
                "seconds": 9.0,
            },
        ]
    )


def test_level_table_mean_error_and_variance(levels: pd.DataFrame) -> None:
    t = metrics.level_table(levels)
    a0 = t.loc[("a", 0.0)]
    assert a0["count"] == 3
    assert a0["mean_error"] == pytest.approx(0.1)
    # sample variance of (0.1, -0.1, 0.3): mean 0.1, squares 0, 0.04, 0.04 -> 0.08 / 2
    assert a0["error_var"] == pytest.approx(0.04)
    assert a0["mae"] == pytest.approx(0.5 / 3)
    a5 = t.loc[("a", 0.5)]
    assert a5["mean_error"] == pytest.approx(0.1)
    assert a5["error_var"] == pytest.approx(0.02)  # (0.1^2 + 0.1^2) / 1
    b0 = t.loc[("b", 0.0)]
    assert b0["mean_error"] == pytest.approx(-0.2) and math.isnan(b0["error_var"])
    assert ("b", 0.5) not in t.index  # only failed/timeout rows there
    assert list(pd.unique(t.index.get_level_values("label"))) == ["a", "b"]


def test_error_table_mae_bias_counts_and_median_seconds(levels: pd.DataFrame) -> None:
    t = metrics.error_table(levels)
    a = t.loc["a"]
    errors = np.array([0.1, -0.1, 0.3, 0.2, 0.0])
    assert a["cells"] == 5 and a["ok"] == 5 and a["failed"] == 0
    assert a["mae"] == pytest.approx(np.abs(errors).mean())  # 0.14
    assert a["mae"] == pytest.approx(0.14)
    assert a["bias"] == pytest.approx(0.1)
    assert a["error_var"] == pytest.approx(errors.var(ddof=1))
    assert a["rmse"] == pytest.approx(math.sqrt(0.15 / 5))
    assert a["median_seconds"] == pytest.approx(3.0)  # of 1, 3, 2, 10, 4
    b = t.loc["b"]
    assert (b["cells"], b["ok"], b["failed"], b["timeout"], b["skipped"]) == (3, 1, 1, 1, 0)
    assert b["mae"] == pytest.approx(0.2)
    assert b["median_seconds"] == pytest.approx(0.5)  # ok rows only


def _triplet(label: str, K: int, t: int, est: tuple, true: tuple, seed: int = 0) -> list[dict]:
    return [
        {
            "label": label,
            "K": K,
            "triplet": t,
            "member": m,
            "seed": seed,
            "estimate": est[m],
            "true_mi": true[m],
        }
        for m in (0, 1)
    ]


def test_error_components_recover_known_sampling_and_systematic_variances() -> None:
    rng = np.random.default_rng(0)
    records = []
    # e_ij = b_i + s_ij: Var(b) = 0.04^2 (a's own error per distribution), Var(s) = 0.02^2
    for label, sd_b, sd_s in (("a", 0.04, 0.02), ("b", 0.0, 0.03)):
        for i in range(600):
            b = rng.normal(0.01, sd_b) if sd_b else 0.0
            for seed in range(4):
                e = b + rng.normal(0, sd_s)
                records.append({"label": label, "instance_index": i, "seed": seed,
                                "level": i % 2, "true_mi": 0.5, "estimate": 0.5 + e})  # fmt: skip
    records.append({"label": "a", "instance_index": 999, "seed": 0, "level": 0,
                    "true_mi": 0.5, "estimate": 9.0})  # one seed only: left out  # fmt: skip
    t = metrics.error_components(_rows(records))
    assert list(t.index) == ["a", "b"]
    assert t.loc["a", "instances"] == 600 and t.loc["a", "seeds"] == 4
    assert t.loc["a", "sampling_var"] == pytest.approx(0.02**2, rel=0.06)
    assert t.loc["a", "systematic_var"] == pytest.approx(0.04**2, rel=0.15)
    assert t.loc["a", "systematic_share"] == pytest.approx(0.8, abs=0.03)
    # balanced seeds: the bias is the plain mean error of the instances kept
    kept = [r["estimate"] - 0.5 for r in records if r["label"] == "a" and r["instance_index"] < 600]
    assert t.loc["a", "bias"] == pytest.approx(np.mean(kept))
    # no per-distribution error: the systematic part is noise around 0
    assert t.loc["b", "sampling_var"] == pytest.approx(0.03**2, rel=0.06)
    assert abs(t.loc["b", "systematic_var"]) < 0.1 * 0.03**2
    by_level = metrics.error_components(_rows(records), by="level")
    assert by_level.loc[("a", 0), "instances"] == 300
    # two tasks in one frame: split per task and label alike
    both = pd.concat([_rows(records), _rows(records).assign(task="u")], ignore_index=True)
    per_task = metrics.error_components(both)
    assert per_task.loc[("u", "a"), "sampling_var"] == t.loc["a", "sampling_var"]
    # one seed per instance: nothing to split
    single = _rows([r for r in records if r["seed"] == 0])
    assert metrics.error_components(single).empty


def test_order_table_accuracy_per_k() -> None:
    recs = []
    # K=1: three triplets, est orders right, right, wrong -> 2/3
    recs += _triplet("a", 1, 0, (0.5, 0.2), (0.4, 0.1))
    recs += _triplet("a", 1, 1, (0.1, 0.3), (0.2, 0.5))
    recs += _triplet("a", 1, 2, (0.6, 0.2), (0.1, 0.3))
    # the same triplet under another seed counts separately: right
    recs += _triplet("a", 1, 0, (0.3, 0.2), (0.4, 0.1), seed=1)
    # K=2: one right, one triplet with a failed member (left out)
    recs += _triplet("a", 2, 3, (0.2, 0.9), (0.1, 0.8))
    broken = _triplet("a", 2, 4, (0.9, 0.2), (0.1, 0.8))
    broken[1]["status"] = "failed"
    broken[1]["estimate"] = np.nan
    recs += broken
    recs += _triplet("b", 1, 0, (0.1, 0.2), (0.4, 0.1))
    t = metrics.order_table(_rows(recs))
    assert t.loc[("a", 1), "triplets"] == 4
    assert t.loc[("a", 1), "correct"] == 3
    assert t.loc[("a", 1), "accuracy"] == pytest.approx(0.75)
    assert t.loc[("a", 2), "triplets"] == 1
    assert t.loc[("a", 2), "accuracy"] == pytest.approx(1.0)
    assert t.loc[("b", 1), "accuracy"] == pytest.approx(0.0)


def test_order_table_binomial_error() -> None:
    recs = []
    for t, right in enumerate([True, True, True, False]):
        est = (0.5, 0.2) if right else (0.2, 0.5)
        recs += _triplet("a", 1, t, est, (0.4, 0.1))
    t = metrics.order_table(_rows(recs))
    assert t.loc[("a", 1), "accuracy_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))


def test_wilson_interval_matches_scipy_and_keeps_width_at_the_ends() -> None:
    from scipy.stats import binomtest

    for k, n in [(0, 10), (3, 4), (353, 360), (20, 20), (7, 40)]:
        for level in (0.68, 0.95):
            ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
            low, high = metrics.wilson_interval(k, n, level)
            assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    low, high = metrics.wilson_interval([0, 10], [10, 10])
    edge = 1.96**2 / (10 + 1.96**2)  # the closed form at 0 of n (and n of n)
    assert low == pytest.approx([0.0, 1 - edge], abs=1e-4)
    assert high == pytest.approx([edge, 1.0], abs=1e-4)
    recs = []
    for t, right in enumerate([True, True, True, False]):
        recs += _triplet("a", 1, t, (0.5, 0.2) if right else (0.2, 0.5), (0.4, 0.1))
    row = metrics.order_table(_rows(recs)).loc[("a", 1)]
    assert (row["accuracy_low"], row["accuracy_high"]) == pytest.approx(
        metrics.wilson_interval(3, 4)
    )


def test_order_table_keeps_triplet_sets_of_other_task_params_apart() -> None:
    # two runs of other triplet sets (set_seed) number their triplets alike
    first = _triplet("a", 5, 0, (0.5, 0.2), (0.4, 0.1))
    second = _triplet("a", 5, 0, (0.2, 0.5), (0.4, 0.1))
    for rec in first:
        rec["task_params"] = '{"set_seed": 0}'
    for rec in second:
        rec["task_params"] = '{"set_seed": 1}'
    t = metrics.order_table(_rows(first + second))
    assert t.loc[("a", 5), "triplets"] == 2
    assert t.loc[("a", 5), "accuracy"] == pytest.approx(0.5)


def test_order_difference_pairs_the_same_triplets() -> None:
    # outcomes on triplets 0..4: a = 1 1 1 0 1, b = 1 0 0 0 (5: b failed)
    truth = (0.4, 0.1)
    right, wrong = (0.5, 0.2), (0.2, 0.5)
    recs = []
    for t, (ea, eb) in enumerate(
        [(right, right), (right, wrong), (right, wrong), (wrong, wrong), (right, right)]
    ):
        recs += _triplet("a", 3, t, ea, truth)
        part = _triplet("b", 3, t, eb, truth)
        if t == 4:
            part[0]["status"] = "failed"
        recs += part
    diff = metrics.order_difference(_rows(recs), "a", "b")
    row = diff.loc[3]
    # triplet 4 is left out: a = 1 1 1 0, b = 1 0 0 0, differences 0 1 1 0
    assert row["triplets"] == 4
    assert (row["first"], row["second"]) == (0.75, 0.25)
    assert row["difference"] == pytest.approx(0.5)
    assert row["difference_se"] == pytest.approx(np.std([0, 1, 1, 0], ddof=1) / 2)
    with pytest.raises(KeyError, match="'c'"):
        metrics.order_difference(_rows(recs), "a", "c")


def test_auc_table_matches_hand_count() -> None:
    # scores (label): 0.1 (0), 0.4 (0), 0.35 (1), 0.8 (1): 3 of 4 positive/negative pairs ordered
    df = _rows(
        [
            {"label": "a", "dependent": d, "estimate": e, "true_mi": 0.0}
            for e, d in ((0.1, False), (0.4, False), (0.35, True), (0.8, True))
        ]
    )
    t = metrics.auc_table(df, by=[])
    assert t.loc["a", "auc"] == pytest.approx(0.75)
    assert t.loc["a", "positives"] == 2


def test_auc_table_averages_per_trial_aucs() -> None:
    # trial 0: perfect ordering (AUC 1); trial 1: 1 of 4 pairs ordered (AUC 0.25)
    rows = [
        {"label": "a", "trial": 0, "dependent": d, "estimate": e, "true_mi": 0.0}
        for e, d in ((0.1, False), (0.2, False), (0.3, True), (0.4, True))
    ] + [
        {"label": "a", "trial": 1, "dependent": d, "estimate": e, "true_mi": 0.0}
        for e, d in ((0.5, False), (0.9, False), (0.6, True), (0.1, True))
    ]
    df = _rows(rows)
    per_trial = metrics.auc_table(df, by=[], trials=["trial"])
    assert per_trial.loc["a", "auc"] == pytest.approx(0.625)
    assert per_trial.loc["a", "trials"] == 2
    pooled = metrics.auc_table(df, by=[])  # pooled: 7 of 16 pairs ordered, one tie
    assert pooled.loc["a", "auc"] == pytest.approx(7.5 / 16)


def test_auc_summary_of_a_run_whose_cells_all_failed_is_empty_not_an_error() -> None:
    df = _rows(
        [
            {"label": "a", "trial": t, "dependent": d, "estimate": np.nan, "true_mi": np.nan,
             "status": "failed", "d": 2, "n_samples": 200}
            for t in range(2)
            for d in (False, True)
        ]
    )  # fmt: skip
    table = metrics.auc_table(df, trials=["trial", "seed"])
    assert table.empty
    assert {"count", "positives", "auc", "auc_se", "trials"} <= set(table.columns)
    views = metrics.summarize(df, "auc")
    assert views["auc"].empty and views["errors"].loc["a", "failed"] == 4


def test_auc_table_standard_error_by_hand() -> None:
    # placements: positives 0.35 -> 1/2, 0.8 -> 1; negatives 0.1 -> 1, 0.4 -> 1/2
    # var = var([1/2, 1]) / 2 + var([1, 1/2]) / 2 = 0.125 / 2 + 0.125 / 2
    df = _rows(
        [
            {"label": "a", "dependent": d, "estimate": e, "true_mi": 0.0}
            for e, d in ((0.1, False), (0.4, False), (0.35, True), (0.8, True))
        ]
    )
    t = metrics.auc_table(df, by=[])
    assert t.loc["a", "auc_se"] == pytest.approx(math.sqrt(0.125))


def test_delong_auc_equals_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    truth = rng.random(60) < 0.4
    scores = np.round(rng.normal(size=(3, 60)) + truth, 1)  # rounding makes ties
    auc, cov = metrics.delong(truth, scores)
    for row, a in zip(scores, auc, strict=True):
        assert a == pytest.approx(roc_auc_score(truth, row))
    assert cov.shape == (3, 3)
    assert np.allclose(cov, cov.T)


def test_delong_covariance_matches_monte_carlo() -> None:
    # two correlated scores of 50 + 50 items, 3000 independent trials: the spread of the
    # AUCs (and of their difference) over trials against DeLong's per-trial estimate
    rng = np.random.default_rng(11)
    truth = np.repeat([True, False], 50)
    aucs, covs = [], []
    for _ in range(3000):
        common = rng.normal(size=100) + 0.8 * truth
        a = common + 0.4 * rng.normal(size=100)
        b = common + 0.4 * rng.normal(size=100) + 0.3 * truth
        auc, cov = metrics.delong(truth, np.stack([a, b]))
        aucs.append(auc)
        covs.append(cov)
    aucs, covs = np.array(aucs), np.array(covs)
    empirical = np.cov(aucs.T)
    estimated = covs.mean(axis=0)
    assert estimated[0, 0] == pytest.approx(empirical[0, 0], rel=0.1)
    assert estimated[1, 1] == pytest.approx(empirical[1, 1], rel=0.1)
    assert estimated[0, 1] == pytest.approx(empirical[0, 1], rel=0.15)
    diff_var = estimated[0, 0] + estimated[1, 1] - 2 * estimated[0, 1]
    assert diff_var == pytest.approx(np.var(aucs[:, 0] - aucs[:, 1], ddof=1), rel=0.15)
    assert diff_var < 0.5 * estimated[0, 0]  # pairing: far below the separate variances


def test_delong_null_variance_matches_exact() -> None:
    # no separation, continuous scores: Var(AUC) = (m + n + 1) / (12 m n) exactly
    rng = np.random.default_rng(5)
    truth = np.repeat([True, False], [30, 20])
    var = np.mean([metrics.delong(truth, rng.normal(size=50))[1][0, 0] for _ in range(3000)])
    assert var == pytest.approx((30 + 20 + 1) / (12 * 30 * 20), rel=0.05)


def test_delong_rejects_one_class_and_bad_shape() -> None:
    with pytest.raises(ValueError, match="both classes"):
        metrics.delong(np.ones(4, dtype=bool), np.arange(4.0))
    with pytest.raises(ValueError, match="items"):
        metrics.delong(np.array([True, False]), np.arange(3.0))


def _paired_rows() -> pd.DataFrame:
    # estimator a ranks 3 of 4 pairs right in trial 0 and all in trial 1; b is a's
    # trial-0 scores in reverse order of rows, matched by instance_id
    rows = []
    scores = {0: (0.1, 0.4, 0.35, 0.8), 1: (0.1, 0.2, 0.3, 0.4)}
    labels = (False, False, True, True)
    for trial, est in scores.items():
        for i, (e, d) in enumerate(zip(est, labels, strict=True)):
            rows.append({"label": "a", "trial": trial, "instance_id": f"{trial}/{i}",
                         "dependent": d, "estimate": e, "true_mi": 0.0})  # fmt: skip
            rows.append({"label": "b", "trial": trial, "instance_id": f"{trial}/{i}",
                         "dependent": d, "estimate": 1.0 - e, "true_mi": 0.0})  # fmt: skip
    df = _rows(rows)
    return df.iloc[::-1].reset_index(drop=True)


def test_auc_difference_pairs_samples() -> None:
    df = _paired_rows()
    same = metrics.auc_difference(df, "a", "a", by=[])
    assert same.loc[0, "difference"] == 0.0 and same.loc[0, "difference_se"] == 0.0
    per = metrics.auc_difference(df, "a", "b", by=["trial"])
    # b = 1 - a: AUC_b = 1 - AUC_a, and the two placements are exact negatives
    assert per.loc[0, "first"] == pytest.approx(0.75)
    assert per.loc[0, "second"] == pytest.approx(0.25)
    assert per.loc[0, "difference"] == pytest.approx(0.5)
    assert per.loc[0, "difference_se"] == pytest.approx(2 * math.sqrt(0.125))
    assert per.loc[1, "difference"] == pytest.approx(1.0)
    assert per.loc[1, "difference_se"] == pytest.approx(0.0)
    mean = metrics.auc_difference(df, "a", "b", by=[], trials=["trial"])
    assert mean.loc[0, "difference"] == pytest.approx(0.75)
    assert mean.loc[0, "difference_se"] == pytest.approx(2 * math.sqrt(0.125) / 2)
    assert mean.loc[0, "trials"] == 2 and mean.loc[0, "pairs"] == 8
    table = metrics.auc_table(df, by=[], trials=["trial"])
    assert table.loc["a", "auc"] == pytest.approx(mean.loc[0, "first"])


def test_auc_difference_unknown_estimator_and_no_common_sample() -> None:
    df = _paired_rows()
    with pytest.raises(KeyError, match="'c'.*have: "):
        metrics.auc_difference(df, "a", "c")
    moved = df.assign(
        instance_id=np.where(df["label"] == "b", "x" + df["instance_id"], df["instance_id"])
    )
    with pytest.raises(ValueError, match="no sample in common"):
        metrics.auc_difference(moved, "a", "b")


def test_rank_agreement_rescaled_errors() -> None:
    truth = np.array([1.0, 2.0, 4.0])
    estimate = np.array([0.1, 0.2, 0.5])  # c = sum(e t) / sum(t^2) = 2.5 / 21
    out = metrics.rank_agreement(estimate, truth)
    c = 2.5 / 21
    assert out["spearman"] == pytest.approx(1.0)
    assert out["c"] == pytest.approx(c)
    rescaled = estimate / c
    assert out["rescaled_mae"] == pytest.approx(np.mean(np.abs(rescaled - truth)))
    assert out["rescaled_rel_error"] == pytest.approx(np.mean(np.abs(rescaled - truth) / truth))


def test_rank_agreement_ties_truths_that_differ_by_rounding() -> None:
    from scipy.stats import spearmanr

    logs = np.log([24, 42, 26, 17])
    a, b = sum(logs), sum(logs[[1, 3, 2, 0]])  # the same truth summed in another order
    assert a != b and abs(a - b) < 1e-12
    truth = np.array([a, 12.5, b, 14.0, 13.2])
    estimate = np.array([0.3, 0.1, 0.5, 0.2, 0.4])
    exact = spearmanr(estimate, [13.0, 12.5, 13.0, 14.0, 13.2]).statistic  # a true tie
    assert metrics.rank_agreement(estimate, truth)["spearman"] == pytest.approx(exact)
    assert spearmanr(estimate, truth).statistic != pytest.approx(exact)  # untied it differs
    # truths farther apart than TRUTH_TIE stay apart
    apart = truth + np.array([0, 0, 10 * metrics.TRUTH_TIE, 0, 0])
    untied = spearmanr(estimate, [13.0, 12.5, 13.0 + 1e-6, 14.0, 13.2]).statistic
    assert metrics.rank_agreement(estimate, apart)["spearman"] == pytest.approx(untied)
    # a NaN truth leaves the coefficient undefined, as scipy has it
    assert np.isnan(metrics.rank_agreement([0.1, 0.2, 0.3], [1.0, 2.0, np.nan])["spearman"])


def test_summarize_picks_views_from_columns(levels: pd.DataFrame) -> None:
    views = metrics.summarize(levels)
    assert set(views) == {"errors", "levels"}
    order = _rows(_triplet("a", 1, 0, (0.5, 0.2), (0.4, 0.1)))
    assert set(metrics.summarize(order)) == {"errors", "order"}
    assert set(metrics.summarize(levels, summary="error")) == {"errors"}
    # the same distributions under two seeds: the variance split joins the errors
    twice = pd.concat([levels.assign(instance_index=range(len(levels)))] * 2, ignore_index=True)
    twice["seed"] = [0] * len(levels) + [1] * len(levels)
    assert set(metrics.summarize(twice)) == {"errors", "levels", "components"}
    assert "error variance, sampling vs systematic (nats^2)" in metrics.format_summary(
        metrics.summarize(twice)
    )


def test_paper_tables_lay_levels_and_k_out_as_columns(levels: pd.DataFrame) -> None:
    tables = metrics.paper_tables(metrics.summarize(levels))
    mean = tables["mean error per MI level (nats)"]
    assert list(mean.columns) == ["0.0", "0.5"]
    assert mean.loc["a", "0.0"] == pytest.approx(0.1)
    assert math.isnan(mean.loc["b", "0.5"])
    var = tables["error variance per MI level"]
    assert var.loc["a", "0.5"] == pytest.approx(0.02)
    order = _rows(
        _triplet("a", 1, 0, (0.5, 0.2), (0.4, 0.1)) + _triplet("a", 1, 1, (0.5, 0.2), (0.1, 0.4))
    )
    acc = metrics.paper_tables(metrics.summarize(order))["order accuracy (%) per K"]
    assert acc.loc["a", "1"] == pytest.approx(50.0)
    text = metrics.format_summary(metrics.summarize(levels))
    assert "mean error per MI level" in text and "median_seconds" in text


def test_paper_tables_keep_estimators_in_run_order() -> None:
    df = _rows(
        [
            {"label": lab, "level": lvl, "true_mi": lvl, "estimate": lvl + err}
            for lab, err in (("ksg", 0.01), ("kde", -0.2))
            for lvl in (0.1, 0.0)
        ]
    )
    mean = metrics.paper_tables(metrics.summarize(df))["mean error per MI level (nats)"]
    assert list(mean.index) == ["ksg", "kde"] and list(mean.columns) == ["0.0", "0.1"]
    assert mean.loc["kde", "0.1"] == pytest.approx(-0.2)


def test_auc_difference_refuses_rows_that_name_no_sample() -> None:
    df = _paired_rows().drop(columns="instance_id")  # trial and seed alone name no sample
    with pytest.raises(ValueError, match="do not name one sample each"):
        metrics.auc_difference(df, "a", "b", by=[], trials=["trial"])


def test_auc_standard_error_of_a_mean_skips_one_class_trials() -> None:
    # trial 0 as in test_auc_table_standard_error_by_hand; trial 1 has no negatives
    rows = [
        {"label": "a", "trial": 0, "dependent": d, "estimate": e, "true_mi": 0.0}
        for e, d in ((0.1, False), (0.4, False), (0.35, True), (0.8, True))
    ] + [{"label": "a", "trial": 1, "dependent": True, "estimate": 0.5, "true_mi": 0.0}]
    t = metrics.auc_table(_rows(rows), by=[], trials=["trial"])
    assert t.loc["a", "trials"] == 1
    assert t.loc["a", "auc"] == pytest.approx(0.75)
    assert t.loc["a", "auc_se"] == pytest.approx(math.sqrt(0.125))


def test_mae_difference_pairs_instances_by_hand() -> None:
    # instance i: truth 1.0; a errs by +0.1, -0.3, +0.2; b by -0.2, +0.1, +0.6; b also has
    # an instance a lacks (not counted)
    rows = []
    for i, (ea, eb) in enumerate(((0.1, -0.2), (-0.3, 0.1), (0.2, 0.6))):
        rows.append({"label": "a", "instance_id": f"i{i}", "true_mi": 1.0, "estimate": 1 + ea})
        rows.append({"label": "b", "instance_id": f"i{i}", "true_mi": 1.0, "estimate": 1 + eb})
    rows.append({"label": "b", "instance_id": "i9", "true_mi": 1.0, "estimate": 9.0})
    out = metrics.mae_difference(_rows(rows), "a", "b").iloc[0]
    gaps = np.array([0.1 - 0.2, 0.3 - 0.1, 0.2 - 0.6])
    assert out["pairs"] == 3
    assert out["first"] == pytest.approx(0.2) and out["second"] == pytest.approx(0.3)
    assert out["difference"] == pytest.approx(gaps.mean())
    assert out["difference_se"] == pytest.approx(gaps.std(ddof=1) / math.sqrt(3))
    assert out["z"] == pytest.approx(gaps.mean() / (gaps.std(ddof=1) / math.sqrt(3)))


def test_separation_is_the_mean_difference_over_the_pooled_sd():
    labels = np.array([True, True, False, False])
    assert metrics.separation(labels, np.array([3.0, 5.0, 0.0, 2.0])) == pytest.approx(
        3 / math.sqrt(2)
    )
    assert metrics.separation(labels, np.array([0.0, 2.0, 3.0, 5.0])) == pytest.approx(
        -3 / math.sqrt(2)
    )
    assert metrics.separation(labels, np.ones(4)) == 0.0
    # 0/1 labels are classes, not indices
    assert metrics.separation(
        np.array([1, 1, 0, 0]), np.array([3.0, 5.0, 0.0, 2.0])
    ) == pytest.approx(3 / math.sqrt(2))
    assert math.isnan(metrics.separation(labels, np.array([3.0, np.nan, 0.0, 2.0])))
    assert metrics.separation(labels, np.array([1.0, 1.0, 0.0, 0.0])) == math.inf
    with pytest.raises(ValueError, match="at least two scores of each class"):
        metrics.separation(np.array([True, False, False]), np.array([1.0, 0.0, 0.5]))
