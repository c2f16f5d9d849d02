"""The one critic-training loop shared by every variational estimator (torch).

:func:`fit_estimate` standardises the data (MI is invariant to it), optionally
splits it in halves, trains a :class:`~estimators.variational.critic.Critic`
with Adam on minibatches (epochs of a fresh random permutation) and returns
the bound evaluated on the chosen sample by :func:`evaluate`.

Product-of-marginals pairs in training are the minibatch with ``y`` rolled by
one place (the rows are already in random order, so no row meets its own
``y``). Evaluation, for bounds without a score matrix, pairs each row with
``EVAL_SHUFFLES`` fixed derangements of the sample; InfoNCE scores each row
once within a block of ``batch_size`` rows (the rows past the last whole block
within the block of the last ``batch_size``), so it stays below
``log(batch_size)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from estimators.variational.critic import Critic

__all__ = [
    "DIVERGED_BEYOND",
    "EVAL_SHUFFLES",
    "evaluate",
    "fit_estimate",
    "train_critic",
]

EVAL_SHUFFLES = 10

#: A finite final bound beyond this many nats either way is reported as a diverged
#: critic, not an estimate: a runaway critic gives about -1e5 at lr = 1 (mine) and
#: -1e34 or +5e30 at lr = 1e10 (mine, smile). Over-fitted critics scored on held-out
#: rows legitimately fall to hundreds of nats below 0 (dv at d = 128, n = 300 about
#: -600), and true MI of thousands of nats is possible (gaussian:d=600,rhos=0.99 has
#: about 1,177), so the window is wide.
DIVERGED_BEYOND = 1e4


def _check(value: torch.Tensor, label: str, what: str) -> None:
    if not bool(torch.isfinite(value)):
        raise FloatingPointError(
            f"{label}: {what} is non-finite ({float(value.detach())}); the critic diverged -- "
            "lower lr or use fewer steps"
        )


def _epochs(rng: np.random.Generator, n: int, batch: int, steps: int) -> Iterator[np.ndarray]:
    """Row indices of the minibatches, one epoch (a permutation cut into whole
    batches) at a time, shape (batches, batch); ``steps`` batches in all."""
    per_epoch = n // batch
    left = steps
    while left > 0:
        yield rng.permutation(n)[: per_epoch * batch].reshape(per_epoch, batch)[:left]
        left -= per_epoch


def train_critic(
    x: torch.Tensor,
    y: torch.Tensor,
    bound,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    hidden: int,
    layers: int,
    rng: np.random.Generator,
    generator: torch.Generator,
    label: str = "critic",
) -> Critic:
    """Maximise ``bound`` over a fresh critic with Adam.

    Parameters
    ----------
    x, y : Tensor of shape (n, dx), (n, dy)
        Standardised training samples, already on the target device.
    bound : object
        One of :mod:`estimators.variational.bounds`.
    steps, batch_size, lr, hidden, layers : int, int, float, int, int
        Optimiser steps, minibatch size (clipped to n), Adam step size, critic
        width and number of hidden layers.
    rng : numpy.random.Generator
        Draws the minibatches.
    generator : torch.Generator
        Draws the initial weights.
    label : str
        Name used in error messages.

    Raises
    ------
    FloatingPointError
        If the training loss becomes non-finite.
    """
    n = x.shape[0]
    batch = min(batch_size, n)
    critic = Critic(x.shape[1], y.shape[1], hidden, layers, generator).to(x.device)
    opt = torch.optim.Adam(critic.parameters(), lr=lr, fused=x.device.type in ("cpu", "cuda"))
    step = 0
    for rows in _epochs(rng, n, batch, steps):
        # one epoch's indices go to the device at once
        if bound.needs_matrix:
            index_x = index_y = torch.from_numpy(rows).to(x.device)
        else:  # joint rows, then the same rows with y taken from the next row
            index_x = torch.from_numpy(np.concatenate([rows, rows], axis=1)).to(x.device)
            shifted = np.concatenate([rows, np.roll(rows, 1, axis=1)], axis=1)
            index_y = torch.from_numpy(shifted).to(x.device)
        for ix, iy in zip(index_x, index_y, strict=True):
            xb, yb = x[ix], y[iy]
            if bound.needs_matrix:
                t_marg = critic.matrix(xb, yb)
                t_joint = t_marg.diagonal()
            else:
                scores = critic(xb, yb)
                t_joint, t_marg = scores[:batch], scores[batch:]
            loss = bound.loss(t_joint, t_marg)
            step += 1
            _check(loss, label, f"training loss at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return critic


@torch.no_grad()
def evaluate(
    critic: Critic,
    bound,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """The bound's value for ``critic`` on the sample ``(x, y)`` (nats)."""
    n = x.shape[0]
    order = torch.from_numpy(rng.permutation(n)).to(x.device)
    xs, ys = x[order], y[order]
    if bound.needs_matrix:
        # every row scored once, each in a block of ``batch`` rows: the rows past the
        # last whole block take their terms from a block of the last ``batch`` rows
        batch = min(batch_size, n)
        values = []
        for start in range(0, n - batch + 1, batch):
            t_marg = critic.matrix(xs[start : start + batch], ys[start : start + batch])
            values.append(bound.row_values(t_marg.diagonal(), t_marg))
        left = n % batch
        if left:
            t_marg = critic.matrix(xs[n - batch :], ys[n - batch :])
            values.append(bound.row_values(t_marg.diagonal(), t_marg)[batch - left :])
        return float(torch.cat(values).mean())
    # distinct offsets in 1..n-1 roll the shuffled rows: pairs from different rows
    offsets = rng.choice(np.arange(1, n), size=min(EVAL_SHUFFLES, n - 1), replace=False)
    y_marg = torch.cat([ys.roll(int(s), 0) for s in offsets])
    t_joint = critic(xs, ys)
    t_marg = critic(xs.repeat(len(offsets), 1), y_marg)
    return float(bound.value(t_joint, t_marg))


def fit_estimate(
    x: np.ndarray,
    y: np.ndarray,
    bound,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    hidden: int,
    layers: int,
    device: str,
    seed: int,
    estimate_on: str,
    label: str = "critic",
) -> float:
    """Train a critic on ``(x, y)`` and return the bound on the chosen sample.

    Parameters
    ----------
    x, y : ndarray of shape (n, dx), (n, dy)
        Validated float64 samples.
    bound : object
        One of :mod:`estimators.variational.bounds`.
    steps, batch_size, lr, hidden, layers : int, int, float, int, int
        See :func:`train_critic`.
    device : str
        A resolved torch device (``"cpu"``, ``"cuda"``, ...).
    seed : int
        Seeds the split, minibatches, initial weights and evaluation shuffles.
    estimate_on : {"full", "heldout"}
        ``"full"``: train and evaluate on all n rows. ``"heldout"``: train on a
        random half, evaluate on the other half.
    label : str
        Name used in error messages.

    Returns
    -------
    float
        The estimate in nats.

    Raises
    ------
    FloatingPointError
        The critic diverged: a non-finite loss or bound, or a bound beyond
        +-:data:`DIVERGED_BEYOND` nats.
    """
    split_ss, batch_ss, init_ss, eval_ss = np.random.SeedSequence(seed).spawn(4)
    n = x.shape[0]
    if estimate_on == "heldout":
        perm = np.random.default_rng(split_ss).permutation(n)
        train, test = perm[: n // 2], perm[n // 2 :]
    else:
        train = test = np.arange(n)
    mean_x, std_x = x[train].mean(0), x[train].std(0)
    mean_y, std_y = y[train].mean(0), y[train].std(0)
    std_x[std_x == 0], std_y[std_y == 0] = 1.0, 1.0
    xt = torch.from_numpy(((x - mean_x) / std_x).astype(np.float32)).to(device)
    yt = torch.from_numpy(((y - mean_y) / std_y).astype(np.float32)).to(device)
    generator = torch.Generator().manual_seed(int(init_ss.generate_state(1)[0]))
    critic = train_critic(
        xt[train],
        yt[train],
        bound,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        hidden=hidden,
        layers=layers,
        rng=np.random.default_rng(batch_ss),
        generator=generator,
        label=label,
    )
    value = evaluate(
        critic,
        bound,
        xt[test],
        yt[test],
        batch_size=batch_size,
        rng=np.random.default_rng(eval_ss),
    )
    if not np.isfinite(value):
        raise FloatingPointError(f"{label}: the final bound value is non-finite ({value})")
    if abs(value) > DIVERGED_BEYOND:
        raise FloatingPointError(
            f"{label}: the final bound value is {value:.3g} nats, beyond "
            f"+-{DIVERGED_BEYOND:g}; the critic diverged -- lower lr or use fewer steps"
        )
    return value
