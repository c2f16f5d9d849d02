"""The ``mvn`` task: per-pair correlations, analytic truth, cubic and sparse variants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ground_truth.analytic import gaussian_mi, mvn_mi
from harness.interface import SpecError
from tasks.mvn import DEFAULT_MIS, MVN, pair_correlations


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("mi", [0.0, 0.5, 2.0, 10.0])
def test_correlations_give_the_requested_mi(mi, sparse):
    d = 20
    rho = pair_correlations(mi, d, sparse)
    assert sum(gaussian_mi(r) for r in rho) == pytest.approx(mi, abs=1e-9)
    if sparse:
        assert np.all(rho[2:] == 0) and rho[0] == rho[1]
    else:
        assert np.all(rho == rho[0])
        assert rho[0] == pytest.approx(math.sqrt(1 - math.exp(-2 * mi / d)))


def test_default_levels_truth_and_covariance():
    task = MVN(n=64)
    assert task.n_instances() == len(DEFAULT_MIS) == 5
    for i, level in enumerate(DEFAULT_MIS):
        inst = task.instance(i, seed=0)
        cov = task.covariance(i)
        rho = math.sqrt(1 - math.exp(-level / 10))  # -d/2 ln(1 - rho^2) = level, d = 20
        np.testing.assert_allclose(np.diag(cov[:20, 20:]), rho, rtol=1e-12)
        assert np.count_nonzero(cov - np.diag(np.diag(cov))) == 40  # only the X_i-Y_i pairs
        assert isinstance(inst.true_mi, float)
        assert inst.true_mi == pytest.approx(level, abs=1e-9)
        assert inst.true_mi == pytest.approx(mvn_mi(cov, 20), abs=1e-12)
        assert inst.x.shape == inst.y.shape == (64, 20)
        assert inst.meta == {"mi_level": level, "d": 20, "transform": "none", "sparse": False}


def test_sample_covariance_matches_the_formula():
    task = MVN(n=20000, mis=[3.0], d=4)
    inst = task.instance(0, seed=1)
    emp = np.cov(np.hstack([inst.x, inst.y]), rowvar=False)
    np.testing.assert_allclose(emp, task.covariance(0), atol=0.03)


def test_cubic_keeps_the_truth_and_cubes_y():
    plain = MVN(n=500, mis="2;6", d=5)
    cubic = MVN(n=500, mis="2;6", d=5, transform="cubic")
    for i in range(2):
        a, b = plain.instance(i, 7), cubic.instance(i, 7)
        assert a.true_mi == b.true_mi
        np.testing.assert_array_equal(b.x, a.x)
        np.testing.assert_allclose(b.y, a.y**3, rtol=1e-12)


def test_sparse_puts_all_mi_in_the_first_two_pairs():
    task = MVN(n=20000, mis=[4.0], d=10, sparse=True)
    inst = task.instance(0, seed=2)
    cov = task.covariance(0)
    assert inst.true_mi == pytest.approx(4.0, abs=1e-9)
    first = [0, 1, 10, 11]  # X1, X2, Y1, Y2
    assert mvn_mi(cov[np.ix_(first, first)], 2) == pytest.approx(4.0, abs=1e-9)
    rest = [i for i in range(20) if i not in first]
    assert mvn_mi(cov[np.ix_(rest, rest)], 8) == 0.0
    corr = [np.corrcoef(inst.x[:, j], inst.y[:, j])[0, 1] for j in range(10)]
    rho = math.sqrt(1 - math.exp(-4.0))
    np.testing.assert_allclose(corr[:2], rho, atol=0.01)
    np.testing.assert_allclose(corr[2:], 0.0, atol=0.03)


def test_same_seed_same_samples_other_seed_other_samples():
    task = MVN(n=100, mis=[1.0, 2.0], d=3)
    a, b, c = task.instance(1, 0), task.instance(1, 0), task.instance(1, 1)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x) and a.true_mi == c.true_mi
    assert [i.instance_id for i in task.instances(seed=0)] == ["mi=1", "mi=2"]


@pytest.mark.parametrize(
    "params",
    [
        {"n": 1},
        {"d": 0},
        {"mis": [-1.0]},
        {"mis": "1;1"},
        {"mis": "a"},
        {"transform": "square"},
        {"sparse": "yes please"},
        {"sparse": True, "d": 1},
        {"mis": [1e6], "d": 1},
        # correlations within rounding of 1: 15, 18, 18.5 would all carry about 15 nats
        {"mis": [15.0], "d": 1},
        {"mis": [18.5], "d": 1},
    ],
)
def test_bad_params_raise_spec_error(params):
    with pytest.raises(SpecError):
        MVN(**params).instance(0, 0)


def test_index_out_of_range():
    with pytest.raises(IndexError):
        MVN(n=10, mis=[1.0]).instance(1, 0)


def test_the_largest_levels_accepted_are_carried_exactly():
    task = MVN(mis=[12.0, 14.0], d=1)
    assert [task.instance(i, 0).true_mi for i in range(2)] == pytest.approx([12.0, 14.0], rel=1e-6)


def test_a_huge_dimension_is_checked_without_its_covariance_matrix():
    """Checking ``mvn:d=1000000`` once built the 2d x 2d covariance (7 TiB) and died of a
    MemoryError; the truth is the pairs' sum, checked against mvn_mi at d = 20 above."""
    task = MVN(d=1_000_000, n=2, mis=2.0)
    task._check_params()
    rho = pair_correlations(2.0, 1_000_000, False)
    assert -0.5 * np.sum(np.log1p(-(rho**2))) == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(SpecError, match="too large for d=1"):
        MVN(d=1, n=2, mis=40.0)._check_params()
