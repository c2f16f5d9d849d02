"""Variational estimators (mine, dv, nwj, infonce, smile) against Gaussian truth."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import estimators
from estimators.variational import DV, MINE, NWJ, SMILE, InfoNCE
from estimators.variational.training import DIVERGED_BEYOND
from harness.interface import InputError, SpecError

torch = pytest.importorskip("torch")

RHO = 0.8
TRUTH = -0.5 * np.log(1 - RHO**2)  # 0.5108 nats
ALL = (MINE, DV, NWJ, SMILE, InfoNCE)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def gaussian(n: int, rho: float = RHO, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)


@pytest.fixture(scope="module")
def data():
    return gaussian(2000)


@pytest.mark.parametrize(
    ("cls", "params", "tol"),
    [
        (MINE, {"steps": 300}, 0.1),
        (DV, {"steps": 300}, 0.1),
        (NWJ, {"steps": 300}, 0.1),
        (SMILE, {"steps": 300}, 0.1),
        (InfoNCE, {"steps": 200, "batch_size": 64}, 0.1),
    ],
)
def test_gaussian_within_tolerance(data, cls, params, tol):
    value = cls(device="cpu", **params).estimate(*data)
    assert abs(value - TRUTH) < tol, (cls.name, value, TRUTH)


def test_mine_more_steps_is_closer(data):
    short = MINE(steps=10, device="cpu").estimate(*data)
    long = MINE(steps=300, device="cpu").estimate(*data)
    assert abs(long - TRUTH) < abs(short - TRUTH)
    assert short < TRUTH - 0.2  # 10 steps has barely started


def test_heldout_estimate_and_independence():
    x, y = gaussian(2000)
    assert abs(MINE(steps=300, estimate_on="heldout", device="cpu").estimate(x, y) - TRUTH) < 0.1
    xi, yi = gaussian(2000, rho=0.0, seed=1)
    assert abs(MINE(steps=300, estimate_on="heldout", device="cpu").estimate(xi, yi)) < 0.05


def test_infonce_capped_at_log_batch():
    x, y = gaussian(500, rho=0.999)  # truth 3.1 nats
    value = InfoNCE(steps=100, batch_size=8, device="cpu").estimate(x, y)
    assert 1.0 < value <= np.log(8) + 1e-6


def optimal_critic(x, y, rho: float = RHO):
    """log p(x, y) / (p(x) p(y)) of the standard bivariate Gaussian."""
    r2 = 1 - rho**2
    return -0.5 * np.log(r2) - (rho**2 * x**2 - 2 * rho * x * y + rho**2 * y**2) / (2 * r2)


def test_bounds_at_the_optimal_critic():
    from estimators.variational import bounds

    x, y = gaussian(20000, seed=5)
    t_joint = torch.from_numpy(optimal_critic(x, y))
    t_marg = torch.from_numpy(optimal_critic(x, np.roll(y, 1)))
    assert abs(float(bounds.DV().value(t_joint, t_marg)) - TRUTH) < 0.03
    assert abs(float(bounds.MINE().value(t_joint, t_marg)) - TRUTH) < 0.03
    assert abs(float(bounds.NWJ().value(t_joint + 1, t_marg + 1)) - TRUTH) < 0.03
    # SMILE equals DV up to the clipped mass; with clip=0 the marginal term is log 1 = 0
    smile0 = float(bounds.SMILE(clip=0.0).value(t_joint, t_marg))
    assert smile0 == pytest.approx(float(t_joint.mean()), abs=1e-12)
    assert abs(float(bounds.SMILE(clip=5.0).value(t_joint, t_marg)) - TRUTH) < 0.03
    b = 16
    xs, ys = torch.from_numpy(x[:b]), torch.from_numpy(y[:b])
    matrix = torch.from_numpy(optimal_critic(xs.numpy()[:, None], ys.numpy()[None, :]))
    nce = float(bounds.InfoNCE().value(matrix.diagonal(), matrix))
    by_hand = np.mean(np.diag(matrix.numpy()) - np.log(np.exp(matrix.numpy()).sum(1))) + np.log(b)
    assert nce == pytest.approx(by_hand, rel=1e-12)
    assert nce <= np.log(b)


@pytest.mark.parametrize("n", [37, 40])
def test_infonce_evaluation_scores_every_row_once_in_blocks_of_the_batch_size(n):
    from estimators.variational import bounds
    from estimators.variational.training import evaluate

    class Optimal:
        def matrix(self, xs, ys):
            return torch.from_numpy(optimal_critic(xs.numpy()[:, None], ys.numpy()[None, :]))

    x, y = gaussian(n, seed=6)
    value = evaluate(
        Optimal(), bounds.InfoNCE(), torch.from_numpy(x), torch.from_numpy(y),
        batch_size=8, rng=np.random.default_rng(3),
    )  # fmt: skip
    order = np.random.default_rng(3).permutation(n)
    xs, ys = x[order], y[order]

    def terms(lo):  # the row terms of the block of rows lo .. lo + 7
        m = optimal_critic(xs[lo : lo + 8, None], ys[None, lo : lo + 8])
        return np.diag(m) - np.log(np.exp(m).sum(1)) + np.log(8)

    by_hand = [t for lo in range(0, n - 7, 8) for t in terms(lo)]
    by_hand += list(terms(n - 8)[8 - n % 8 :]) if n % 8 else []
    assert len(by_hand) == n
    assert value == pytest.approx(np.mean(by_hand), rel=1e-12)


def test_mine_gradient_uses_the_moving_average():
    from estimators.variational import bounds

    t_joint = torch.tensor([1.0, 2.0])
    first = torch.tensor([0.0, 0.0])  # E_q[e^T] = 1
    second = torch.tensor([np.log(3.0), np.log(3.0)], requires_grad=True)  # E_q[e^T] = 3
    mine = bounds.MINE(ma_rate=0.5)
    mine.loss(t_joint, first)
    mine.loss(t_joint, second).backward()
    # d loss / d t_marg_i = e^t_i / n / moving average, moving average = 0.5 * 1 + 0.5 * 3 = 2
    assert second.grad.numpy() == pytest.approx([3 / 2 / 2, 3 / 2 / 2])


@pytest.mark.parametrize("cls", ALL)
def test_same_seed_same_estimate(cls):
    x, y = gaussian(300)
    a = cls(steps=20, seed=3, device="cpu").estimate(x, y)
    b = cls(steps=20, seed=3, device="cpu").estimate(x, y)
    c = cls(steps=20, seed=4, device="cpu").estimate(x, y)
    assert a == b
    assert a != c


@pytest.mark.parametrize("cls", ALL)
def test_diverging_critic_raises(cls):
    x, y = gaussian(300)
    with pytest.raises(FloatingPointError, match="non-finite"):
        cls(steps=50, lr=1e30, device="cpu").estimate(x, y)


@pytest.mark.parametrize("cls", ALL)
def test_a_runaway_critic_is_reported_as_diverged_not_as_an_estimate(cls):
    x, y = gaussian(300)
    # lr = 1e10: a non-finite loss, or finite bounds such as -1e34 (mine) or +5e30 (smile)
    with pytest.raises(FloatingPointError, match="diverged"):
        cls(steps=100, lr=1e10, device="cpu").estimate(x, y)


@pytest.mark.parametrize("bound", [-700.0, 1500.0, -DIVERGED_BEYOND])
def test_large_but_finite_bounds_are_kept_as_estimates(monkeypatch, bound):
    # an over-fitted critic on held-out rows (dv at d = 128: about -600 nats) and a
    # true MI of thousands of nats are estimates, not divergence
    from estimators.variational import training

    monkeypatch.setattr(training, "evaluate", lambda *args, **kwargs: bound)
    x, y = gaussian(100)
    assert MINE(steps=2, device="cpu").estimate(x, y) == bound
    monkeypatch.setattr(training, "evaluate", lambda *args, **kwargs: -1.5 * DIVERGED_BEYOND)
    with pytest.raises(FloatingPointError, match=r"beyond \+-10000; the critic diverged"):
        MINE(steps=2, device="cpu").estimate(x, y)


@pytest.mark.parametrize(
    "params",
    [
        {"steps": 0},
        {"batch_size": 1},
        {"lr": -1.0},
        {"lr": float("nan")},
        {"hidden": 0},
        {"layers": 2.5},
        {"device": "tpu"},
        {"seed": 1.5},
        {"estimate_on": "test"},
        {"threads": 0},
        {"threads": 1.5},
    ],
)
@pytest.mark.parametrize("cls", ALL)
def test_bad_params_raise_spec_error(cls, params):
    x, y = gaussian(50)
    with pytest.raises(SpecError, match=cls.name):
        cls(**params).estimate(x, y)


@pytest.mark.parametrize(("cls", "params"), [(MINE, {"ma_rate": 0}), (SMILE, {"clip": -1})])
def test_bad_extra_params_raise_spec_error(cls, params):
    with pytest.raises(SpecError):
        cls(**params).estimate(*gaussian(50))


@pytest.mark.parametrize("cls", ALL)
def test_nan_input_raises_input_error(cls):
    x, y = gaussian(50)
    x[7] = np.nan
    with pytest.raises(InputError, match="NaN"):
        cls(steps=5).estimate(x, y)


def test_threads_apply_during_training_and_are_restored(monkeypatch):
    import estimators.variational.training as training

    seen = []
    real = training.fit_estimate

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "fit_estimate", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        MINE(steps=3, threads=1).estimate(*gaussian(50))
        MINE(steps=3, threads=None).estimate(*gaussian(50))
        assert seen == [1, 2]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_heldout_needs_four_samples():
    with pytest.raises(InputError, match="at least 4"):
        MINE(steps=5, estimate_on="heldout").estimate([0.0, 1.0, 2.0], [1.0, 0.0, 2.0])


def test_spec_strings_through_registry():
    added = [cls for cls in ALL if cls.name not in estimators.names()]
    for cls in added:
        estimators.registry.register(cls)
    try:
        est = estimators.make("mine:steps=10,ma_rate=0.05")
        assert isinstance(est, MINE)
        assert est.get_params()["steps"] == 10 and est.ma_rate == 0.05
        assert estimators.make("infonce").batch_size == 128
        with pytest.raises(SpecError, match="unknown parameter"):
            estimators.make("nwj:clip=3")
    finally:
        for cls in added:
            estimators.registry.unregister(cls.name)


def test_import_does_not_load_torch():
    code = "import sys, estimators.variational; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
