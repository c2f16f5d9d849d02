"""The fixed validation set InfoNet training is scored on.

Distinct from the benchmark task sets (other seeds), so model selection never
sees the numbers the README reports. Two parts, at n = 2000 by default:

* a bivariate Gaussian sweep, rho = 0.0 ... 0.9 (analytic truth);
* random 2-D GMMs from the training recipe with Monte Carlo truth; order
  accuracy is scored over all pairs of these whose truths differ by >= 0.02.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from estimators.infonet.inference import estimate_rows
from estimators.infonet.simulator import random_gmm_params, sample_from_params
from ground_truth.analytic import gaussian_mi
from ground_truth.monte_carlo import gmm_mi

RHOS = tuple(round(0.1 * i, 1) for i in range(10))


@dataclass
class ValidationSet:
    xy: np.ndarray  # (count, n, 2)
    truth: np.ndarray  # (count,)
    is_gaussian: np.ndarray  # (count,) bool

    def save(self, path: Path) -> None:
        np.savez_compressed(path, xy=self.xy, truth=self.truth, is_gaussian=self.is_gaussian)

    @classmethod
    def load(cls, path: Path) -> ValidationSet:
        with np.load(path, allow_pickle=False) as f:
            return cls(f["xy"], f["truth"], f["is_gaussian"])


def build_validation_set(
    n: int = 2000, repeats: int = 3, gmms: int = 96, seed: int = 20241, mc_samples: int = 200_000
) -> ValidationSet:
    """Gaussian sweep (``repeats`` per rho) plus ``gmms`` random GMMs with MC truth."""
    rng = np.random.default_rng(seed)
    xy, truth, gauss = [], [], []
    for rho in RHOS:
        cov = np.array([[1.0, rho], [rho, 1.0]])
        for _ in range(repeats):
            xy.append(rng.multivariate_normal([0.0, 0.0], cov, size=n))
            truth.append(gaussian_mi(rho))
            gauss.append(True)
    gen = torch.Generator().manual_seed(seed)
    w, mu, chol = random_gmm_params(gmms, generator=gen)
    samples = sample_from_params(w, mu, chol, n, generator=gen).double().numpy()
    cov = (chol @ chol.transpose(-1, -2)).double().numpy()
    for i in range(gmms):
        keep = w[i].numpy() > 0
        est, _ = gmm_mi(w[i].double().numpy()[keep], mu[i].double().numpy()[keep], cov[i][keep],
                        dim_x=1, n_samples=mc_samples, rng=seed + i)
        xy.append(samples[i])
        truth.append(est)
        gauss.append(False)
    return ValidationSet(np.stack(xy).astype(np.float32), np.array(truth), np.array(gauss))


@torch.no_grad()
def predict(model: torch.nn.Module, xy: np.ndarray, device: torch.device, chunk: int = 64,
            readout: str = "exact") -> np.ndarray:
    out = []
    for start in range(0, len(xy), chunk):
        t = torch.as_tensor(xy[start : start + chunk], device=device, dtype=torch.float32)
        out.append(estimate_rows(model, t[..., 0], t[..., 1], readout).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def order_accuracy(truth: np.ndarray, est: np.ndarray, min_gap: float = 0.02) -> float:
    dt = truth[:, None] - truth[None, :]
    de = est[:, None] - est[None, :]
    pairs = np.triu(np.abs(dt) >= min_gap, k=1)
    return float(np.mean(np.sign(dt[pairs]) == np.sign(de[pairs])))


def score(model: torch.nn.Module, val: ValidationSet, device: torch.device) -> dict[str, float]:
    """Validation metrics: MAE and bias on each part, order accuracy on the GMMs."""
    was_training = model.training
    model.eval()
    est = predict(model, val.xy, device)
    model.train(was_training)
    err = est - val.truth
    g, m = val.is_gaussian, ~val.is_gaussian
    high = g & (val.truth > 0.5)
    return {
        "gauss_mae": float(np.mean(np.abs(err[g]))),
        "gauss_bias_high": float(np.mean(err[high])),
        "gmm_mae": float(np.mean(np.abs(err[m]))),
        "gmm_bias": float(np.mean(err[m])),
        "gmm_order_acc": order_accuracy(val.truth[m], est[m]),
        "score": float(np.mean(np.abs(err))),
    }
