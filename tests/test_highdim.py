"""highdim_independence and highdim_order: defining statistics, truth, layout, metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import estimators
import harness
import tasks
from ground_truth.analytic import mvn_mi
from harness import metrics
from harness.interface import SpecError
from tasks.highdim_independence import DEPENDENCES, true_mi
from tasks.highdim_order import triplet_model


def _population_cov(dependence: str, d: int) -> np.ndarray:
    """Joint covariance of (X, Y) written from the paper's formulas as Y = (L X + Z) / sqrt 2."""
    if dependence == "one_feature":
        lin = np.full((d, d), 1.0 / math.sqrt(d))
    elif dependence == "two_features":
        m1 = d // 2
        lin = np.zeros((d, d))
        lin[:m1, :m1] = 1.0 / d
        lin[m1:, m1:] = 1.0 / d
    else:
        lin = np.eye(d)
    cxy = lin.T / math.sqrt(2.0)  # Cov(X, Y) = Cov(X, X) L^T / sqrt 2
    cyy = (lin @ lin.T + np.eye(d)) / 2.0
    return np.block([[np.eye(d), cxy], [cxy.T, cyy]])


# -- highdim_independence ----------------------------------------------------------


@pytest.mark.parametrize("dependence", DEPENDENCES)
@pytest.mark.parametrize("d", [5, 16])
def test_independence_truth_is_mvn_mi_of_the_paper_covariance(dependence: str, d: int) -> None:
    assert true_mi(dependence, d) == pytest.approx(
        mvn_mi(_population_cov(dependence, d), d), rel=1e-10
    )


def test_independence_truth_closed_forms() -> None:
    assert true_mi("one_feature", 16) == pytest.approx(0.5 * math.log(17))
    assert true_mi("two_features", 16) == pytest.approx(math.log(1.25))
    assert true_mi("independent_coords", 128) == pytest.approx(64 * math.log(2))


@pytest.mark.parametrize("dependence", DEPENDENCES)
def test_independence_samples_match_covariance_and_labels(dependence: str) -> None:
    d, n = 5, 40_000
    task = tasks.make(f"highdim_independence:dependence={dependence},d={d},n={n}")
    dep, ind = task.instance(3, seed=1), task.instance(50 + 3, seed=1)
    pop = _population_cov(dependence, d)
    emp = np.cov(np.hstack([dep.x, dep.y]).T)
    assert np.abs(emp - pop).max() < 0.05
    assert mvn_mi(emp, d) == pytest.approx(dep.true_mi, abs=0.02)
    # independent pair: same Y marginal, no cross-covariance, zero truth
    emp_ind = np.cov(np.hstack([ind.x, ind.y]).T)
    assert np.abs(emp_ind[:d, d:]).max() < 0.03
    assert np.abs(emp_ind[d:, d:] - pop[d:, d:]).max() < 0.05
    assert mvn_mi(emp_ind, d) < 0.005
    assert ind.true_mi == 0.0
    assert dep.meta == {"dependent": 1, "dependence": dependence, "d": d, "trial": 0}
    assert ind.meta["dependent"] == 0


@pytest.mark.parametrize("d", [6, 16])
def test_notebook_recipe_two_features_truth_and_samples(d: int) -> None:
    # Y_i = (s_1 + Z_i) / (d sqrt 2) for every i, s_1 = sum of the first d/2 coords of X
    m1 = d // 2
    lin = np.zeros((d, d))
    lin[:, :m1] = 1.0
    scale = d * math.sqrt(2.0)
    cxy = lin.T / scale
    cyy = (lin @ lin.T + np.eye(d)) / scale**2
    pop = np.block([[np.eye(d), cxy], [cxy.T, cyy]])
    assert true_mi("two_features", d, "notebook") == pytest.approx(mvn_mi(pop, d), rel=1e-10)
    assert true_mi("two_features", d, "notebook") == pytest.approx(0.5 * math.log1p(m1 * d))
    task = tasks.make(f"highdim_independence:dependence=two_features,d={d},n=40000,recipe=notebook")
    dep, ind = task.instance(0, seed=2), task.instance(50, seed=2)
    assert dep.true_mi == true_mi("two_features", d, "notebook")
    # five standard errors of each sample covariance: sd = sqrt((s_ii s_jj + s_ij^2) / n)
    emp = np.cov(np.hstack([dep.x, dep.y]).T)
    var = np.diag(pop)
    se = np.sqrt((np.outer(var, var) + pop**2) / 40_000)
    assert np.all(np.abs(emp - pop) < 5 * se)
    # independent pair of the notebook: Y is plain standard normal noise
    emp_ind = np.cov(np.hstack([ind.x, ind.y]).T)
    assert np.abs(emp_ind - np.eye(2 * d)).max() < 0.03
    assert ind.true_mi == 0.0


@pytest.mark.parametrize("dependence", ["one_feature", "independent_coords"])
def test_notebook_recipe_keeps_the_other_dependences(dependence: str) -> None:
    spec = f"highdim_independence:dependence={dependence},d=8,n=64"
    paper, notebook = tasks.make(spec), tasks.make(spec + ",recipe=notebook")
    a, b = paper.instance(5, seed=0), notebook.instance(5, seed=0)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.true_mi == b.true_mi
    with pytest.raises(SpecError, match="recipe must be one of"):
        tasks.make(spec + ",recipe=code").n_instances()


def test_independence_layout_and_determinism() -> None:
    task = tasks.make("highdim_independence:d=4,n=50,trials=3")
    assert task.n_instances() == 300
    labels = [task.instance(i, 0).meta for i in (0, 49, 50, 99, 100, 250)]
    assert [m["dependent"] for m in labels] == [1, 1, 0, 0, 1, 0]
    assert [m["trial"] for m in labels] == [0, 0, 0, 0, 1, 2]
    a, b, c = task.instance(7, 3), task.instance(7, 3), task.instance(7, 4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    with pytest.raises(SpecError, match="dependence must be one of"):
        tasks.make("highdim_independence:dependence=three").n_instances()


def test_independence_auc_through_the_runner(tmp_path) -> None:
    # One feature, d=2: I = ln(3)/2 = 0.55 nats; KSG separates it perfectly at n=300.
    df = harness.run(
        ["ksg"],
        "highdim_independence:d=2,n=300",
        store=tmp_path / "r.sqlite",
        progress=False,
    )
    views = metrics.summarize(df)
    auc = views["auc"]
    assert list(auc.index) == [("ksg", 2, 300)]
    assert auc["count"].iloc[0] == 100 and auc["positives"].iloc[0] == 50
    assert auc["auc"].iloc[0] == pytest.approx(1.0)


def test_auc_of_perfect_and_random_scores() -> None:
    rng = np.random.default_rng(0)
    dep = np.repeat([1, 0], 5000)
    df = pd.DataFrame(
        {
            "label": np.repeat(["perfect", "random"], dep.size),
            "status": "ok",
            "dependent": np.tile(dep, 2),
            "d": 16,
            "n_samples": 1000,
            "estimate": np.concatenate([dep + 0.01 * rng.random(dep.size), rng.random(dep.size)]),
        }
    )
    auc = metrics.auc_table(df)["auc"]
    assert auc[("perfect", 16, 1000)] == 1.0
    assert auc[("random", 16, 1000)] == pytest.approx(0.5, abs=0.02)


# -- highdim_order -------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 7])
def test_triplet_model_truth_and_samples(d: int) -> None:
    model = triplet_model(np.random.default_rng(d), d, mi_max=1.0, min_gap=0.02)
    mi = model.mi()
    assert mi == pytest.approx(model.levels, abs=1e-9)  # canonical correlations hit the levels
    assert abs(mi[0] - mi[1]) >= 0.02
    x, y0, y1 = model.sample(np.random.default_rng(0), 60_000)
    emp = np.cov(np.hstack([x, y0, y1]).T)
    cov = model.covariance()
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.abs((emp - cov) / scale).max() < 0.03  # correlations within sampling error


def test_order_task_layout_truth_and_determinism() -> None:
    task = tasks.make("highdim_order:dims=2;5,per_d=4,n=100,min_gap=0.1")
    assert task.n_instances() == 16
    insts = [task.instance(i, 0) for i in range(16)]
    assert [m.meta["d"] for m in insts[::2]] == [2, 5] * 4
    for a, b in zip(insts[::2], insts[1::2], strict=True):
        np.testing.assert_array_equal(a.x, b.x)  # members share X
        assert a.meta["triplet"] == b.meta["triplet"]
        assert (a.meta["member"], b.meta["member"]) == (0, 1)
        assert abs(a.true_mi - b.true_mi) >= 0.1
        assert a.meta["larger"] == (a.true_mi > b.true_mi) != b.meta["larger"]
        assert a.x.shape == a.y.shape == (100, a.meta["d"])
    # structure fixed by set_seed, samples by seed
    other = task.instance(5, 1)
    assert other.true_mi == insts[5].true_mi
    assert not np.array_equal(other.x, insts[5].x)
    np.testing.assert_array_equal(task.instance(5, 0).y, insts[5].y)
    moved = tasks.make("highdim_order:dims=2;5,per_d=4,n=100,min_gap=0.1,set_seed=1")
    assert moved.instance(5, 0).true_mi != insts[5].true_mi


def test_order_summary_groups_by_d() -> None:
    task = tasks.make("highdim_order:dims=3;4,per_d=5,n=10")
    rows = []
    for i in range(task.n_instances()):
        inst = task.instance(i, 0)
        for label, est in (("exact", inst.true_mi), ("flipped", -inst.true_mi)):
            rows.append(
                {
                    "label": label,
                    "status": "ok",
                    "seed": 0,
                    "seconds": 0.0,
                    "estimate": est,
                    "true_mi": inst.true_mi,
                    "error": est - inst.true_mi,
                    **inst.meta,
                }
            )
    views = metrics.summarize(pd.DataFrame(rows), "order")
    acc = views["order"]["accuracy"]
    assert acc[("exact", 3)] == acc[("exact", 4)] == 1.0
    assert acc[("flipped", 3)] == acc[("flipped", 4)] == 0.0
    assert views["order"]["triplets"][("exact", 3)] == 5


def test_order_rejects_bad_params() -> None:
    with pytest.raises(SpecError, match="min_gap"):
        tasks.make("highdim_order:mi_max=0.1,min_gap=0.06").n_instances()
    with pytest.raises(SpecError, match="dims"):
        tasks.make("highdim_order:dims=0;3").n_instances()


def test_sliced_device_reaches_a_base_that_does_not_name_its_own() -> None:
    def base_device(spec: str) -> object:
        return estimators.make(spec).base_estimator().get_params().get("device")

    assert base_device("sliced:base=mine") == "auto"
    assert base_device("sliced:base=mine,device=cpu") == "cpu"
    assert base_device("sliced:base=mine:device=cuda,device=cpu") == "cuda"
    assert base_device("sliced:base=ksg,device=cuda") is None  # ksg takes no device
    with pytest.raises(SpecError, match="sliced: device must be 'auto', 'cpu', 'cuda'"):
        estimators.make("sliced:base=mine,device=gpu")


def test_a_sliced_estimate_reports_the_device_its_base_ran_on(monkeypatch) -> None:
    from estimators.sliced import Sliced
    from harness.interface import device_used

    ksg = type(estimators.make("ksg"))

    class Base(ksg):  # a base that ran on a GPU
        device_ = "cuda:1"

    est = Sliced(base="ksg", projections=3)
    monkeypatch.setattr(Sliced, "base_estimator", lambda self: Base())
    rng = np.random.default_rng(0)
    est.estimate(rng.standard_normal((40, 2)), rng.standard_normal((40, 2)))
    assert device_used(est) == "cuda:1"


def test_a_run_wide_device_stays_out_of_a_sliced_label_whose_base_takes_none(tmp_path) -> None:
    store = tmp_path / "r.sqlite"
    df = harness.run("sliced:base=ksg,projections=2", "gaussian:n=60", device="cpu", store=store,
                     progress=False)  # fmt: skip
    assert set(df["label"]) == {"sliced:projections=2"} and (df["status"] == "ok").all()
    assert set(df["device"]) == {"cpu"}
    df = harness.run("sliced:base=mine:steps=2,projections=2", "gaussian:n=60", device="cpu",
                     store=store, progress=False)  # fmt: skip
    assert set(df["label"]) == {"sliced:base=mine:steps=2,device=cpu,projections=2"}
