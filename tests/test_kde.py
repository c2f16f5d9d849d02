"""KDE: exact agreement with scipy.stats.gaussian_kde references, input errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import gaussian_kde

import estimators
from estimators.kde import KDE, _exp_nonpositive, log_density
from harness.interface import InputError, SpecError


def kde_reference(x, y, bandwidth, leave_one_out=False):
    """Resubstitution MI from three gaussian_kde objects (dense kernel matrix when LOO)."""
    joint = np.hstack([x, y])
    return np.mean(
        log_density_reference(joint, bandwidth, leave_one_out)
        - log_density_reference(x, bandwidth, leave_one_out)
        - log_density_reference(y, bandwidth, leave_one_out)
    )


def log_density_reference(data, bandwidth, leave_one_out):
    kde = gaussian_kde(data.T, bw_method=bandwidth)
    if not leave_one_out:
        return kde.logpdf(data.T)
    n, d = data.shape
    diff = data[:, None, :] - data[None, :, :]
    maha = np.einsum("ija,ab,ijb->ij", diff, np.linalg.inv(kde.covariance), diff)
    log_k = -0.5 * maha - 0.5 * np.linalg.slogdet(2 * np.pi * kde.covariance)[1]
    np.fill_diagonal(log_k, -np.inf)
    return logsumexp(log_k, axis=1) - np.log(n - 1)


def sample(n, dx, dy, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dx)) @ rng.normal(size=(dx, dx))  # correlated marginal columns
    y = np.sin(x[:, :1]) * np.ones((1, dy)) + 0.5 * rng.normal(size=(n, dy))
    return x, y * np.arange(1, dy + 1)


@pytest.mark.parametrize("bandwidth", ["scott", "silverman", 0.4])
@pytest.mark.parametrize("dx,dy", [(1, 1), (2, 1), (1, 3), (3, 2)])
def test_matches_gaussian_kde(dx, dy, bandwidth):
    x, y = sample(500, dx, dy, seed=dx * 10 + dy)
    got = KDE(bandwidth=bandwidth).estimate(x, y)
    assert got == pytest.approx(kde_reference(x, y, bandwidth), abs=1e-6)


@pytest.mark.parametrize("bandwidth", ["scott", "silverman", 0.4])
@pytest.mark.parametrize("dx,dy", [(1, 1), (2, 2)])
def test_leave_one_out_matches_reference(dx, dy, bandwidth):
    x, y = sample(300, dx, dy, seed=7)
    got = KDE(bandwidth=bandwidth, leave_one_out=True).estimate(x, y)
    assert got == pytest.approx(kde_reference(x, y, bandwidth, leave_one_out=True), abs=1e-6)


def test_leave_one_out_survives_underflow():
    # a tiny bandwidth makes every leave-one-out kernel sum underflow; the exact
    # log-sum-exp fallback must still agree with the reference
    rng = np.random.default_rng(1)
    data = rng.normal(size=(200, 2))
    got = log_density(data, 0.002, leave_one_out=True)
    np.testing.assert_allclose(got, log_density_reference(data, 0.002, True), rtol=1e-9)


def test_fast_exp_accuracy():
    v = -np.concatenate([np.linspace(0, 1, 1001), np.geomspace(1e-12, 700, 5001)])
    got = np.array([_exp_nonpositive(t) for t in v])
    np.testing.assert_allclose(got, np.exp(v), rtol=1e-12, atol=0)
    assert _exp_nonpositive(-800.0) == 0.0
    assert _exp_nonpositive(-1e300) == 0.0


def test_correlated_gaussian_close_to_truth():
    rng = np.random.default_rng(3)
    x = rng.normal(size=4000)
    y = 0.8 * x + 0.6 * rng.normal(size=4000)
    assert KDE().estimate(x, y) == pytest.approx(-0.5 * np.log(1 - 0.8**2), abs=0.05)


def test_registry_and_params():
    est = estimators.make("kde:bandwidth=silverman")
    assert isinstance(est, KDE)
    assert est.get_params() == {"bandwidth": "silverman", "leave_one_out": False}
    assert estimators.make("kde:bandwidth=0.3,leave_one_out=true").get_params() == {
        "bandwidth": 0.3,
        "leave_one_out": True,
    }


@pytest.mark.parametrize(
    "x,y,match",
    [
        ([0.0, 1.0, np.nan, 3.0], [1.0, 0.0, 2.0, 5.0], "NaN"),
        ([0.0, 1.0, 2.0, 3.0], [1.0, -np.inf, 2.0, 5.0], "inf"),
        (np.arange(5.0), np.arange(4.0), "same number of samples"),
        ([0.0, 1.0], [1.0, 0.0], "at least 3 samples"),
        (np.arange(6.0), np.full(6, 2.0), "constant"),
        (np.arange(6.0), 2 * np.arange(6.0) + 1, "covariance .* singular"),
    ],
)
def test_bad_inputs(x, y, match):
    with pytest.raises(InputError, match=match):
        KDE().estimate(x, y)


@pytest.mark.parametrize(
    "spec,match",
    [
        ("kde:bandwidth=wide", "bandwidth must be 'scott', 'silverman' or a positive number"),
        ("kde:bandwidth=0", "bandwidth must be"),
        ("kde:bandwidth=-0.5", "bandwidth must be"),
        ("kde:bandwidth=inf", "bandwidth must be"),
        ("kde:bandwidth=true", "bandwidth must be"),
        ("kde:leave_one_out=2", "leave_one_out must be true or false"),
    ],
)
def test_bad_params(spec, match):
    with pytest.raises(SpecError, match=match):
        estimators.make(spec)


@pytest.mark.parametrize("leave_one_out", [False, True])
def test_estimate_is_the_same_on_one_and_on_all_numba_threads(leave_one_out, on_one_numba_thread):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 2))
    y = x[:, :1] + rng.normal(size=(700, 1))
    est = KDE(leave_one_out=leave_one_out)
    everywhere = est.estimate(x, y)
    with on_one_numba_thread():
        one = est.estimate(x, y)
    assert one == everywhere
