"""Ground truth: closed forms against numerical integration, Monte Carlo against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ground_truth import monte_carlo
from ground_truth.analytic import additive_uniform_mi, gaussian_mi, mvn_mi
from ground_truth.monte_carlo import (
    MCEstimate,
    MixtureMI,
    check_gmm,
    gmm_logpdf,
    gmm_mi,
    gmm_mi_pairs,
    gmm_mi_precise,
)


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


# --------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.6, 0.8])
def test_gaussian_mi_matches_numerical_integration(rho):
    # I = integral of p log(p / (p_x p_y)) on a fine grid over [-9, 9]^2.
    t = np.linspace(-9.0, 9.0, 1801)
    xx, yy = np.meshgrid(t, t, indexing="ij")
    cov = np.array([[1.0, rho], [rho, 1.0]])
    p = stats.multivariate_normal([0.0, 0.0], cov).pdf(np.dstack([xx, yy]))
    px = stats.norm.pdf(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(p > 0, p * (np.log(p) - np.log(px)[:, None] - np.log(px)[None, :]), 0.0)
    numeric = integrate.trapezoid(integrate.trapezoid(f, t, axis=1), t)
    assert gaussian_mi(rho) == pytest.approx(numeric, abs=1e-6)


def test_gaussian_mi_known_values():
    assert gaussian_mi(0.0) == 0.0
    assert gaussian_mi(0.6) == pytest.approx(-0.5 * math.log(0.64), rel=1e-15)
    assert gaussian_mi(-0.6) == gaussian_mi(0.6)
    assert gaussian_mi(0.99) == pytest.approx(-0.5 * math.log(0.0199), rel=1e-12)


@pytest.mark.parametrize("rho", [1.0, -1.0, 1.5, float("nan")])
def test_gaussian_mi_rejects_invalid_rho(rho):
    with pytest.raises(ValueError, match="rho"):
        gaussian_mi(rho)


def test_mvn_mi_equals_entropy_difference():
    rng = np.random.default_rng(3)
    cov = _random_spd(rng, 5)
    h = lambda c: stats.multivariate_normal(cov=c).entropy()  # noqa: E731
    expected = h(cov[:2, :2]) + h(cov[2:, 2:]) - h(cov)
    assert mvn_mi(cov, 2) == pytest.approx(expected, rel=1e-10)


def test_mvn_mi_of_independent_pairs_adds_up():
    rhos = [0.2, 0.5, 0.9]
    d = len(rhos)
    cov = np.eye(2 * d)
    for i, r in enumerate(rhos):
        cov[i, d + i] = cov[d + i, i] = r
    assert mvn_mi(cov, d) == pytest.approx(sum(gaussian_mi(r) for r in rhos), rel=1e-12)


def test_mvn_mi_invariant_under_invertible_maps_of_each_side():
    rng = np.random.default_rng(4)
    cov = _random_spd(rng, 4)
    a = np.zeros((4, 4))
    a[:2, :2] = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    a[2:, 2:] = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    assert mvn_mi(a @ cov @ a.T, 2) == pytest.approx(mvn_mi(cov, 2), rel=1e-10)


def test_mvn_mi_rejects_bad_input():
    with pytest.raises(ValueError, match="positive definite"):
        mvn_mi([[1.0, 2.0], [2.0, 1.0]], 1)
    with pytest.raises(ValueError, match="dim_x"):
        mvn_mi(np.eye(3), 3)
    with pytest.raises(ValueError, match="symmetric"):
        mvn_mi([[1.0, 0.5], [0.1, 1.0]], 1)


def _additive_numeric(eps: float) -> float:
    """h(Y) - h(N) with h(Y) by quadrature; Y = U(0,1) + U(-eps, eps)."""

    def p(y: float) -> float:
        return max(0.0, min(1.0, y + eps) - max(0.0, y - eps)) / (2 * eps)

    def f(y: float) -> float:
        v = p(y)
        return -v * math.log(v) if v > 0 else 0.0

    kinks = sorted({-eps, eps, 1 - eps, 1 + eps})
    h_y = sum(
        integrate.quad(f, a, b, epsabs=1e-12, epsrel=1e-12)[0]
        for a, b in zip(kinks[:-1], kinks[1:], strict=True)
    )
    return h_y - math.log(2 * eps)


@pytest.mark.parametrize("eps", [0.05, 0.25, 0.5, 0.75, 2.0])
def test_additive_uniform_mi_matches_quadrature(eps):
    assert additive_uniform_mi(eps) == pytest.approx(_additive_numeric(eps), abs=1e-9)


def test_additive_uniform_mi_is_continuous_at_half():
    assert additive_uniform_mi(0.5) == pytest.approx(0.5)
    assert additive_uniform_mi(0.5 + 1e-9) == pytest.approx(0.5, abs=1e-8)


@pytest.mark.parametrize("eps", [0.0, -0.1, float("inf")])
def test_additive_uniform_mi_rejects_bad_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        additive_uniform_mi(eps)


# --------------------------------------------------------------------------
# Mixture densities
# --------------------------------------------------------------------------


def _mixture():
    rng = np.random.default_rng(5)
    w = rng.dirichlet(np.ones(4))
    mu = rng.uniform(-3, 3, size=(4, 3))
    cov = np.stack([_random_spd(rng, 3) for _ in range(4)])
    return w, mu, cov


def test_gmm_logpdf_matches_scipy_joint_and_marginal():
    w, mu, cov = _mixture()
    pts = np.random.default_rng(6).normal(size=(50, 3)) * 3
    ref = np.log(sum(w[c] * stats.multivariate_normal(mu[c], cov[c]).pdf(pts) for c in range(4)))
    np.testing.assert_allclose(gmm_logpdf(pts, w, mu, cov), ref, rtol=1e-10)
    dims = [2, 0]
    sub = cov[:, dims][:, :, dims]
    ref_m = np.log(
        sum(
            w[c] * stats.multivariate_normal(mu[c, dims], sub[c]).pdf(pts[:, dims])
            for c in range(4)
        )
    )
    np.testing.assert_allclose(gmm_logpdf(pts[:, dims], w, mu, cov, dims=dims), ref_m, rtol=1e-10)


def test_gmm_logpdf_parallel_kernel_equals_serial(monkeypatch):
    # Blocks of rows that do not divide evenly, so the last block is partial.
    w, mu, cov = _mixture()
    pts = np.random.default_rng(7).normal(size=(3 * 512 + 17, 3)) * 2
    monkeypatch.setattr(monte_carlo, "_PARALLEL_MIN_WORK", 10**12)
    serial = gmm_logpdf(pts, w, mu, cov)
    monkeypatch.setattr(monte_carlo, "_PARALLEL_MIN_WORK", 1)
    parallel = gmm_logpdf(pts, w, mu, cov)
    np.testing.assert_array_equal(parallel, serial)
    ref = np.log(sum(w[c] * stats.multivariate_normal(mu[c], cov[c]).pdf(pts) for c in range(4)))
    np.testing.assert_allclose(parallel, ref, rtol=1e-10)


def test_gmm_logpdf_far_in_the_tail_is_finite():
    # Every component's density underflows to 0 in float64; the log-sum-exp does not.
    w, mu, cov = _mixture()
    out = gmm_logpdf(np.array([[400.0, -400.0, 400.0]]), w, mu, cov)
    assert np.isfinite(out).all() and out[0] < -1000


def test_check_gmm_rejects_bad_parameters():
    w, mu, cov = _mixture()
    with pytest.raises(ValueError, match="positive definite"):
        check_gmm(w, mu, cov * np.array([1, 1, 1, -1])[:, None, None])
    with pytest.raises(ValueError, match="shape"):
        check_gmm(w[:3], mu, cov)
    with pytest.raises(ValueError, match="non-negative"):
        check_gmm(-w, mu, cov)


# --------------------------------------------------------------------------
# Monte Carlo MI
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_mc_single_gaussian_within_3_se(rho):
    cov = [[[2.0, rho * 2.0], [rho * 2.0, 2.0]]]
    est, se = gmm_mi([1.0], [[1.0, -1.0]], cov, dim_x=1, n_samples=200_000, rng=11)
    assert se > 0 or rho == 0.0
    assert abs(est - gaussian_mi(rho)) <= 3 * se + 1e-12


def test_mc_pairs_on_a_k1_mixture_match_mvn_formula():
    rng = np.random.default_rng(7)
    cov = _random_spd(rng, 4)
    pairs = [([0], [1]), ([0], [2]), ([0, 1], [2, 3]), ([3], [0, 2])]
    est, se = gmm_mi_pairs([1.0], [np.zeros(4)], [cov], pairs, n_samples=200_000, rng=12)
    for (xs, ys), e, s in zip(pairs, est, se, strict=True):
        idx = xs + ys
        truth = mvn_mi(cov[np.ix_(idx, idx)], len(xs))
        assert abs(e - truth) <= 3 * s, (xs, ys, e, truth, s)


def test_mc_separated_mixture_equals_weight_entropy():
    # Components 12 sd apart: knowing x (or y) reveals the component, so I = H(w).
    w = np.array([0.2, 0.3, 0.5])
    mu = np.array([[-12.0, -12.0], [0.0, 0.0], [12.0, 12.0]])
    cov = np.stack([np.eye(2)] * 3)
    est, se = gmm_mi(w, mu, cov, dim_x=1, n_samples=100_000, rng=13)
    entropy = float(-(w * np.log(w)).sum())
    assert abs(est - entropy) <= 3 * se
    assert se < 0.005


def test_mc_is_reproducible_by_seed():
    w, mu, cov = _mixture()
    a = gmm_mi(w, mu, cov, dim_x=1, n_samples=5000, rng=21)
    b = gmm_mi(w, mu, cov, dim_x=1, n_samples=5000, rng=21)
    c = gmm_mi(w, mu, cov, dim_x=1, n_samples=5000, rng=22)
    assert a == b
    assert a != c


def test_mc_chunking_does_not_change_the_estimate_much():
    w, mu, cov = _mixture()
    m = MixtureMI(w, mu, cov, [([0], [1, 2])])
    one = m.integrate(30_000, 5, chunk_size=30_000)
    many = m.integrate(30_000, 5, chunk_size=1000)
    # Same stream, different chunk boundaries: the draws differ, the answer agrees.
    assert abs(one.mean[0] - many.mean[0]) <= 4 * math.hypot(one.se[0], many.se[0])


def test_mc_estimate_merge_equals_pooled_moments():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(2, 37)), rng.normal(1.0, 2.0, size=(2, 50))

    def moments(v):
        m = v.mean(axis=1)
        return MCEstimate(m, ((v - m[:, None]) ** 2).sum(axis=1), v.shape[1])

    merged = moments(a).merge(moments(b))
    pooled = np.concatenate([a, b], axis=1)
    np.testing.assert_allclose(merged.mean, pooled.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(merged.sd, pooled.std(axis=1, ddof=1), rtol=1e-12)
    assert merged.n == 87


def test_mc_precise_reaches_target_se():
    w, mu, cov = _mixture()
    est, se, n = gmm_mi_precise(w, mu, cov, [([0], [1]), ([0], [2])], target_se=0.01, rng=9)
    assert np.all(se < 0.01)
    assert n >= 1000
    # The final run's size follows from the spread: n ~ (sd / (0.9 target))^2.
    ref, ref_se = gmm_mi_pairs(w, mu, cov, [([0], [1]), ([0], [2])], n_samples=100_000, rng=10)
    assert np.all(np.abs(est - ref) <= 4 * np.hypot(se, ref_se))


def test_mc_rejects_bad_arguments():
    w, mu, cov = _mixture()
    with pytest.raises(ValueError, match="overlap"):
        gmm_mi_pairs(w, mu, cov, [([0], [0, 1])])
    with pytest.raises(ValueError, match="dim_x"):
        gmm_mi(w, mu, cov, dim_x=3)
    with pytest.raises(ValueError, match="n_samples"):
        gmm_mi(w, mu, cov, dim_x=1, n_samples=1)
