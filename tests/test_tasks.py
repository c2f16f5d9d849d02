"""Tasks: truth, layout, determinism by seed, and a KSG sanity check against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import estimators
import tasks
from ground_truth.analytic import additive_uniform_mi, gaussian_mi, mvn_mi
from harness import metrics
from harness.interface import SpecError


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """Point the user cache at an empty folder so only the shipped sets are found."""
    monkeypatch.setenv("MI_HARNESS_CACHE", str(tmp_path / "cache"))


SMALL = {
    "gaussian": "gaussian:n=300",
    "halfcube": "halfcube:n=300",
    "asinh": "asinh:n=300",
    "additive_noise": "additive_noise:n=300",
    "gmm_levels": "gmm_levels:n=300,per_level=2",
    "gmm_order": "gmm_order:n=300,per_k=2",
}


# --------------------------------------------------------------------------
# Every task
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_seed_same_instances_other_seed_other_samples(name):
    task = tasks.make(SMALL[name])
    for i in (0, task.n_instances() - 1):
        a, b, c = task.instance(i, 0), task.instance(i, 0), task.instance(i, 1)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
        assert (a.true_mi, a.true_mi_se, a.instance_id, dict(a.meta)) == (
            b.true_mi,
            b.true_mi_se,
            b.instance_id,
            dict(b.meta),
        )
        # Another seed: other samples, same distribution and truth.
        assert not np.array_equal(a.x, c.x)
        assert a.true_mi == c.true_mi and a.instance_id == c.instance_id
        assert a.x.shape == (300, 1) and a.y.shape == (300, 1)
        assert a.x.dtype == np.float64 and np.isfinite(a.x).all() and np.isfinite(a.y).all()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_instances_iterate_and_ids_are_unique(name):
    task = tasks.make(SMALL[name])
    ids = [inst.instance_id for inst in task.instances(seed=3)]
    assert len(ids) == task.n_instances() == len(set(ids))
    with pytest.raises(IndexError):
        task.instance(task.n_instances(), 0)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("gaussian:rhos=0.5;1.0", "rho"),
        ("gaussian:n=1", "n"),
        ("gaussian:d=0", "d"),
        ("gaussian:rhos=0.1,steps=3", "either"),
        ("additive_noise:eps=0", "eps"),
        ("gmm_levels:per_level=0", "per_level"),
        ("gmm_levels:levels=0.25", "levels"),
        ("gmm_order:ks=11", "ks"),
        ("gmm_order:min_gap=-1", "min_gap"),
        ("gmm_order:per_k=5,bogus=1", "bogus"),
    ],
)
def test_bad_parameters_are_one_clear_spec_error(spec, match):
    with pytest.raises(SpecError, match=match):
        tasks.make(spec)


# --------------------------------------------------------------------------
# Analytic tasks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 3])
def test_gaussian_truth_matches_the_mvn_formula_and_the_samples(d):
    task = tasks.make(f"gaussian:n=4000,d={d},rhos=0.0;0.5;0.9")
    for i, rho in enumerate((0.0, 0.5, 0.9)):
        inst = task.instance(i, 7)
        cov = np.eye(2 * d)
        cov[np.arange(d), d + np.arange(d)] = cov[d + np.arange(d), np.arange(d)] = rho
        assert inst.true_mi == pytest.approx(mvn_mi(cov, d), rel=1e-12)
        assert inst.true_mi == pytest.approx(d * gaussian_mi(rho), rel=1e-12)
        assert inst.true_mi_se == 0.0 and inst.meta == {"rho": rho, "d": d}
        emp = np.cov(np.hstack([inst.x, inst.y]).T)
        np.testing.assert_allclose(emp, cov, atol=0.06)


def test_gaussian_grid_parameters():
    task = tasks.make("gaussian:rho_min=0.1,rho_max=0.5,steps=5")
    assert [task.instance(i, 0).meta["rho"] for i in range(5)] == [0.1, 0.2, 0.3, 0.4, 0.5]


@pytest.mark.parametrize(
    "name, fn", [("halfcube", lambda t: np.sign(t) * np.abs(t) ** 1.5), ("asinh", np.arcsinh)]
)
def test_monotone_maps_keep_the_gaussian_truth(name, fn):
    gauss = tasks.make("gaussian:n=500,d=2")
    mapped = tasks.make(f"{name}:n=500,d=2")
    assert mapped.n_instances() == gauss.n_instances()
    for i in range(gauss.n_instances()):
        g, m = gauss.instance(i, 4), mapped.instance(i, 4)
        assert m.true_mi == g.true_mi and m.instance_id == g.instance_id
        np.testing.assert_allclose(m.x, fn(g.x), rtol=1e-15)
        np.testing.assert_allclose(m.y, fn(g.y), rtol=1e-15)


def test_additive_noise_truth_and_support():
    task = tasks.make("additive_noise:n=3000,eps=0.1;0.5;2.0")
    for i, eps in enumerate((0.1, 0.5, 2.0)):
        inst = task.instance(i, 0)
        assert inst.true_mi == additive_uniform_mi(eps)
        noise = inst.y - inst.x
        assert inst.x.min() >= 0 and inst.x.max() < 1
        assert np.abs(noise).max() <= eps
        assert np.abs(noise).max() > 0.95 * eps


# --------------------------------------------------------------------------
# gmm_levels (shipped set)
# --------------------------------------------------------------------------


def test_gmm_levels_truth_within_band_and_se_below_target():
    task = tasks.make("gmm_levels:n=50,per_level=100")
    assert task.n_instances() == 1000
    levels = []
    for inst in task.instances(seed=0):
        level = inst.meta["level"]
        levels.append(level)
        assert abs(inst.true_mi - level) <= 0.02
        assert 0 < inst.true_mi_se < 0.003
        assert 1 <= inst.meta["K"] <= 20
    assert sorted(set(levels)) == [round(0.1 * i, 1) for i in range(10)]
    assert all(levels.count(v) == 100 for v in set(levels))
    # Interleaved layout: index i is level (i mod 10).
    assert levels[:10] == sorted(set(levels))


def test_gmm_levels_samples_depend_on_mixture_and_seed_only():
    small = tasks.make("gmm_levels:per_level=3")
    subset = tasks.make("gmm_levels:per_level=5,levels=0.4;0.9")
    a = small.instance(2 * 10 + 9, seed=5)  # third mixture of level 0.9
    b = subset.instance(2 * 2 + 1, seed=5)
    assert a.instance_id == b.instance_id == "level=0.9/2"
    np.testing.assert_array_equal(a.x, b.x)
    assert a.true_mi == b.true_mi and a.meta == b.meta


def test_gmm_levels_mixture_is_the_instances_distribution():
    from ground_truth.monte_carlo import gmm_mi
    from tasks.gmm import sample_rng
    from tasks.gmm_levels import SAMPLE_STREAM

    task = tasks.make("gmm_levels:per_level=2,levels=0.3;0.9,n=500")
    for index in (1, 2):
        inst = task.instance(index, seed=3)
        gmm = task.mixture(index)
        xy = gmm.sample(sample_rng(3, (SAMPLE_STREAM, inst.meta["gmm_id"])), 500)
        np.testing.assert_array_equal(np.hstack([inst.x, inst.y]), xy)
        mi, se = gmm_mi(gmm.weights, gmm.means, gmm.covs, dim_x=1, n_samples=40_000, rng=0)
        assert abs(mi - inst.true_mi) < 4 * se + 3 * inst.true_mi_se
    with pytest.raises(IndexError, match="out of range"):
        task.mixture(4)


def test_gmm_levels_too_many_names_the_build_command():
    with pytest.raises(
        SpecError, match="python -m harness tasks build gmm_levels --per-level 99999"
    ):
        tasks.make("gmm_levels:per_level=99999").instance(0, 0)


def test_gmm_levels_rows_feed_the_level_table():
    task = tasks.make("gmm_levels:n=50,per_level=3")
    rows = []
    for i, inst in enumerate(task.instances(seed=0)):
        err = 0.01 * (i % 3 - 1)
        rows.append(
            {
                "label": "fake",
                "status": "ok",
                "seed": 0,
                "task": task.name,
                "estimate": inst.true_mi + err,
                "true_mi": inst.true_mi,
                "error": err,
                "seconds": 0.0,
                **inst.meta,
            }
        )
    table = metrics.level_table(pd.DataFrame(rows))
    assert len(table) == 10 and (table["count"] == 3).all()
    np.testing.assert_allclose(table["mean_error"], 0.0, atol=1e-12)
    np.testing.assert_allclose(table["error_var"], 1e-4, rtol=1e-9)


# --------------------------------------------------------------------------
# gmm_order (shipped set)
# --------------------------------------------------------------------------


def test_gmm_order_layout_and_truth_order():
    task = tasks.make("gmm_order:n=100,per_k=200")
    assert task.n_instances() == 2 * 10 * 200
    per_k: dict[int, int] = {}
    for t in range(0, task.n_instances() // 2):
        a, b = task.instance(2 * t, 1), task.instance(2 * t + 1, 1)
        assert a.meta["triplet"] == b.meta["triplet"] == t
        assert (a.meta["member"], b.meta["member"]) == (0, 1)
        assert a.meta["K"] == b.meta["K"] == (t % 10) + 1
        np.testing.assert_array_equal(a.x, b.x)  # the shared x of the triplet
        assert not np.array_equal(a.y, b.y)
        assert abs(a.true_mi - b.true_mi) >= 0.02
        assert a.meta["larger"] == (a.true_mi > b.true_mi) != b.meta["larger"]
        assert max(a.true_mi_se, b.true_mi_se) < 0.003
        per_k[a.meta["K"]] = per_k.get(a.meta["K"], 0) + 1
    assert per_k == dict.fromkeys(range(1, 11), 200)


def test_gmm_order_subsets_and_gap():
    task = tasks.make("gmm_order:per_k=50,ks=3..4,min_gap=0.1")
    assert task.n_instances() == 2 * 2 * 50
    for i in range(0, task.n_instances(), 2):
        a, b = task.instance(i, 0), task.instance(i + 1, 0)
        assert a.meta["K"] in (3, 4) and abs(a.true_mi - b.true_mi) >= 0.1


def test_gmm_order_gap_below_the_stored_one_needs_a_build():
    with pytest.raises(SpecError, match="tasks build gmm_order --per-k 10 --min-gap 0.001"):
        tasks.make("gmm_order:per_k=10,min_gap=0.001").instance(0, 0)


def _order_rows(task, estimate):
    rows = []
    for seed in (0, 1):
        for inst in task.instances(seed):
            rows.append(
                {
                    "label": "fake",
                    "status": "ok",
                    "seed": seed,
                    "task": task.name,
                    "estimate": estimate(inst),
                    "true_mi": inst.true_mi,
                    "error": estimate(inst) - inst.true_mi,
                    "seconds": 0.0,
                    **inst.meta,
                }
            )
    return pd.DataFrame(rows)


def test_gmm_order_rows_feed_the_order_table():
    task = tasks.make("gmm_order:n=20,per_k=4")
    right = metrics.order_table(_order_rows(task, lambda inst: inst.true_mi))
    assert (right["triplets"] == 8).all() and (right["accuracy"] == 1.0).all()
    assert list(right.index.get_level_values("K")) == list(range(1, 11))
    wrong = metrics.order_table(_order_rows(task, lambda inst: -inst.true_mi))
    assert (wrong["accuracy"] == 0.0).all()
    summary = metrics.summarize(_order_rows(task, lambda inst: inst.true_mi))
    assert "order" in summary


# --------------------------------------------------------------------------
# KSG against the truth (the paper's KSG errors are 0.001-0.016 nats on average)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ksg():
    return estimators.make("ksg:k=5")


def test_ksg_close_to_gaussian_truth(ksg):
    # KSG's spread at n=2000 is ~0.03 nats at high MI, so average three seeds.
    task = tasks.make("gaussian:n=2000,rhos=0.0;0.3;0.6;0.9")
    errors = np.array(
        [[ksg.estimate(i.x, i.y) - i.true_mi for i in task.instances(seed)] for seed in range(3)]
    )
    assert np.max(np.abs(errors)) < 0.1
    assert np.max(np.abs(errors.mean(axis=0))) < 0.04


def test_ksg_close_to_gmm_levels_truth(ksg):
    task = tasks.make("gmm_levels:n=2000,per_level=2")
    errors = np.array([ksg.estimate(i.x, i.y) - i.true_mi for i in task.instances(seed=0)])
    assert np.max(np.abs(errors)) < 0.12
    assert abs(errors.mean()) < 0.03


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("latency:sizes=500..200", r"sizes range '500..200' is empty"),
        ("highdim_order:dims=5..2", r"dims range '5..2' is empty"),
        ("gmm_order:ks=5..2", r"ks range '5..2' is empty"),
    ],
)
def test_a_reversed_range_is_a_spec_error_not_an_empty_task(spec, match):
    with pytest.raises(SpecError, match=match):
        tasks.make(spec).n_instances()


def test_a_zero_dimensional_array_is_one_value():
    from tasks.gaussian import Gaussian

    assert Gaussian(rhos=np.array(0.5)).n_instances() == 1
    assert Gaussian(rhos=np.array(0.5)).instance(0, 0).meta["rho"] == 0.5
