"""KSG: exact agreement with a plain cKDTree reference, Gaussian truth, input errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.special import digamma

import estimators
from estimators._neighbors import (
    build_tree,
    count_in_tree,
    count_sorted,
    grid_knn_2d,
    knn_extents,
)
from estimators.ksg import KSG, _psi_table
from harness.interface import InputError, SpecError


def ksg_reference(x: np.ndarray, y: np.ndarray, k: int, variant: int) -> float:
    """Kraskov et al. (2004) estimators 1 and 2, written directly on cKDTree (max-norm)."""
    n = x.shape[0]
    joint = np.hstack([x, y])
    dist, idx = cKDTree(joint).query(joint, k + 1, p=np.inf)  # column 0 is the point itself
    tx, ty = cKDTree(x), cKDTree(y)
    if variant == 1:
        eps = dist[:, -1]
        inside = np.nextafter(eps, 0)  # "<= the float below eps" is "strictly < eps"
        nx = tx.query_ball_point(x, inside, p=np.inf, return_length=True) - 1
        ny = ty.query_ball_point(y, inside, p=np.inf, return_length=True) - 1
        return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    nbrs = idx[:, 1:]
    eps_x = np.abs(x[nbrs] - x[:, None, :]).max(axis=(1, 2))
    eps_y = np.abs(y[nbrs] - y[:, None, :]).max(axis=(1, 2))
    nx = tx.query_ball_point(x, eps_x, p=np.inf, return_length=True) - 1
    ny = ty.query_ball_point(y, eps_y, p=np.inf, return_length=True) - 1
    return digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny))


def dependent_sample(n: int, dx: int, dy: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dx))
    y = 0.7 * np.tanh(x[:, :1]) * np.ones((1, dy)) + rng.standard_t(5, size=(n, dy))
    return x, y * np.arange(1, dy + 1)  # unequal column scales


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("dx,dy", [(1, 1), (1, 2), (2, 1), (3, 2), (4, 4)])
@pytest.mark.parametrize("k", [1, 4])
def test_matches_ckdtree_reference(dx, dy, variant, k):
    x, y = dependent_sample(600, dx, dy, seed=10 * dx + dy)
    got = KSG(k=k, variant=variant, noise=0).estimate(x, y)
    assert got == pytest.approx(ksg_reference(x, y, k, variant), abs=1e-9)


@pytest.mark.parametrize("dx", [1, 2])
def test_matches_reference_at_scale(dx):
    # deep trees (many levels built in parallel) and large grids
    x, y = dependent_sample(20_000, dx, 1, seed=3)
    for variant in (1, 2):
        got = KSG(k=5, variant=variant, noise=0).estimate(x, y)
        assert got == pytest.approx(ksg_reference(x, y, 5, variant), abs=1e-9)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_neighbour_kernels_are_exact_with_ties(d):
    # integer data: many equal coordinates and distances exactly equal to radii
    rng = np.random.default_rng(d)
    data = rng.integers(0, 6, size=(700, d)).astype(float) + rng.integers(0, 3, (700, 1)) * 0.25
    radii = rng.integers(0, 4, size=700) * 0.25
    ref = cKDTree(data)
    for strict in (True, False):
        r = np.nextafter(radii, 0) if strict else radii
        expected = ref.query_ball_point(data, np.maximum(r, 0), p=np.inf, return_length=True)
        if strict:
            expected = np.where(radii > 0, expected, 0)
        got = count_in_tree(build_tree(data), data, radii, strict)
        np.testing.assert_array_equal(got, expected)
        if d == 1:
            got1 = count_sorted(data[:, 0], np.argsort(data[:, 0]), radii, strict)
            np.testing.assert_array_equal(got1, expected)


def test_knn_distances_equal_ckdtree():
    x, y = dependent_sample(3000, 2, 2, seed=1)
    joint = np.hstack([x, y])
    tree = build_tree(joint)
    eps, _, _ = knn_extents(tree, 7, 2)
    dist, _ = cKDTree(joint).query(joint, 8, p=np.inf)
    np.testing.assert_array_equal(eps[np.argsort(tree.perm)], dist[:, -1])


def neighbourhoods_reference(x, y, k):
    """eps, eps_x, eps_y and the variant-1 / variant-2 marginal counts (self included)."""
    joint = np.column_stack([x, y])
    dist, idx = cKDTree(joint).query(joint, k + 1, p=np.inf)
    eps = dist[:, -1]
    eps_x = np.abs(x[idx] - x[:, None]).max(axis=1)
    eps_y = np.abs(y[idx] - y[:, None]).max(axis=1)
    tx, ty = cKDTree(x[:, None]), cKDTree(y[:, None])

    def count(tree, v, r, strict):
        inside = np.maximum(np.nextafter(r, 0), 0) if strict else r
        c = tree.query_ball_point(v[:, None], inside, p=np.inf, return_length=True)
        return np.where(r > 0, c, 0) if strict else c

    strict = (count(tx, x, eps, True), count(ty, y, eps, True))
    loose = (count(tx, x, eps_x, False), count(ty, y, eps_y, False))
    return eps, eps_x, eps_y, strict, loose


def grid_cases():
    rng = np.random.default_rng(11)
    x = rng.normal(size=3000)
    yield "gaussian", x, 0.6 * x + 0.8 * rng.normal(size=3000)
    x = rng.standard_cauchy(2000)
    yield "cauchy", x, np.sin(x) + 0.01 * rng.standard_cauchy(2000)
    x = rng.normal(size=1500) * 1e-6
    yield "scales", x, rng.normal(size=1500) + 1e5 * x
    x = rng.uniform(size=800)
    yield "deterministic", x, x**2
    yield "tiny", rng.normal(size=6), rng.normal(size=6)
    # long, thin neighbourhoods in rank space (jittered as KSG jitters ties): a
    # two-valued column, and integer codes on a scale far from the other column's
    x = rng.integers(0, 2, 3000) + 1e-10 * rng.uniform(-1, 1, 3000)
    yield "two-valued", x, rng.normal(size=3000)
    x = rng.integers(0, 1000, 2000) + 1e-7 * rng.uniform(-1, 1, 2000)
    yield "codes", x, rng.normal(size=2000)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("case", list(grid_cases()), ids=lambda c: c[0])
def test_grid_search_equals_ckdtree(case, k):
    _, x, y = case
    eps, eps_x, eps_y, strict, loose = neighbourhoods_reference(x, y, k)
    got = grid_knn_2d(x, y, k, variant=1)
    np.testing.assert_array_equal(got[0], eps)
    np.testing.assert_array_equal(got[1], eps_x)
    np.testing.assert_array_equal(got[2], eps_y)
    np.testing.assert_array_equal(got[3], strict[0])
    np.testing.assert_array_equal(got[4], strict[1])
    got2 = grid_knn_2d(x, y, k, variant=2)
    np.testing.assert_array_equal(got2[3], loose[0])
    np.testing.assert_array_equal(got2[4], loose[1])


def test_grid_search_exact_with_ties():
    # integer data: equal points and distances equal to eps everywhere
    rng = np.random.default_rng(4)
    x = rng.integers(0, 8, size=1200).astype(float)
    y = rng.integers(0, 8, size=1200) + 0.5 * x
    eps, _, _, strict, _ = neighbourhoods_reference(x, y, 4)
    got = grid_knn_2d(x, y, 4, variant=1)
    np.testing.assert_array_equal(got[0], eps)
    np.testing.assert_array_equal(got[3], strict[0])
    np.testing.assert_array_equal(got[4], strict[1])


def test_digamma_table():
    m = np.arange(1, 100_001)
    np.testing.assert_allclose(_psi_table(100_001)[1:100_001], digamma(m), rtol=0, atol=1e-13)


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_correlated_gaussian_truth(rho, variant):
    rng = np.random.default_rng(2024)
    x = rng.normal(size=5000)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=5000)
    truth = -0.5 * np.log(1 - rho**2)
    assert KSG(k=5, variant=variant).estimate(x, y) == pytest.approx(truth, abs=0.03)


@pytest.mark.parametrize("dim", [1, 3])
def test_standardize_removes_the_scale_of_each_column(dim):
    # Y = rho X + noise per coordinate, then shrunk 1000x: the max-norm sees only X
    rng = np.random.default_rng(7)
    rho = 0.8
    x = rng.normal(size=(3000, dim))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(3000, dim))
    truth = -0.5 * dim * np.log(1 - rho**2)
    scale = np.array([1e-3, 5.0, 0.2])[:dim]
    raw = KSG(k=5).estimate(x, y * scale)
    std = KSG(k=5, standardize=True)
    assert raw < truth - 0.3
    assert std.estimate(x, y * scale) == pytest.approx(truth, abs=0.06 * dim)
    assert std.estimate(x * 40.0, y * scale) == pytest.approx(std.estimate(x, y), abs=1e-9)


def test_independent_near_zero():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(4000, 2)), rng.normal(size=(4000, 1))
    assert abs(KSG(k=5).estimate(x, y)) < 0.02


def test_noise_seed_determinism_on_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=800).astype(float)
    y = x + rng.integers(0, 3, size=800)
    a = KSG(k=3, noise=1e-8, seed=1).estimate(x, y)
    assert KSG(k=3, noise=1e-8, seed=1).estimate(x, y) == a
    assert KSG(k=3, noise=1e-8, seed=2).estimate(x, y) != a
    # without jitter the tied points have no KSG term: one clear error, not a huge MI
    with pytest.raises(InputError, match=r"800 of 800 points .* distance 0 .* use noise > 0"):
        KSG(k=3, noise=0).estimate(x, y)


@pytest.mark.parametrize("dy", [1, 2])
def test_jitter_breaks_ties_of_values_far_from_zero(dy):
    # integers offset by 1e9: a jitter of 1e-10 std added to the raw values would be
    # below their rounding step and leave the ties (an "MI" of about 9.6 nats)
    rng = np.random.default_rng(5)
    x = rng.integers(0, 5, (1000, 1)).astype(float)
    y = rng.integers(0, 5, (1000, dy)).astype(float)
    near = KSG().estimate(x, y)
    assert abs(near) < 0.05
    assert KSG().estimate(x + 1e9, y - 3e9) == pytest.approx(near, abs=1e-12)


def test_registry_and_params():
    est = estimators.make("ksg:k=5,variant=2")
    assert isinstance(est, KSG)
    params = {"k": 5, "variant": 2, "noise": 1e-10, "seed": 0, "standardize": False}
    assert est.get_params() == params
    assert repr(est) == "ksg:k=5,variant=2,noise=1e-10,seed=0,standardize=False"
    assert estimators.make("ksg:standardize=true").standardize is True
    assert est.min_samples() == 6


@pytest.mark.parametrize(
    "x,y,match",
    [
        ([0.0, 1.0, np.nan, 3.0, 4.0, 5.0, 6.0], np.arange(7.0), "NaN"),
        (np.arange(7.0), [0.0, 1.0, np.inf, 3.0, 4.0, 5.0, 6.0], "inf"),
        (np.arange(7.0), np.arange(8.0), "same number of samples"),
        (np.arange(5.0), np.arange(5.0) ** 2, "at least 6 samples"),
        (np.ones(7), np.arange(7.0), "constant"),
    ],
)
def test_bad_inputs(x, y, match):
    with pytest.raises(InputError, match=match):
        KSG(k=5).estimate(x, y)


def test_tensors_needing_grad_and_iterators_are_read_as_plain_samples():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(200)
    y = x + rng.standard_normal(200)
    est = KSG(k=5)
    expected = est.estimate(x, y)
    assert est.estimate(torch.tensor(x, requires_grad=True), torch.tensor(y)) == expected
    assert est.estimate(torch.tensor(x).conj(), -torch.tensor(y).neg()) == expected  # lazy bits

    class Detachable(np.ndarray):  # not a tensor: its own detach() is never called
        def detach(self):
            raise AssertionError("detach() called on an array that is no tensor")

    assert est.estimate(x.view(Detachable), y) == expected
    pairs = [(x, y), (y, x)]
    batch = est.estimate_batch((p[0] for p in pairs), (p[1] for p in pairs))
    np.testing.assert_array_equal(batch, [expected, est.estimate(y, x)])


@pytest.mark.parametrize(
    "spec,match",
    [
        ("ksg:k=0", "k must be an integer >= 1"),
        ("ksg:k=2.5", "k must be an integer >= 1"),
        ("ksg:k=true", "k must be an integer >= 1"),
        ("ksg:variant=3", "variant must be 1 or 2"),
        ("ksg:noise=-1", "noise must be a finite number"),
        ("ksg:seed=abc", "seed must be an integer"),
        ("ksg:seed=-1", "seed must be an integer"),
        ("ksg:kk=3", "unknown parameter kk"),
    ],
)
def test_bad_params(spec, match):
    with pytest.raises(SpecError, match=match):
        estimators.make(spec)


def test_estimate_is_the_same_on_one_and_on_all_numba_threads(on_one_numba_thread):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 2))
    y = x[:, :1] + rng.normal(size=(500, 1))
    est = KSG(k=4)
    everywhere = est.estimate(x, y)
    with on_one_numba_thread():
        one = est.estimate(x, y)
    assert one == everywhere


SCRIPT = """
import sys
import torch  # before Numba: the two then share one OpenMP runtime
import numpy as np
import estimators
import numba
from ground_truth.monte_carlo import gmm_logpdf
torch.set_num_threads(1)
rng = np.random.default_rng(4)
x = rng.normal(size=(200, 1))
estimators.make("infonet:device=cpu").estimate(x, x + rng.normal(size=(200, 1)))

def ksg():
    for n in (300, 5000):
        x = rng.normal(size=(n, 1))
        estimators.make("ksg").estimate(x, x + rng.normal(size=(n, 1)))

def ground_truth():
    k = 20  # rows x components past the kernel's parallel threshold
    gmm_logpdf(rng.normal(size=(40_000, 2)), np.full(k, 1 / k), rng.normal(size=(k, 2)),
               np.tile(np.eye(2), (k, 1, 1)))

for name in sys.argv[1:]:  # the first Numba parallel launch is the one that resets torch
    globals()[name]()
    print(torch.get_num_threads())
print(numba.get_num_threads())
"""


@pytest.mark.parametrize("order", [("ksg", "ground_truth"), ("ground_truth", "ksg")])
def test_numba_calls_leave_torch_thread_count_alone(order):
    # a KSG call used to leave torch on Numba's thread count (InfoNet then ran
    # 3x slower on a busy machine); so could the Monte Carlo ground-truth kernel
    import subprocess
    import sys

    pytest.importorskip("torch")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["NUMBA_NUM_THREADS"] = "2"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *order],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["1", "1", "2"]  # torch after each kernel, then Numba's own count
