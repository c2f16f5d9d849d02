"""``highdim_order:recipe=notebook``: the authors' d-dimensional Gaussian triplets."""

from __future__ import annotations

import numpy as np
import pytest

import tasks
from ground_truth.analytic import mvn_mi
from harness.interface import SpecError
from tasks.highdim_order import (
    STRUCTURE_STREAM,
    CovarianceTriplet,
    notebook_joint,
    notebook_triplet,
)


def _logdet(m: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(m)
    assert sign > 0
    return float(value)


def _det_mi(cov: np.ndarray, a: slice, b: slice) -> float:
    """The notebook's 1/2 ln(det S_a det S_b / det S_ab) for two blocks of ``cov``."""
    idx = np.r_[a, b]
    return 0.5 * (_logdet(cov[a, a]) + _logdet(cov[b, b]) - _logdet(cov[np.ix_(idx, idx)]))


@pytest.mark.parametrize("d", [1, 3])
def test_notebook_joint_is_a_ridged_uniform_gram_matrix(d: int) -> None:
    mean, cov = notebook_joint(np.random.default_rng(7), d)
    replay = np.random.default_rng(7)
    expected_mean = replay.uniform(-5.0, 5.0, 3 * d)
    a = replay.uniform(-3.0, 3.0, (3 * d, 3 * d))
    np.testing.assert_array_equal(mean, expected_mean)
    np.testing.assert_allclose(cov, a @ a.T + 1e-3 * np.eye(3 * d), rtol=0, atol=1e-12)
    assert np.all(np.abs(mean) <= 5.0)
    assert np.linalg.eigvalsh(cov).min() >= 1e-3 - 1e-9


def test_notebook_triplet_puts_the_shared_middle_block_first() -> None:
    d = 2
    mean, cov = notebook_joint(np.random.default_rng(3), d)
    model = notebook_triplet(np.random.default_rng(3), d)
    x, y, z = slice(0, d), slice(d, 2 * d), slice(2 * d, 3 * d)
    # the notebook's pairs are (X, Y) and (Y, Z); the model serves Y as x of both
    i_xy, i_yz = _det_mi(cov, x, y), _det_mi(cov, y, z)
    assert model.mi() == pytest.approx((i_xy, i_yz), rel=1e-9)
    np.testing.assert_array_equal(model.mean[:d], mean[y])
    np.testing.assert_array_equal(model.covariance()[:d, :d], cov[y, y])


def test_sample_mean_and_covariance_match_the_construction() -> None:
    model = notebook_triplet(np.random.default_rng(11), 3)
    x, y0, y1 = model.sample(np.random.default_rng(0), 200_000)
    joint = np.hstack([x, y0, y1])
    cov = model.covariance()
    sd = np.sqrt(np.diag(cov))
    # errors in units of the standard deviations: about 1/sqrt(n) = 0.002 here
    np.testing.assert_allclose((joint.mean(axis=0) - model.mean) / sd, 0.0, atol=0.015)
    np.testing.assert_allclose(
        np.cov(joint, rowvar=False) / np.outer(sd, sd), cov / np.outer(sd, sd), atol=0.015
    )


def test_covariance_triplet_mi_is_the_block_formula() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 6))
    cov = a @ a.T + 0.1 * np.eye(6)
    model = CovarianceTriplet(np.zeros(6), cov)
    i0, i1 = model.mi()
    assert i0 == pytest.approx(_det_mi(cov, slice(0, 2), slice(2, 4)), rel=1e-10)
    assert i1 == pytest.approx(_det_mi(cov, slice(0, 2), slice(4, 6)), rel=1e-10)


def test_task_truth_labels_and_structure_seed() -> None:
    dims = (2, 5)
    task = tasks.make("highdim_order:recipe=notebook,n=64,per_d=3,dims=2;5,set_seed=4")
    assert task.n_instances() == 2 * 3 * len(dims)
    for triplet in range(task.n_instances() // 2):
        j, di = divmod(triplet, len(dims))
        d = dims[di]
        seq = np.random.SeedSequence(4, spawn_key=(STRUCTURE_STREAM, d, j))
        _, cov = notebook_joint(np.random.default_rng(seq), d)
        x, y, z = slice(0, d), slice(d, 2 * d), slice(2 * d, 3 * d)
        truth = (_det_mi(cov, x, y), _det_mi(cov, y, z))
        a, b = task.instance(2 * triplet, seed=9), task.instance(2 * triplet + 1, seed=9)
        assert (a.true_mi, b.true_mi) == pytest.approx(truth, rel=1e-8)
        yx = np.r_[y, x]
        assert a.true_mi == pytest.approx(mvn_mi(cov[np.ix_(yx, yx)], d), rel=1e-10)
        assert a.meta["larger"] == (truth[0] > truth[1])
        assert b.meta["larger"] == (truth[1] > truth[0])
        assert a.meta["d"] == b.meta["d"] == d
        assert a.x.shape == a.y.shape == (64, d)
        # both members share the draws of the common block
        np.testing.assert_array_equal(a.x, b.x)
        assert not np.array_equal(a.y, b.y)


def test_samples_follow_the_seed_and_structure_does_not() -> None:
    task = tasks.make("highdim_order:recipe=notebook,n=32,per_d=2,dims=3")
    a, b, c = task.instance(1, seed=0), task.instance(1, seed=0), task.instance(1, seed=1)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert a.true_mi == c.true_mi


def test_default_recipe_is_unchanged() -> None:
    default = tasks.make("highdim_order:n=32,per_d=2,dims=2;4")
    canonical = tasks.make("highdim_order:n=32,per_d=2,dims=2;4,recipe=canonical")
    notebook = tasks.make("highdim_order:n=32,per_d=2,dims=2;4,recipe=notebook")
    for i in range(default.n_instances()):
        a, b = default.instance(i, seed=3), canonical.instance(i, seed=3)
        np.testing.assert_array_equal(a.y, b.y)
        assert a.true_mi == b.true_mi
        # canonical levels stay in [0, mi_max]; the notebook's are not bounded by it
        assert 0.0 <= a.true_mi <= 1.0 + 1e-9
    assert default.instance(0, seed=3).true_mi != notebook.instance(0, seed=3).true_mi


@pytest.mark.parametrize(
    "spec",
    [
        "highdim_order:recipe=paper",
        "highdim_order:recipe=",
        "highdim_order:recipe=notebook,mi_max=2",
        "highdim_order:recipe=notebook,min_gap=0.1",
    ],
)
def test_bad_recipe_parameters_raise(spec: str) -> None:
    with pytest.raises(SpecError):
        tasks.make(spec).n_instances()


def test_exact_sliced_mi_matches_projected_samples():
    """The sliced-MI ceiling uses the closed form of each Gaussian slice's MI; check it
    against the sample correlation of projected draws, and against the 1-D truth."""
    from benchmarks.sliced_ceiling import exact_sliced_mi, member_covariances, plugin_sliced_mi
    from estimators.sliced import random_directions
    from tasks.highdim_order import HighDimOrder

    rho = 0.7
    one = np.array([[1.0, rho], [rho, 1.0]])
    ones = np.ones((3, 1))
    assert exact_sliced_mi(one, 1, ones, ones) == pytest.approx(-0.5 * np.log(1 - rho**2))

    task = HighDimOrder(per_d=1, dims=3, mi_max=5.0, min_gap=0.5)
    model = task.model(0)
    x, y, _ = model.sample(np.random.default_rng(0), 200_000)
    rng = np.random.default_rng(5)
    px, py = random_directions(6, 3, rng), random_directions(6, 3, rng)
    r = [np.corrcoef(x @ a, y @ b)[0, 1] for a, b in zip(px, py, strict=True)]
    sampled = float(np.mean(-0.5 * np.log1p(-np.square(r))))
    assert plugin_sliced_mi(x, y, px, py) == pytest.approx(sampled, rel=1e-9)
    cov = member_covariances(model, 3)[0]
    assert exact_sliced_mi(cov, 3, px, py) == pytest.approx(sampled, abs=0.005)


# -- recipe=isotropic ---------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 7])
def test_isotropic_triplet_splits_each_level_equally_over_coordinates(d: int) -> None:
    task = tasks.make(f"highdim_order:recipe=isotropic,n=16,per_d=4,dims={d},mi_max=3")
    for t in range(4):
        model = task.model(t)
        cov = model.covariance()
        eye = np.eye(d)
        for m, level in enumerate(model.levels):
            # X and each Y are standard normal; coordinate i of Y meets only coordinate i of X
            y = slice((m + 1) * d, (m + 2) * d)
            rho = np.sqrt(1.0 - np.exp(-2.0 * level / d))
            np.testing.assert_allclose(cov[:d, :d], eye, atol=1e-12)
            np.testing.assert_allclose(cov[y, y], eye, atol=1e-12)
            np.testing.assert_allclose(cov[:d, y], rho * eye, atol=1e-12)
            assert -0.5 * d * np.log1p(-(rho**2)) == pytest.approx(level, rel=1e-12)
        assert model.mi() == pytest.approx(model.levels, rel=1e-9)
        assert abs(model.levels[0] - model.levels[1]) >= 0.02
        assert max(model.levels) <= 3.0


def test_isotropic_samples_have_the_stated_correlations() -> None:
    task = tasks.make("highdim_order:recipe=isotropic,n=100000,per_d=1,dims=3,mi_max=2")
    model = task.model(0)
    x, y0, y1 = model.sample(np.random.default_rng(1), 100_000)
    joint = np.corrcoef(np.hstack([x, y0, y1]), rowvar=False)
    np.testing.assert_allclose(joint, model.covariance(), atol=0.01)
    inst = task.instance(1, seed=1)
    assert inst.true_mi == pytest.approx(model.levels[1], rel=1e-9)


def test_isotropic_sliced_mi_orders_every_triplet_as_the_mi() -> None:
    """The reason for the recipe: its exact sliced MI ranks triplets as MI does at any
    number of projections (the canonical recipe's does not)."""
    from benchmarks.sliced_ceiling import ceiling

    iso = ceiling("isotropic", per_d=12, projections=(5, 200))
    assert {row["accuracy"] for row in iso} == {1.0}
    canonical = ceiling("canonical", per_d=12, projections=(200,))
    assert min(row["accuracy"] for row in canonical) < 1.0
