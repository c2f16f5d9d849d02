"""NDoE, its block autoregressive flow (exact log-det, the y -> x mask) and DoE vs truth."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from harness.interface import InputError, SpecError

torch = pytest.importorskip("torch")

from estimators.flows import DoE, NDoE, SeparateBNAF  # noqa: E402
from estimators.flows.bnaf import BNAF  # noqa: E402
from estimators.flows.realnvp import RealNVP  # noqa: E402

RHO = 0.8
H_X = 0.5 * math.log(2 * math.pi * math.e)  # 1.4189, X ~ N(0, 1)
H_X_GIVEN_Y = 0.5 * math.log(2 * math.pi * math.e * (1 - RHO**2))  # 0.9081
MI = -0.5 * math.log(1 - RHO**2)  # 0.5108


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _flow(residual: bool) -> BNAF:
    torch.manual_seed(1)
    flow = BNAF(dim_y=2, dim_x=3, hidden=4, residual=residual).double()
    with torch.no_grad():
        for p in flow.parameters():  # move off the initial values so every path is exercised
            p.add_(0.3 * torch.randn_like(p))
    return flow


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_log_det_equals_autograd_jacobian(masked, residual):
    flow = _flow(residual)
    v = 1.5 * torch.randn(6, 5, dtype=torch.float64)
    _, log_det = flow(v, masked)
    for n in range(v.shape[0]):
        jac = torch.autograd.functional.jacobian(lambda u: flow(u[None], masked)[0][0], v[n])
        assert torch.all(torch.triu(jac, diagonal=1) == 0)  # autoregressive in (y, x) order
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign.item() == 1.0
        assert abs(logabs.item() - log_det[n].sum().item()) < 1e-5


def test_mask_makes_x_density_independent_of_y():
    flow = _flow(residual=True)
    y = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(8, 3, dtype=torch.float64)
    (grad_masked,) = torch.autograd.grad(flow.x_log_prob(y, x, masked=True).sum(), y)
    assert torch.all(grad_masked == 0)
    (grad_full,) = torch.autograd.grad(flow.x_log_prob(y, x, masked=False).sum(), y)
    assert grad_full.abs().max() > 1e-3
    # Changing y leaves the masked log-density unchanged to the last bit.
    other = flow.x_log_prob(y.detach() + 5.0, x, masked=True)
    assert torch.equal(other, flow.x_log_prob(y.detach(), x, masked=True))


@pytest.mark.parametrize("masked", [False, True])
def test_realnvp_log_det_and_mask(masked):
    torch.manual_seed(2)
    flow = RealNVP(dim_y=2, dim_x=3, hidden=8, couplings=4).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    y = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 3, dtype=torch.float64)
    _, log_det = flow(y, x, masked)
    for n in range(5):
        jac = torch.autograd.functional.jacobian(
            lambda u, n=n: flow(y[n : n + 1].detach(), u[None], masked)[0][0], x[n]
        )
        assert abs(torch.linalg.slogdet(jac)[1].item() - log_det[n].item()) < 1e-5
    (grad,) = torch.autograd.grad(flow.x_log_prob(y, x, masked).sum(), y, allow_unused=True)
    size = 0.0 if grad is None else grad.abs().max().item()  # None: y not used at all
    assert (size == 0.0) == masked


def _oracle(x, y, n_test):
    """NLL of the held-out points under the true densities: (h_x, h_x_given_y).

    The split is a permutation seeded by ``seed=0``; its first ``n_test`` rows are held out.
    """
    test = np.random.default_rng(0).permutation(x.shape[0])[:n_test]
    xt, yt = x[test, 0], y[test, 0]
    s2 = 1 - RHO**2
    h_x = np.mean(0.5 * xt**2 + 0.5 * math.log(2 * math.pi))
    h_xy = np.mean(0.5 * (xt - RHO * yt) ** 2 / s2 + 0.5 * math.log(2 * math.pi * s2))
    return h_x, h_xy


@pytest.fixture(scope="module")
def fitted():
    """One small NDoE fit on a bivariate Gaussian (rho=0.8, n=2000)."""
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.standard_normal((n, 1))
    y = RHO * x + math.sqrt(1 - RHO**2) * rng.standard_normal((n, 1))
    est = NDoE(epochs=30, lr=1e-2, hidden_factor=10, device="cpu", seed=0)
    mi = est.estimate(x, y)
    return est, mi, x, y


def test_entropies_match_gaussian_truth(fitted):
    est, mi, x, y = fitted
    ent = est.entropies_
    oracle_h_x, oracle_h_xy = _oracle(x, y, ent["n_test"])
    # Measured: h_x 1.475 (oracle 1.448, truth 1.419), h_x|y 0.909 (0.886, 0.908).
    assert ent["h_x"] == pytest.approx(oracle_h_x, abs=0.05)
    assert ent["h_x_given_y"] == pytest.approx(oracle_h_xy, abs=0.05)
    # A fitted model cannot beat the true density by much on held-out data.
    assert ent["h_x"] > oracle_h_x - 0.02 and ent["h_x_given_y"] > oracle_h_xy - 0.02
    assert ent["h_x"] == pytest.approx(H_X, abs=0.1)
    assert ent["h_x_given_y"] == pytest.approx(H_X_GIVEN_Y, abs=0.1)


def test_estimate_matches_analytic_mi(fitted):
    est, mi, _, _ = fitted
    assert mi == pytest.approx(est.entropies_["h_x"] - est.entropies_["h_x_given_y"])
    assert mi == pytest.approx(MI, abs=0.08)  # measured 0.566 vs 0.511


def test_realnvp_variant_matches_gaussian_truth(fitted):
    # x = (x1, x2): x1 correlated with y as in the fixture, x2 independent N(0, 1)
    _, _, x1, y = fitted
    x2 = np.random.default_rng(1).standard_normal(x1.shape)
    est = NDoE(flow="realnvp", epochs=20, lr=3e-3, hidden_factor=32, couplings=4, device="cpu")
    mi = est.estimate(np.hstack([x1, x2]), y)
    ent = est.entropies_
    oracle_h_x1, oracle_h_x1y = _oracle(x1, y, ent["n_test"])
    test = np.random.default_rng(0).permutation(x1.shape[0])[: ent["n_test"]]
    h_x2 = np.mean(0.5 * x2[test, 0] ** 2 + 0.5 * math.log(2 * math.pi))
    # Measured: h_x 2.904, h_x|y 2.368, mi 0.537.
    assert ent["h_x"] == pytest.approx(oracle_h_x1 + h_x2, abs=0.08)
    assert ent["h_x_given_y"] == pytest.approx(oracle_h_x1y + h_x2, abs=0.08)
    assert ent["h_x"] == pytest.approx(2 * H_X, abs=0.15)
    assert ent["h_x_given_y"] == pytest.approx(H_X + H_X_GIVEN_Y, abs=0.15)
    assert mi == pytest.approx(MI, abs=0.08)
    # on one coordinate a coupling flow is affine, a Gaussian model: refused
    with pytest.raises(InputError, match="realnvp needs x with at least 2 columns"):
        est.estimate(x1, y)


def test_same_seed_same_estimate(fitted):
    _, _, x, y = fitted
    est = NDoE(epochs=5, lr=1e-2, hidden_factor=10, device="cpu", seed=0)
    sub = slice(0, 200)
    a = est.estimate(x[sub], y[sub])
    b = NDoE(**est.get_params()).estimate(x[sub], y[sub])
    assert a == b


@pytest.mark.parametrize(
    "params",
    [
        {"epochs": 0},
        {"batch_size": 1.5},
        {"lr": -1.0},
        {"lr": "fast"},
        {"hidden_factor": 0},
        {"layers": True},
        {"residual": "maybe"},
        {"device": "tpu"},
        {"seed": 0.5},
        {"test_fraction": 1.0},
        {"flow": "maf"},
        {"couplings": 0},
    ],
)
def test_bad_params_raise_spec_error(params):
    with pytest.raises(SpecError):
        NDoE(**params).estimate(np.arange(20.0), np.arange(20.0) ** 2)
    if not {"residual", "hidden_factor", "layers", "flow", "couplings"} & set(params):
        with pytest.raises(SpecError):
            DoE(**params).estimate(np.arange(20.0), np.arange(20.0) ** 2)
    if not {"flow", "couplings"} & set(params):
        with pytest.raises(SpecError):
            SeparateBNAF(**params).estimate(np.arange(20.0), np.arange(20.0) ** 2)


@pytest.mark.parametrize(
    "params", [{"hidden": 0}, {"clip": 0.0}, {"clip": "x"}, {"density": "cauchy"}]
)
def test_doe_bad_params_raise_spec_error(params):
    with pytest.raises(SpecError):
        DoE(**params).estimate(np.arange(20.0), np.arange(20.0) ** 2)


def test_doe_matches_gaussian_truth(fitted):
    _, _, x, y = fitted
    est = DoE(epochs=20, lr=3e-3, hidden=32, device="cpu", seed=0)
    mi = est.estimate(x, y)
    ent = est.entropies_
    # Measured: h_x 1.451, h_x|y 0.900, mi 0.550 (held-out oracle 1.448, 0.886, 0.562).
    assert ent["h_x"] == pytest.approx(H_X, abs=0.06)
    assert ent["h_x_given_y"] == pytest.approx(H_X_GIVEN_Y, abs=0.06)
    assert mi == pytest.approx(MI, abs=0.07)


def test_separate_bnafs_match_gaussian_truth(fitted):
    _, _, x, y = fitted
    est = SeparateBNAF(epochs=30, lr=1e-2, hidden_factor=10, device="cpu", seed=0)
    mi = est.estimate(x, y)
    ent = est.entropies_
    oracle_h_x, oracle_h_xy = _oracle(x, y, ent["n_test"])
    # Measured: h_x 1.487, h_x|y 0.924, mi 0.563 (held-out oracle 1.448, 0.886).
    assert ent["h_x"] == pytest.approx(oracle_h_x, abs=0.05)
    assert ent["h_x_given_y"] == pytest.approx(oracle_h_xy, abs=0.05)
    assert ent["h_x"] > oracle_h_x - 0.02 and ent["h_x_given_y"] > oracle_h_xy - 0.02
    assert mi == pytest.approx(MI, abs=0.08)
    # the marginal flow models x alone: y shuffled leaves H(X) unchanged to the bit,
    # while H(X|Y) loses what y told it
    shuffled = np.random.default_rng(3).permutation(y)
    again = SeparateBNAF(**est.get_params())
    again.estimate(x, shuffled)
    assert again.entropies_["h_x"] == ent["h_x"]
    assert again.entropies_["h_x_given_y"] > ent["h_x"] - 0.05
    assert est.flow_[1].dim_y == 0 and est.flow_[0].dim_y == 1


def test_doe_logistic_density():
    rng = np.random.default_rng(5)
    n, scale = 2000, 0.5
    x = rng.logistic(0.0, scale, (n, 1))
    y = x + rng.logistic(0.0, 0.3, (n, 1))
    fit = {"epochs": 20, "lr": 3e-3, "hidden": 32, "device": "cpu", "seed": 0}
    logistic = DoE(density="logistic", **fit)
    logistic.estimate(x, y)
    gaussian = DoE(**fit)
    gaussian.estimate(x, y)
    test = np.random.default_rng(0).permutation(n)[: logistic.entropies_["n_test"]]
    z = x[test, 0] / scale
    oracle = np.mean(z + 2 * np.log1p(np.exp(-z)) + math.log(scale))  # true density, held out
    # Measured: logistic 1.3276, Gaussian 1.3381, oracle 1.3262 (entropy ln 0.5 + 2 = 1.307);
    # a Gaussian misses a logistic by KL = 0.5 ln(2 pi e pi^2 / 3) - 2 = 0.0144 nats
    assert logistic.entropies_["h_x"] == pytest.approx(oracle, abs=0.005)
    gap = gaussian.entropies_["h_x"] - logistic.entropies_["h_x"]
    assert gap == pytest.approx(
        0.5 * math.log(2 * math.pi * math.e * math.pi**2 / 3) - 2, abs=0.006
    )


def test_doe_logistic_on_gaussian_data(fitted):
    # misspecified in both terms by nearly the same KL (0.0095 nats), which cancels in MI
    _, _, x, y = fitted
    est = DoE(density="logistic", epochs=20, lr=3e-3, hidden=32, device="cpu", seed=0)
    mi = est.estimate(x, y)
    # Measured: h_x 1.458, h_x|y 0.909, mi 0.549 (the Gaussian DoE: 1.451, 0.896, 0.555)
    assert est.entropies_["h_x"] == pytest.approx(H_X + 0.0095, abs=0.06)
    assert mi == pytest.approx(MI, abs=0.07)


def test_doe_logistic_column_constant_in_the_training_part_stays_finite():
    rng = np.random.default_rng(0)
    n = 50
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 1))
    test = np.random.default_rng(0).permutation(n)[:10]  # DoE's held-out rows at seed 0
    x[:, 1] = 0.0
    x[test[0], 1] = 1.0  # the column varies only in a held-out row
    for density in ("gaussian", "logistic"):
        ent = DoE(epochs=3, density=density, device="cpu").fit_entropies(x, y)
        assert np.isfinite([ent["h_x"], ent["h_x_given_y"], ent["mi"]]).all()


def test_nan_raises_input_error():
    x = np.random.default_rng(0).standard_normal(50)
    y = x.copy()
    y[3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        NDoE().estimate(x, y)
    with pytest.raises(InputError, match="NaN"):
        DoE().estimate(x, y)
    with pytest.raises(InputError, match="NaN"):
        SeparateBNAF().estimate(x, y)
    with pytest.raises(InputError, match="at least"):
        NDoE().estimate(x[:3], x[:3])


def test_module_import_does_not_load_torch():
    code = "import sys, estimators.flows; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_doe_validation_epoch_stops_overfitting():
    import tasks

    inst = tasks.make("mvn:d=5,mis=1,n=2000").instance(0, 0)
    # Measured: 1.037 after 20 epochs, 1.004 after 80 (truth 1.0); without the
    # validation-picked epoch the held-out H(X|Y) grows with every epoch.
    for epochs in (20, 80):
        mi = DoE(epochs=epochs, hidden=64, device="cpu", seed=0).estimate(inst.x, inst.y)
        assert mi == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("cls", [NDoE, SeparateBNAF, DoE])
def test_split_keeps_two_rows_in_each_part_and_counts_them_alike(cls):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((10, 1)), rng.standard_normal((10, 1))
    for fraction, (n_train, n_test) in ((0.95, (2, 8)), (0.01, (8, 2)), (0.3, (7, 3))):
        est = cls(epochs=1, batch_size=4, device="cpu", test_fraction=fraction)
        assert np.isfinite(est.estimate(x, y))
        assert (est.entropies_["n_train"], est.entropies_["n_test"]) == (n_train, n_test)
    x, y = rng.standard_normal((200, 1)), rng.standard_normal((200, 1))
    est = cls(epochs=1, device="cpu")
    est.estimate(x, y)
    assert est.entropies_["n_train"] == 160  # the training part, validation tenth included
    if cls is DoE:
        assert est.entropies_["n_val"] == 16
