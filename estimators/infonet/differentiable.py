"""InfoNet as a differentiable torch function, e.g. an MI loss or regulariser.

Hard ranks have zero gradient, so this entry point uses the sigmoid-smoothed
copula (:func:`estimators.infonet.copula.soft_copula`); everything after it
(the network, bilinear read-out and grid histograms) is differentiable in the
copula coordinates. The network's own weights are left as they are: gradients
flow to the samples (and to whatever produced them).
"""

from __future__ import annotations

import torch

from estimators.infonet.copula import soft_copula
from estimators.infonet.model import InfoNetModel
from estimators.infonet.readout import dv_value

__all__ = ["mutual_information"]

_CACHE: dict[str, InfoNetModel] = {}


def _default_model(device: torch.device) -> InfoNetModel:
    from estimators.infonet.checkpoint import load_model

    key = str(device)
    if key not in _CACHE:
        net, _ = load_model()
        net.requires_grad_(False)
        _CACHE[key] = net.to(device).eval()
    return _CACHE[key]


def mutual_information(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    model: InfoNetModel | None = None,
    temperature: float = 0.05,
    readout: str = "exact",
) -> torch.Tensor:
    """Differentiable InfoNet estimate of I(X; Y) in nats for 1-D variables.

    Parameters
    ----------
    x, y : Tensor of shape (n,) or (B, n)
        Paired samples of one distribution, or of ``B`` distributions.
    model : InfoNetModel, optional
        Defaults to the shipped checkpoint (frozen, on ``x``'s device).
    temperature : float
        Soft-rank smoothing relative to each variable's standard deviation;
        smaller is closer to the hard copula (and to ``InfoNet.estimate``).
    readout : {"exact", "shuffle"}

    Returns
    -------
    Tensor
        Shape () for 1-D inputs, (B,) for batched ones.
    """
    if x.shape != y.shape or x.dim() not in (1, 2):
        raise ValueError(
            f"x and y must both have shape (n,) or (B, n); got {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    if not (temperature > 0):
        raise ValueError(f"temperature must be > 0; got {temperature}")
    single = x.dim() == 1
    xb = x.unsqueeze(0) if single else x
    yb = y.unsqueeze(0) if single else y
    net = model if model is not None else _default_model(xb.device)
    # differences at the input's precision (float32 would flatten data far from 0)
    u = soft_copula(xb, temperature).float()
    v = soft_copula(yb, temperature).float()
    value = dv_value(net(u, v).float(), u, v, readout)
    return value[0] if single else value
