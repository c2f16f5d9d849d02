"""The regression gate: tolerance arithmetic on hand-made rows, and real runs through the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import digamma

import harness
import results
from estimators.ksg import KSG
from harness.cli import main
from harness.compare import Tolerances, compare, parse_tolerances
from harness.interface import InputError, SpecError


def rows(label: str, errors, seconds=0.1, truth=0.5, status="ok", **meta) -> pd.DataFrame:
    """Result rows of one estimator, one cell per error (instance ids 0, 1, ...)."""
    errors = np.asarray(errors, dtype=float)
    count = len(errors)
    df = pd.DataFrame(
        {
            "task": "toy",
            "task_params": '{"n":100}',
            "estimator": label,
            "estimator_params": "{}",
            "instance_index": range(count),
            "instance_id": [str(i) for i in range(count)],
            "seed": 0,
            "label": label,
            "status": status,
            "true_mi": truth,
            "estimate": truth + errors,
            "error": errors,
            "seconds": seconds,
        }
    )
    for key, values in meta.items():
        df[key] = values
    return df


def check(result, estimator: str, metric: str, scope: str = "all") -> pd.Series:
    c = result.checks
    hit = c[(c["estimator"] == estimator) & (c["metric"] == metric) & (c["scope"] == scope)]
    assert len(hit) == 1, (estimator, metric, scope)
    return hit.iloc[0]


# -- tolerance logic, exact numbers ---------------------------------------------


def test_identical_runs_pass():
    base = rows("ksg", [0.01, -0.03])
    result = compare(base, base.copy())
    assert not result.regressed
    assert result.matched == 2
    assert check(result, "ksg", "mae")["change"] == 0.0


def test_mae_increase_at_the_tolerance_passes_and_beyond_fails():
    base = rows("ksg", [0.01, -0.01])  # MAE 0.01
    at = compare(base, rows("ksg", [0.015, -0.015]))  # MAE 0.015: +0.005, the default
    mae = check(at, "ksg", "mae")
    assert mae["baseline"] == pytest.approx(0.01)
    assert mae["candidate"] == pytest.approx(0.015)
    assert mae["change"] == pytest.approx(0.005)
    assert not mae["regressed"] and not at.regressed
    over = compare(base, rows("ksg", [0.016, -0.015]))  # MAE 0.0155
    assert check(over, "ksg", "mae")["regressed"]
    assert over.regressed
    assert not compare(base, rows("ksg", [0.016, -0.015]), Tolerances(mae=0.006)).regressed


def test_better_accuracy_is_not_a_regression():
    assert not compare(rows("ksg", [0.2, -0.2]), rows("ksg", [0.0, 0.0])).regressed


def test_level_bias_is_gated_per_level_on_absolute_mean_error():
    level = [0.0, 0.0, 0.5, 0.5]
    base = rows("kde", [0.01, 0.03, -0.02, -0.02], level=level)  # |mean|: 0.02, 0.02
    # level 0.5 flips sign at the same size (no change); level 0.0 grows to 0.035
    cand = rows("kde", [0.03, 0.04, 0.02, 0.02], level=level)
    result = compare(base, cand, Tolerances(mae=1.0))
    low, high = (
        check(result, "kde", "|mean error|", "level=0"),
        check(result, "kde", "|mean error|", "level=0.5"),
    )
    assert low["change"] == pytest.approx(0.015) and low["regressed"]
    assert high["change"] == pytest.approx(0.0) and not high["regressed"]
    assert result.regressed
    assert not compare(base, cand, Tolerances(mae=1.0, level_bias=0.015)).regressed


def order_rows(label: str, estimates) -> pd.DataFrame:
    """Four triplets: member 0 has truth 0.5, member 1 truth 0.3."""
    truth = np.tile([0.5, 0.3], 4)
    est = np.asarray(estimates, dtype=float)
    df = rows(label, est - truth, truth=truth)
    df["triplet"] = np.repeat(np.arange(4), 2)
    df["member"] = np.tile([0, 1], 4)
    df["K"] = 1
    return df


def test_order_accuracy_drop():
    base = order_rows("infonet", [0.5, 0.3] * 4)  # 4 of 4 in order
    cand = order_rows("infonet", [0.5, 0.3, 0.5, 0.3, 0.5, 0.3, 0.3, 0.5])  # 3 of 4
    lenient = Tolerances(mae=1.0)
    acc = check(compare(base, cand, lenient), "infonet", "order accuracy")
    assert (acc["baseline"], acc["candidate"]) == (1.0, 0.75)
    assert acc["change"] == -0.25 and acc["regressed"]
    assert not compare(base, cand, Tolerances(mae=1.0, order_accuracy=0.25)).regressed


def test_auc_drop():
    dependent = [True, True, False, False]
    base = rows("ksg", [0.0, 0.0, 0.0, 0.0], truth=[0.5, 0.4, 0.1, 0.0], dependent=dependent)
    # scores 0.5, 0.4 vs 0.45, 0.1: 3 of 4 positive-negative pairs ordered, AUC 0.75
    cand = base.assign(estimate=[0.5, 0.4, 0.45, 0.1])
    auc = check(compare(base, cand, Tolerances(mae=1.0)), "ksg", "roc auc")
    assert (auc["baseline"], auc["candidate"]) == (1.0, 0.75)
    assert auc["regressed"]
    assert not compare(base, cand, Tolerances(mae=1.0, auc=0.25)).regressed


def test_auc_check_averages_the_seeds_as_the_report_does():
    dependent = [True, True, False, False]
    seeds = [
        rows("ksg", [0.0] * 4, truth=[0.5, 0.4, 0.45, 0.1], dependent=dependent),  # AUC 0.75
        rows("ksg", [0.0] * 4, truth=[1.5, 1.4, 1.0, 1.1], dependent=dependent).assign(seed=1),
    ]
    base = pd.concat(seeds, ignore_index=True)
    # the mean of 0.75 and 1.0; the 8 rows pooled into one AUC would give 11/16
    auc = check(compare(base, base), "ksg", "roc auc")
    assert auc["baseline"] == auc["candidate"] == 0.875


def test_score_tasks_are_not_gated_on_mae():
    """Independence-test estimates are scores: shifting them all by a nat keeps the
    AUC, so it is no regression, and no MAE check is made."""
    dependent = [True, True, False, False]
    base = rows("ksg", [0.0] * 4, truth=[0.5, 0.4, 0.0, 0.0], dependent=dependent)
    cand = base.assign(estimate=base["estimate"] + 1.0)
    result = compare(base, cand)
    assert not result.regressed
    assert list(result.checks["metric"]) == [
        "roc auc",
        "median seconds",
        "seconds / baseline seconds",
    ]


def test_spearman_drop_on_rank_tasks():
    truth = [1.0, 2.0, 3.0, 4.0]
    base = rows("ksg", [0.0] * 4, truth=truth, choice=[0, 1, 2, 3])
    # candidate estimates 1, 2, 4, 3: one swapped pair, Spearman 1 - 6*2/(4*15) = 0.8
    cand = base.assign(estimate=[1.0, 2.0, 4.0, 3.0])
    rho = check(compare(base, cand, Tolerances(mae=1.0)), "ksg", "spearman")
    assert rho["baseline"] == pytest.approx(1.0) and rho["candidate"] == pytest.approx(0.8)
    assert rho["regressed"]
    assert not compare(base, cand, Tolerances(mae=1.0, spearman=0.2 + 1e-9)).regressed


def test_missing_and_failed_cells_are_regressions():
    base = rows("ksg", [0.0, 0.0, 0.0, 0.0])
    base.loc[3, "status"] = "failed"
    cand = rows("ksg", [0.0, 0.0, 0.0, 0.0]).drop(index=0)  # instance 0 missing
    cand.loc[1, ["status", "estimate", "error"]] = ["timeout", np.nan, np.nan]
    result = compare(base, cand)
    lost = result.cells.set_index("instance_id")["candidate_status"].to_dict()
    assert lost == {"0": "missing", "1": "timeout"}  # instance 3 failed in both: not lost
    assert result.regressed
    assert not result.checks["regressed"].any()  # accuracy on cells ok in both is unchanged


def test_cells_are_matched_by_instance_index_not_by_their_display_name():
    # ids written with :g collide (rho=0.1234561 and 0.1234562 are both "rho=0.123456"),
    # and a cell whose instance failed to generate has no id at all
    base = rows("ksg", [0.0, 0.0, 0.0]).assign(instance_id=["rho=0.123456"] * 2 + ["rho=0.5"])
    assert not compare(base, base).regressed
    cand = base.copy()
    cand.loc[1, ["status", "instance_id", "estimate", "error"]] = ["failed", None, np.nan, np.nan]
    result = compare(base, cand)
    assert result.cells[["instance_index", "instance_id", "candidate_status"]].values.tolist() == [
        [1, "rho=0.123456", "failed"]
    ]
    assert result.regressed and result.matched == 3


def test_cells_only_in_the_candidate_are_ignored():
    base = rows("ksg", [0.0, 0.0])
    cand = rows("ksg", [0.0, 0.0, 0.9])
    result = compare(base, cand)
    assert not result.regressed and result.new_cells == 1


def test_parameters_at_their_default_do_not_unmatch_cells():
    """A baseline stored before a parameter existed matches a candidate that stores it at
    its default; the same parameter at another value is another cell."""
    base = rows("ksg", [0.0, 0.0])
    base["estimator_params"] = '{"k":5}'
    at_default = base.copy()
    at_default["estimator_params"] = '{"k":5,"standardize":false}'
    result = compare(base, at_default)
    assert result.matched == 2 and not result.regressed
    other = base.copy()
    other["estimator_params"] = '{"k":5,"standardize":true}'
    with pytest.raises(InputError, match="share no cell"):
        compare(base, other)
    # numbers match by value: kde's bandwidth (default "scott") keeps the type it was given
    one, one_float = rows("kde", [0.0, 0.0]), rows("kde", [0.0, 0.0])
    one["estimator_params"] = '{"bandwidth":1}'
    one_float["estimator_params"] = '{"bandwidth":1.0}'
    assert compare(one, one_float).matched == 2


def test_speed_is_gated_only_as_a_ratio_to_ksg_in_the_same_run():
    base = pd.concat([rows("ksg", [0.0, 0.0], seconds=0.1), rows("kde", [0.0, 0.0], seconds=0.2)])

    def cand(ksg_s: float, kde_s: float) -> pd.DataFrame:
        return pd.concat(
            [rows("ksg", [0.0, 0.0], seconds=ksg_s), rows("kde", [0.0, 0.0], seconds=kde_s)]
        )

    slow_machine = compare(base, cand(1.0, 2.0))  # everything 10x slower: ratio 2 stays 2
    assert not slow_machine.regressed
    assert check(slow_machine, "kde", "median seconds")["change"] == pytest.approx(1.8)
    assert not check(slow_machine, "kde", "median seconds")["gated"]
    at_bound = check(compare(base, cand(0.1, 0.6)), "kde", "seconds / ksg seconds", "same run")
    assert at_bound["candidate"] == pytest.approx(6.0) and not at_bound["regressed"]
    assert compare(base, cand(0.1, 0.61)).regressed  # ratio 6.1 > 3 x 2
    assert not compare(base, cand(0.1, 0.61), Tolerances(speed_ratio=float("inf"))).regressed
    assert not compare(base, cand(0.1, 0.61), Tolerances(speed_ratio=3.05)).regressed
    # a slower reference shrinks every ratio: its own time is gated, loosely (machines differ)
    slow_ksg = compare(base, cand(1.5, 0.2))  # ksg 15x slower; kde's ratio falls to 0.13
    own = check(slow_ksg, "ksg", "seconds / baseline seconds", "across runs")
    assert own["candidate"] == pytest.approx(15.0) and own["regressed"] and slow_ksg.regressed
    assert not compare(base, cand(1.5, 0.2), Tolerances(reference_slowdown=20)).regressed
    assert not compare(base, cand(1.0, 0.2)).regressed  # 10x: at the bound


def test_runs_of_different_grids_are_an_error():
    with pytest.raises(InputError, match="share no cell"):
        compare(rows("ksg", [0.0]), rows("ksg", [0.0]).assign(seed=1))


def test_a_reference_in_neither_run_is_an_error_naming_it():
    base = pd.concat([rows("ksg", [0.0, 0.0]), rows("kde", [0.0, 0.0])])
    with pytest.raises(SpecError) as info:
        compare(base, base.copy(), Tolerances(reference="kzg"))
    assert str(info.value) == (
        "speed-ratio reference 'kzg' is an estimator of neither run (did you mean 'ksg'?); "
        "estimators present: kde, ksg"
    )
    # a reference in one of the runs, missing from a task's compared cells: a note, as before
    cand = rows("ksg", [0.0, 0.0])
    result = compare(base, cand, Tolerances(reference="kde"))
    assert "toy: no 'kde' rows, so no speed-ratio check" in result.notes
    # the default reference may be absent altogether
    only_kde = rows("kde", [0.0, 0.0])
    assert "toy: no 'ksg' rows, so no speed-ratio check" in compare(only_kde, only_kde).notes


def test_parse_tolerances():
    tol = parse_tolerances("mae=0.01, order_accuracy=0.05,speed_ratio=inf,reference=kde")
    assert tol == Tolerances(
        mae=0.01, order_accuracy=0.05, speed_ratio=float("inf"), reference="kde"
    )
    assert parse_tolerances("auc=0.1", tol).mae == 0.01  # keeps the base
    for bad, match in [
        ("bias=0.1", "bad tolerance"),
        ("mae", "bad tolerance"),
        ("mae=x", "must be a number"),
        ("mae=-0.1", ">= 0"),
        ("speed_ratio=0.5", ">= 1"),
        ("mae=0.1,mae=0.2", "tolerance mae given twice"),
    ]:
        with pytest.raises(SpecError, match=match):
            parse_tolerances(bad)


# -- the gate on real runs --------------------------------------------------------


class OffByOneKSG(KSG):
    """KSG with the classic bug psi(k - 1) for psi(k): every estimate 1/(k-1) too low."""

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return super()._estimate(x, y) + float(digamma(self.k - 1) - digamma(self.k))


TASK = "gmm_levels:per_level=1"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    store = tmp_path_factory.mktemp("compare") / "runs.sqlite"
    common = dict(task=TASK, n=500, seeds=[0], store=store, progress=False)
    good = harness.run(["ksg", "kde"], run_id="good", **common)
    again = harness.run(["ksg", "kde"], run_id="again", **common)
    bad = harness.run([OffByOneKSG(), "kde"], run_id="bad", **common)
    return store, good, again, bad


def test_the_bug_shifts_ksg_by_a_quarter_nat(runs):
    _, good, _, bad = runs
    shift = (
        bad.loc[bad["estimator"] == "ksg", "estimate"].to_numpy()
        - good.loc[good["estimator"] == "ksg", "estimate"].to_numpy()
    )
    np.testing.assert_allclose(shift, -0.25, atol=1e-12)  # digamma(4) - digamma(5) = -1/4


def test_gate_passes_a_rerun_and_fails_the_bug(runs, capsys):
    store, good, again, bad = runs
    # timings on a shared test machine are noise: neither ratios nor KSG's own time gated
    no_speed = Tolerances(speed_ratio=float("inf"), reference_slowdown=float("inf"))
    assert not compare(good, again, no_speed).regressed
    result = compare(good, bad, no_speed)
    assert result.regressed
    bad_checks = result.regressions
    assert set(bad_checks["estimator"]) == {"ksg"}  # kde untouched
    assert "mae" in set(bad_checks["metric"])
    tol = ["--tolerance", "speed_ratio=inf,reference_slowdown=inf"]
    assert main(["compare", "good", "again", "--store", str(store), *tol]) == 0
    assert main(["compare", "good", "bad", "--store", str(store), *tol]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "REGRESSION" in out


def test_gate_reads_a_committed_export(runs, tmp_path):
    store, good, _, _ = runs
    path = results.write(good, tmp_path / "baseline.csv")
    tol = ["--tolerance", "speed_ratio=inf"]
    assert main(["compare", str(path), "again", "--store", str(store), *tol]) == 0
    assert main(["compare", str(path), "bad", "--store", str(store), *tol]) == 1
    assert main(["compare", str(path), "nope", "--store", str(store)]) == 2  # unknown run


def test_gate_refuses_a_misspelt_reference(runs, capsys):
    store = runs[0]
    tol = ["--tolerance", "reference=kzg"]
    assert main(["compare", "good", "again", "--store", str(store), *tol]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "error: speed-ratio reference 'kzg' is an estimator of neither run "
        "(did you mean 'ksg'?); estimators present: kde, ksg\n"
    )


def test_gate_names_a_store_that_is_a_directory(runs, tmp_path, capsys):
    path = results.write(runs[1], tmp_path / "baseline.csv")
    assert main(["compare", str(path), "again", "--store", str(tmp_path)]) == 2
    assert f"results store {tmp_path} is a directory" in capsys.readouterr().err
