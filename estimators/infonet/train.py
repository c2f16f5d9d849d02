"""Train (or keep training) InfoNet on simulated GMMs.

    python -m estimators.infonet.train --minutes 60 --out runs/infonet
    python -m estimators.infonet.train --resume shipped --minutes 60   # improve the shipped model
    python -m estimators.infonet.train --resume benchmarks/candidates/infonet-s25-step96208.pt \
        --device cuda --batch 256 --lr 2e-5 --warmup 100 --steps 20000 --thin 0.08 \
        --gaussian 0.5 --gaussian-max-n 300 --gaussian-rho-max 0.95 --independent 0.25 \
        --weak 0.15 --mi-balance 0.3 --calibrate 20 --calibrate-scale 0.02 --ema 0.999 \
        --n 50,100,300,1000,2000,2000,3000   # the shipped model's last steps (best at 105,750)

Each step draws a fresh batch of random GMMs (the paper's recipe), maps the
samples through the copula, predicts critic tables and maximises the mean
Donsker-Varadhan value (the paper's objective); ``--calibrate W`` adds W times
the squared error of the reported estimate against each mixture's Monte Carlo
MI (see :func:`train_step`). Adam with gradient clipping at 1.0, linear warm-up
then cosine decay. Every ``--eval-every`` steps the model is scored on the
fixed validation set; the best-scoring weights are kept as ``best.pt`` (with
a model card) and the full training state is saved every
``--checkpoint-minutes`` as ``state.pt``, from which ``--resume`` continues:
the same recipe (:data:`RECIPE_OPTIONS`; those given again override it),
schedule, optimizer, weight average and random streams, so an interrupted and
resumed run takes the steps an uninterrupted one would; a changed option or a
fresh schedule (``--steps``) is added to the lineage the model cards carry.
``--resume`` of a model ``.pt`` (or ``shipped``) restarts from its weights with
a fresh optimizer, weight average and schedule, and the recipe its model card
records (again, those given override it; :func:`card_recipe`). ``--ema D`` scores
and keeps an exponential moving average of the weights instead of the last
step's (:class:`WeightAverage`). SIGINT or SIGTERM (also to a ``nohup ... &``
job) stops the run after the current step and saves it.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from estimators._torch import resolve_device
from estimators.infonet.batches import (
    GAUSSIAN_RHO_MAX,
    GAUSSIAN_WEAK_RHO,
    WEAK_KEEP,
    calibration_targets,
    draw_batch,
    separation_pairs,
)
from estimators.infonet.card import load_card
from estimators.infonet.checkpoint import DEFAULT_CHECKPOINT, load_model, save_model
from estimators.infonet.copula import copula
from estimators.infonet.model import InfoNetConfig, InfoNetModel
from estimators.infonet.readout import READOUTS, dv_value
from estimators.infonet.validation import SCORE_VERSION, load_or_build, record, score
from harness.cli.arguments import int_list_arg

NEW_RUN_STEPS = 200_000

#: The options that make up a run's recipe. A resumed state.pt keeps the values
#: its run was started with (stored in the state) for those not given again.
RECIPE_OPTIONS = (
    "batch",
    "n",
    "lr",
    "warmup",
    "readout",
    "objective",
    "mi_balance",
    "thin",
    "calibrate",
    "calibrate_scale",
    "independent",
    "weak",
    "gaussian",
    "gaussian_rho_max",
    "gaussian_weak",
    "gaussian_weak_rho",
    "gaussian_max_n",
    "rank",
    "tail",
    "separation",
    "separation_samples",
    "ema",
    "amp",
    "eval_every",
    "seed",
    "validation",
)

#: ``--rank``: temperature (nats) of the logistic ranking loss, and the blend MI below
#: which a weak member's pair is left out (too weak to rank at any training n).
RANK_TAU, RANK_MIN_MI = 0.01, 0.005

#: ``--tail``: the scale (nats) of the quartic penalty on re-paired members' estimates.
TAIL_SCALE = 0.05

#: ``--separation``: Gaussian samples of each kind per step (``--separation-samples``'
#: default), their size (the Fig. 5 cell's n) and the weak kind's |correlation| (a d = 128
#: slice's is of order 0.06 to 0.1).
SEPARATION_PAIRS, SEPARATION_N, SEPARATION_RHO = 64, 50, 0.1


def pick_device(name: str) -> torch.device:
    return torch.device(resolve_device(name, "train"))


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU x{torch.get_num_threads()} threads"


def lr_at(step: int, total: int, base: float, warmup: int, floor: float = 0.1) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))


def parse_config(text: str | None, base: InfoNetConfig | None = None) -> InfoNetConfig:
    values = (base or InfoNetConfig()).to_dict()
    if text:
        for item in text.split(","):
            key, _, val = item.partition("=")
            if key not in values:
                raise SystemExit(f"error: unknown config key {key!r}; valid: {', '.join(values)}")
            values[key] = type(values[key])(float(val) if "." in val else int(val))
    return InfoNetConfig(**values)


#: new weights, zero-initialised, and the modules holding them
GROWABLE = {"size_features": "size_embed.", "moment_features": "moment_embed."}
RESIZABLE = ("grid",)  # no weight depends on it: the table nodes are positions in [0, 1]


def grow(model: InfoNetModel, text: str) -> InfoNetModel:
    """``model`` with the components named in ``text`` (e.g. ``size_features=2``) added,
    or its table resampled (``grid=192``).

    New weights start at zero, so the grown model computes the same tables until
    training moves them; a new ``grid`` is as :meth:`InfoNetModel.with_grid`.
    """
    config = parse_config(text, base=model.config)
    for key, value in config.to_dict().items():
        old = getattr(model.config, key)
        if value == old or key in RESIZABLE:
            continue
        if key not in GROWABLE or old != 0:
            raise SystemExit(
                f"error: --grow can only add {', '.join(GROWABLE)} to a model "
                f"without it or change {', '.join(RESIZABLE)}; {key} is {old}"
            )
    grown = InfoNetModel(config)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not k.startswith(tuple(GROWABLE.values())) for k in missing):
        raise SystemExit(f"error: cannot grow: missing {missing}, unexpected {unexpected}")
    return grown


def added_modules(before: InfoNetConfig, after: InfoNetConfig) -> list[str]:
    """Module prefixes of the :data:`GROWABLE` features ``after`` has and ``before`` lacks."""
    return [
        prefix
        for key, prefix in GROWABLE.items()
        if getattr(before, key) == 0 and getattr(after, key) != 0
    ]


def param_groups(model: InfoNetModel, fast: Sequence[str], scale: float) -> list[dict]:
    """Adam parameter groups: the weights under the module prefixes ``fast`` learn at
    ``scale`` times the scheduled rate (``lr_scale``), the rest at the rate itself.
    One group when ``fast`` names no weight (the groups must match a resumed state's:
    its own ``lr_scale`` then replaces ``scale``)."""
    named = list(model.named_parameters())
    quick = [p for name, p in named if name.startswith(tuple(fast))]
    if not quick:
        return [{"params": [p for _, p in named], "lr_scale": 1.0}]
    rest = [p for name, p in named if not name.startswith(tuple(fast))]
    return [{"params": rest, "lr_scale": 1.0}, {"params": quick, "lr_scale": float(scale)}]


class WeightAverage:
    """Exponential moving average of a model's weights (Polyak averaging).

    ``model`` is a frozen copy whose weights follow the trained ones: after
    each optimiser step, ``w_avg <- d w_avg + (1 - d) w`` with
    ``d = min(decay, (1 + t) / (10 + t))`` at the ``t``-th update (the ramp
    keeps a fresh average from clinging to its starting weights). At a small
    learning rate the step-to-step jitter of the weights is noise around a
    slowly moving optimum; the average keeps the optimum and drops most of
    the noise (validation scores of the calibrated CPU run swing by +-0.005
    between checkpoints 250 steps apart).
    """

    def __init__(self, model: torch.nn.Module, decay: float, updates: int = 0):
        self.decay = decay
        self.updates = updates
        self.model = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, w in zip(self.model.parameters(), model.parameters(), strict=True):
            avg.lerp_(w.detach(), 1.0 - d)
        self.updates += 1


def card_recipe(ref: str | os.PathLike[str]) -> dict[str, Any]:
    """The recipe a model checkpoint was trained with, from its model card's
    ``training`` entry, as :func:`main`'s options (``n`` as the list's text).

    Empty when the card is missing or records no training (a resumed model .pt
    then trains with the command line's options and the defaults)."""
    try:
        training = load_card(ref).get("training") or {}
    except FileNotFoundError:
        return {}
    recipe = {k: v for k, v in training.items() if k in RECIPE_OPTIONS}
    if isinstance(recipe.get("n"), list):
        recipe["n"] = ",".join(str(v) for v in recipe["n"])
    return recipe


def training_state(ref: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The training state saved in ``ref`` (an earlier run's ``state.pt``, under any
    name), or None when ``ref`` is a model checkpoint or no file."""
    path = Path(ref)
    if not path.is_file():
        return None
    obj = torch.load(path, map_location="cpu", weights_only=True)
    return obj if isinstance(obj, dict) and "optimizer" in obj and "model" in obj else None


class StopRequest:
    """Set by SIGINT or SIGTERM inside :func:`stop_on_signals`: the name of the signal."""

    def __init__(self) -> None:
        self.signal: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal is not None


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM ask the training loop to stop after the step it is in.

    The handler only records the signal: the loop checks it between steps, so
    a step, a checkpoint or the final save is never cut short (an exception
    raised mid-step could leave weights updated but not counted, or a best.pt
    without its card). A second signal raises KeyboardInterrupt at once. A job
    started in the background by a non-interactive shell (``nohup ... &``)
    inherits SIGINT as ignored, and SIGTERM would otherwise kill it without
    saving: both now end the run the same way. The previous handlers come back
    afterwards. Python delivers signals to the main thread only, so a run
    started from another thread (a notebook's worker, a test runner's) keeps
    the handlers it has.
    """
    stop = StopRequest()

    def handle(signum: int, frame: object) -> None:
        if stop.requested:
            raise KeyboardInterrupt(signal.Signals(signum).name)
        stop.signal = signal.Signals(signum).name

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def tail_penalty(estimates: torch.Tensor) -> torch.Tensor:
    """``--tail``'s penalty on estimates of samples with no dependence: the mean of
    ``(max(estimate, 0) / TAIL_SCALE) ** 4`` (0.0016 at 0.01 nats, 16 at 0.1)."""
    return ((estimates.clamp(min=0) / TAIL_SCALE) ** 4).mean()


def separation(null: torch.Tensor, dependent: torch.Tensor) -> torch.Tensor:
    """``--separation``'s score: the shift of the estimates of weakly dependent samples
    over those of independent ones, over their pooled standard deviation (d'). A sliced
    test averages many slices, so this ratio, not the shift or the spread alone, is
    what a slice adds; scaling every estimate leaves it unchanged. The same statistic
    as :func:`harness.metrics.separation`, in torch so the loss can differentiate it."""
    spread = torch.sqrt(0.5 * (null.var() + dependent.var()) + 1e-8)
    return (dependent.mean() - null.mean()) / spread


def _critic_table(
    model: InfoNetModel, u: torch.Tensor, v: torch.Tensor, device: torch.device, amp: bool
) -> torch.Tensor:
    """The network's critic tables for copula samples ``u``, ``v`` (bf16 autocast with
    ``amp``), in float32."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        table = model(u, v)
    return table.float()


def step_gaussian(fraction: float, n: int, max_n: int = 0) -> float:
    """The ``--gaussian`` fraction of a step drawing ``n`` samples per member:
    ``fraction`` if ``max_n`` is 0 or ``n <= max_n``, else 0."""
    return fraction if max_n == 0 or n <= max_n else 0.0


def train_step(
    model: InfoNetModel,
    opt: torch.optim.Optimizer,
    batch: int,
    n: int,
    gen: torch.Generator,
    device: torch.device,
    readout: str,
    amp: bool,
    heldout: bool = True,
    mi_balance: float = 0.0,
    calibrate: float = 0.0,
    independent: float = 0.0,
    calibrate_scale: float = 0.0,
    weak: float = 0.0,
    rank: float = 0.0,
    tail: float = 0.0,
    gaussian: float = 0.0,
    gaussian_rho_max: float = GAUSSIAN_RHO_MAX,
    thin: float = 0.0,
    gaussian_weak: float = 0.0,
    gaussian_weak_rho: tuple[float, float] = GAUSSIAN_WEAK_RHO,
    separation_weight: float = 0.0,
    separation_samples: int = SEPARATION_PAIRS,
) -> float:
    """One Adam step on a fresh batch of GMMs; returns the mean DV value.

    The batch is :func:`~estimators.infonet.batches.draw_batch`'s: the paper's
    random GMMs (``mi_balance`` of them MI-balanced) with ``independent``
    re-paired members (MI exactly 0), ``weak`` partly re-paired ones and
    ``gaussian`` bivariate Gaussians with correlation up to
    ``gaussian_rho_max`` (a fraction ``gaussian_weak`` of them with
    |correlation| on ``gaussian_weak_rho``) and ``thin`` mixtures of needle-thin components (see
    :mod:`estimators.infonet.batches` for why each is there).

    With ``heldout`` (the default) each GMM gives 2n samples: the network sees
    the first n and the DV value is taken on the other n. Each half is ranked
    on its own, as inference ranks the n samples it is given (ranked together,
    the network saw a random subset of a 2n grid and the in-sample value ran
    above what inference reports by about 0.03 nats at n = 50).
    Scoring the table on the samples it was built from rewards tables that
    fit the sample noise, and the in-sample value then drifts above the true
    MI as training goes on (seen on GPU runs: bias +0.1 nats after 35k steps).

    ``calibrate`` > 0 adds ``calibrate`` times the mean squared difference
    between the in-sample DV value (what inference reports) and each member's
    MI (:func:`~estimators.infonet.batches.calibration_targets`; the Monte
    Carlo noise is unbiased, so it does not move the optimum). The DV value
    alone leaves the reported estimate biased: the best critic a table built
    from n samples can be falls short of the MI by what n samples cannot
    resolve, while the in-sample read-out adds optimism at small n (the
    DV-only model of step 33,500: -0.085 nats at MI 0.9, +0.11 at rho = 0 and
    n = 100).

    ``calibrate_scale`` S > 0 divides each squared error by (MI + S) / (1 + S):
    an error at MI 1 nat keeps its weight and one at MI 0 counts (1 + S) / S
    times as much. The plain squared error lets errors of a few hundredths at
    small MI, which decide whether a weak dependence is detected at all (and
    so the sliced high-dimensional tests), hide beside those at high MI.

    ``rank`` > 0 (with ``calibrate``, ``independent`` and ``weak``) pairs the
    i-th weakened member with the i-th re-paired one (both drawn from the same
    mixture, so they share its marginals) and adds ``rank`` times the logistic
    ranking loss ``RANK_TAU * softplus((est_independent - est_weak) / RANK_TAU)``
    for the pairs whose blend MI is at least :data:`RANK_MIN_MI`: it rewards
    estimates that order a weak dependence above none, which is what a test
    of independence scores, where the squared error only asks each estimate
    to be right on average.

    ``tail`` > 0 (with ``calibrate`` and ``independent``) adds ``tail`` times
    the mean of ``(max(est, 0) / TAIL_SCALE) ** 4`` over the re-paired
    members: a small sample with no dependence now and then reads as clearly
    dependent (excess kurtosis over 100 at n = 50), and in a sliced mean those
    rare slices, not the typical ones, set the spread a weak dependence must
    beat. The quartic leaves estimates of a few hundredths nearly alone.

    ``separation_weight`` > 0 also draws ``separation_samples`` independent and as
    many weakly correlated (|rho| = :data:`SEPARATION_RHO`) Gaussian samples of
    :data:`SEPARATION_N` points (:func:`~estimators.infonet.batches.separation_pairs`)
    and subtracts ``separation_weight`` times :func:`separation` of their in-sample
    estimates from the loss. The squared error and ``rank`` shrink the spread of a
    small sample's estimate under independence and its response to a weak
    dependence together; this rewards their ratio, the worth of one slice. The d' of
    a few dozen samples of each kind is itself noisy (a standard error near 0.2 at
    64), and so is its gradient: more samples steady it (256 about doubles a CPU
    step's time).
    """
    if rank > 0 and calibrate <= 0:
        raise ValueError("rank needs calibrate > 0: it ranks the in-sample estimates")
    if tail > 0 and (calibrate <= 0 or independent <= 0):
        raise ValueError("tail needs calibrate > 0 and independent > 0: it penalises the "
                         "re-paired members' in-sample estimates")  # fmt: skip
    drawn = draw_batch(
        batch,
        2 * n if heldout else n,
        gen,
        device,
        mi_balance=mi_balance,
        independent=independent,
        weak=weak,
        gaussian=gaussian,
        gaussian_rho_max=gaussian_rho_max,
        gaussian_weak=gaussian_weak,
        gaussian_weak_rho=gaussian_weak_rho,
        twins=rank > 0,
        thin=thin,
    )
    x, y = drawn.xy[..., 0], drawn.xy[..., 1]
    u, v = copula(x[:, :n]), copula(y[:, :n])
    table = _critic_table(model, u, v, device, amp)
    inside = None  # the in-sample value, per distribution: what inference reports
    if not heldout or calibrate > 0:
        inside = dv_value(table, u, v, readout)
    if heldout:
        value = dv_value(table, copula(x[:, n:]), copula(y[:, n:]), readout).mean()
    else:
        value = inside.mean()
    loss = -value
    if calibrate > 0:
        truth = calibration_targets(drawn, gen)
        error = (inside - truth) ** 2
        if calibrate_scale > 0:
            error = error * (1 + calibrate_scale) / (truth.clamp(min=0) + calibrate_scale)
        loss = loss + calibrate * error.mean()
        if drawn.twins:
            pairs, unpaired = drawn.twins, drawn.unpaired
            weak_part = slice(unpaired, unpaired + pairs)
            margin = (inside[:pairs] - inside[weak_part]) / RANK_TAU
            counted = (truth[weak_part] >= RANK_MIN_MI).float()
            ranking = RANK_TAU * torch.nn.functional.softplus(margin) * counted
            loss = loss + rank * ranking.sum() / pairs
        if tail > 0 and drawn.unpaired:
            loss = loss + tail * tail_penalty(inside[: drawn.unpaired])
    if separation_weight > 0:
        m = separation_samples
        xy = separation_pairs(m, SEPARATION_N, SEPARATION_RHO, gen, device)
        su, sv = copula(xy[..., 0]), copula(xy[..., 1])
        est = dv_value(_critic_table(model, su, sv, device, amp), su, sv, readout)
        loss = loss - separation_weight * separation(est[:m], est[m:])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(value.detach())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m estimators.infonet.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="runs/infonet", help="output folder")
    p.add_argument(
        "--resume",
        default=None,
        help="'shipped', a state.pt from an earlier run, or a model .pt (both keep "
        "their run's recipe for the options not given)",
    )
    p.add_argument("--config", default=None, help="model sizes, e.g. dim=96,grid=96 (new runs)")
    p.add_argument(
        "--grown-lr-scale",
        type=float,
        default=1.0,
        help="with --grow of new weights: they learn at this many times --lr (they start "
        "at zero, and their gradients are small beside the trained weights'); kept "
        "when the run's state.pt is resumed",
    )
    p.add_argument(
        "--grow",
        default=None,
        help="with --resume: grid=L resamples the critic table on L x L nodes; "
        "with --resume of a model .pt also size_features=K (the network sees "
        "ln n) or moment_features=K (it sees the sample's cosine moments of "
        "orders 1..K); new weights start at zero",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="learning-rate schedule length in steps from the start or resume "
        "point (default: 200000 for a new run; a state.pt resume keeps its "
        "schedule unless --steps is given)",
    )
    p.add_argument("--minutes", type=float, default=60.0, help="stop after this wall time")
    p.add_argument("--batch", type=int, default=32, help="distributions per step")
    p.add_argument("--n", default="2000", help="samples per distribution; a list is drawn from")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--readout", choices=READOUTS, default="exact")
    p.add_argument(
        "--objective",
        choices=("heldout", "insample"),
        default="heldout",
        help="score the table on fresh samples of the same GMM (default) or on "
        "the samples the network saw",
    )
    p.add_argument(
        "--mi-balance",
        type=float,
        default=0.0,
        help="fraction of each batch drawn with MI spread evenly over 0-1.2 nats "
        "(the recipe alone gives few mixtures above 0.6)",
    )
    p.add_argument(
        "--thin",
        type=float,
        default=0.0,
        help="fraction of each batch drawn from the recipe with half the components "
        "needle-thin (rank-one D: standard deviation 0.1 across); mixtures whose MI "
        "such needles carry are where the network errs most (0: none, the paper's recipe)",
    )
    p.add_argument(
        "--calibrate",
        type=float,
        default=0.0,
        help="weight of the squared error of the in-sample estimate against each "
        "GMM's Monte Carlo MI, added to the DV loss (0: DV only, the paper's)",
    )
    p.add_argument(
        "--calibrate-scale",
        type=float,
        default=0.0,
        help="with --calibrate: divide each squared error by (MI + S) / (1 + S), "
        "so errors at small MI count more (0: plain squared error)",
    )
    p.add_argument(
        "--independent",
        type=float,
        default=0.0,
        help="fraction of each batch re-paired at random, so its MI is exactly 0 "
        "(0: none, the paper's recipe)",
    )
    p.add_argument(
        "--weak",
        type=float,
        default=0.0,
        help="fraction of each batch that keeps a random fraction below "
        f"{WEAK_KEEP} of its pairs and re-pairs the rest: weak dependence, MI "
        "mostly below 0.1 nats (0: none, the paper's recipe)",
    )
    p.add_argument(
        "--gaussian",
        type=float,
        default=0.0,
        help="fraction of each batch drawn as bivariate Gaussians with correlation "
        "uniform on [-R, R] (R: --gaussian-rho-max), the shape of a "
        "high-dimensional sample's random slices (0: none, the paper's recipe)",
    )
    p.add_argument(
        "--gaussian-rho-max",
        type=float,
        default=GAUSSIAN_RHO_MAX,
        help="R of --gaussian. A network that sees small Gaussian samples only with "
        "|rho| <= R learns to pull a small sample's estimate below R's MI",
    )
    p.add_argument(
        "--gaussian-weak",
        type=float,
        default=0.0,
        help="fraction of the --gaussian members drawn with |correlation| uniform on "
        "--gaussian-weak-rho instead, the weakly correlated slices a sliced estimate in "
        "high dimensions averages (0: all on [-R, R])",
    )
    p.add_argument(
        "--gaussian-weak-rho",
        default=",".join(str(v) for v in GAUSSIAN_WEAK_RHO),
        help="LOW,HIGH: the |correlation| range of the --gaussian-weak members",
    )
    p.add_argument(
        "--gaussian-max-n",
        type=int,
        default=0,
        help="draw --gaussian members only in steps whose n is at most this, so "
        "large-n steps keep the GMM recipe's share (0: every step)",
    )
    p.add_argument(
        "--rank",
        type=float,
        default=0.0,
        help="weight of a logistic ranking loss that orders each weakened member "
        "above a re-paired member of the same mixture (needs --calibrate, "
        "--independent and --weak; 0: none)",
    )
    p.add_argument(
        "--tail",
        type=float,
        default=0.0,
        help="weight of a quartic penalty on the re-paired members' estimates "
        f"((estimate / {TAIL_SCALE})^4; needs --calibrate and --independent; 0: none): "
        "it presses on the rare large estimates of samples with no dependence",
    )
    p.add_argument(
        "--separation",
        type=float,
        default=0.0,
        help="weight of a reward for the d' of the estimate between "
        "--separation-samples independent and as many weakly correlated "
        f"(|rho| = {SEPARATION_RHO}) Gaussian samples of {SEPARATION_N} points each step: "
        "a slice's worth to a sliced test (0: none)",
    )
    p.add_argument(
        "--separation-samples",
        type=int,
        default=SEPARATION_PAIRS,
        help="with --separation: samples of each kind per step (more steady the reward's "
        "gradient, at more time per step)",
    )
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="score and keep an exponential moving average of the weights with "
        "this decay, e.g. 0.999 (0: the last step's weights)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--validation", default=None, help="cached validation .npz (built if absent)")
    # which options were given: the rest come from a resumed state.pt's run, else defaults
    defaults = vars(p.parse_args([]))
    unset = object()
    args = p.parse_args(argv, namespace=argparse.Namespace(**dict.fromkeys(defaults, unset)))
    given = {k for k, v in vars(args).items() if v is not unset}
    src = None
    if args.resume not in (unset, None):
        src = DEFAULT_CHECKPOINT if args.resume == "shipped" else Path(args.resume)
    state = training_state(src) if src is not None else None
    if state is not None:
        stored = json.loads(state["args"]) if "args" in state else {}
    else:  # a model .pt restarts with its card's recipe
        stored = card_recipe(src) if src is not None else {}
    for key, default in defaults.items():
        if key not in given:
            setattr(args, key, stored.get(key, default) if key in RECIPE_OPTIONS else default)
    # an option newer than the stored run ran at its default there
    # (a card leaves out the validation file: its path is the training machine's)
    compared = [k for k in RECIPE_OPTIONS if state is not None or k != "validation"]
    changed = {
        k: stored.get(k, defaults[k])
        for k in compared
        if stored and k in given and getattr(args, k) != stored.get(k, defaults[k])
    }
    try:
        sizes = int_list_arg(args.n)  # kept a string: the stored run's recipe compares it
    except argparse.ArgumentTypeError as exc:
        p.error(f"argument --n: {exc}")
    if not 0.0 <= args.mi_balance <= 1.0:
        p.error(f"--mi-balance must lie in [0, 1], got {args.mi_balance}")
    if not 0.0 <= args.thin <= 1.0:
        p.error(f"--thin must lie in [0, 1], got {args.thin}")
    if args.calibrate < 0:
        p.error(f"--calibrate must be >= 0, got {args.calibrate}")
    if args.calibrate_scale < 0:
        p.error(f"--calibrate-scale must be >= 0, got {args.calibrate_scale}")
    if args.calibrate_scale > 0 and args.calibrate == 0:
        p.error("--calibrate-scale needs --calibrate > 0 (it weighs the calibration errors)")
    if not 0.0 <= args.independent <= 1.0:
        p.error(f"--independent must lie in [0, 1], got {args.independent}")
    if not 0.0 <= args.weak <= 1.0 or args.independent + args.weak > 1.0:
        p.error(f"--weak must lie in [0, 1 - independent], got {args.weak}")
    if not 0.0 <= args.gaussian <= 1.0 - args.independent - args.weak:
        p.error(f"--gaussian must lie in [0, 1 - independent - weak], got {args.gaussian}")
    if not 0.0 < args.gaussian_rho_max < 1.0:
        p.error(f"--gaussian-rho-max must lie in (0, 1), got {args.gaussian_rho_max}")
    if not 0.0 <= args.gaussian_weak <= 1.0:
        p.error(f"--gaussian-weak must lie in [0, 1], got {args.gaussian_weak}")
    try:
        weak_rho = tuple(float(v) for v in args.gaussian_weak_rho.split(","))
    except ValueError:
        weak_rho = ()
    if len(weak_rho) != 2 or not 0.0 <= weak_rho[0] < weak_rho[1] < 1.0:
        p.error(f"--gaussian-weak-rho must be LOW,HIGH with 0 <= LOW < HIGH < 1, got "
                f"{args.gaussian_weak_rho!r}")  # fmt: skip
    if args.gaussian_weak > 0 and weak_rho[1] > args.gaussian_rho_max:
        p.error(f"--gaussian-weak-rho's HIGH ({weak_rho[1]}) must not exceed "
                f"--gaussian-rho-max ({args.gaussian_rho_max})")  # fmt: skip
    if args.gaussian_weak > 0 and args.gaussian == 0:
        p.error("--gaussian-weak needs --gaussian > 0 (it is a share of the Gaussian members)")
    if args.gaussian_max_n < 0:
        p.error(f"--gaussian-max-n must be >= 0, got {args.gaussian_max_n}")
    if args.grown_lr_scale <= 0:
        p.error(f"--grown-lr-scale must be > 0, got {args.grown_lr_scale}")
    if args.grown_lr_scale != 1 and not args.grow:
        p.error("--grown-lr-scale needs --grow (a resumed state.pt keeps its own)")
    if args.rank < 0:
        p.error(f"--rank must be >= 0, got {args.rank}")
    if args.separation < 0:
        p.error(f"--separation must be >= 0, got {args.separation}")
    if args.separation_samples < 2:
        p.error(f"--separation-samples must be >= 2, got {args.separation_samples}")
    if "separation_samples" in given and args.separation == 0:
        p.error("--separation-samples needs --separation (the reward it sizes is off)")
    if args.tail < 0:
        p.error(f"--tail must be >= 0, got {args.tail}")
    if args.tail > 0 and not (args.calibrate > 0 and args.independent > 0):
        p.error("--tail needs --calibrate and --independent > 0 (it weighs their members)")
    if args.rank > 0 and not (args.calibrate > 0 and args.independent > 0 and args.weak > 0):
        p.error("--rank needs --calibrate, --independent and --weak > 0 (it ranks their members)")
    if not 0.0 <= args.ema < 1.0:
        p.error(f"--ema must lie in [0, 1), got {args.ema}")

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    history: list[dict[str, Any]] = []
    step = samples_seen = 0
    wall_before = 0.0
    best = math.inf
    opt_state = ema_state = None
    ema_updates = 0
    steps = NEW_RUN_STEPS if args.steps is None else args.steps
    origin, total = 0, steps  # the learning-rate schedule runs over [origin, total)
    lineage: list[str] = []
    fast: list[str] = []  # module prefixes learning at --grown-lr-scale times the rate
    if src is not None:
        if stored:
            kept = {k: v for k, v in stored.items() if k not in given and v != defaults[k]}
            print(f"the run's settings: {json.dumps(kept)}", flush=True)
        # a card names every change of recipe or schedule on the way to its weights
        shifts = [f"{k} {v} -> {getattr(args, k)}" for k, v in changed.items()]
        if shifts:
            print(f"changed from the run's settings: {', '.join(shifts)}", flush=True)
        if state is not None:
            model = InfoNetModel(InfoNetConfig(**state["config"]))
            model.load_state_dict(state["model"])
            if args.grow:
                model = grow(model, args.grow)
                if set(model.state_dict()) != set(state["model"]):
                    raise SystemExit(
                        "error: new weights need --resume of a model .pt (the "
                        "optimizer state has none); a state.pt can change "
                        f"{', '.join(RESIZABLE)}"
                    )
            opt_state = state["optimizer"]
            fast = state.get("fast_modules", [])
            if args.grown_lr_scale != 1:
                raise SystemExit(
                    "error: a resumed state.pt keeps its own rates; --grown-lr-scale "
                    "applies when --grow adds weights to a model .pt"
                )
            if "ema" in state:
                ema_state, ema_updates = state["ema"], state["ema_updates"]
            step, samples_seen = state["step"], state["samples_seen"]
            wall_before, best = state["wall_seconds"], state["best"]
            if state.get("score_version") != SCORE_VERSION or ("ema" in state) != (args.ema > 0):
                best = math.inf  # the stored best was scored differently, or on other weights
            if not (out / "best.pt").exists():
                best = math.inf  # resumed into another folder: its first score makes best.pt
            history = json.loads(state["history"])
            lineage = json.loads(state["lineage"])
            origin, total = state["origin"], state["total"]
            if args.steps is not None:  # a fresh schedule from here
                origin, total = step, step + args.steps
                shifts.append(f"a fresh schedule to step {total:,}")
            if shifts:
                lineage.append(f"resumed at step {step:,}: {', '.join(shifts)}")
        else:
            model, card = load_model(src)
            if args.grow:
                before = model.config
                model = grow(model, args.grow)
                fast = added_modules(before, model.config)
                if args.grown_lr_scale != 1 and not fast:
                    raise SystemExit(f"error: --grown-lr-scale: --grow {args.grow} adds no weights")
            step = card.get("steps", 0)
            samples_seen = card.get("samples_seen", 0)
            wall_before = card.get("wall_seconds", 0.0)
            lineage = card.get("lineage", []) + [f"{src.name}@{card.get('sha256', '')[:12]}"]
            if shifts:
                lineage.append(f"restarted at step {step:,}: {', '.join(shifts)}")
            origin, total = step, step + steps
        if args.grow:
            lineage.append(f"grow {args.grow} at step {step}")
        print(f"resumed from {src} at step {step}", flush=True)
    else:
        if args.grow:
            raise SystemExit("error: --grow needs --resume; a new run takes --config")
        with torch.random.fork_rng(devices=[]):  # the initial weights follow --seed
            torch.manual_seed(args.seed)
            model = InfoNetModel(parse_config(args.config))
    model.to(device).train()
    opt = torch.optim.Adam(param_groups(model, fast, args.grown_lr_scale), lr=args.lr)
    if opt_state is not None:
        opt.load_state_dict(opt_state)  # with the groups' lr_scale as they were
    ema = None
    if args.ema > 0:
        ema = WeightAverage(model, args.ema, updates=ema_updates)
        if ema_state is not None:  # a resumed average continues; otherwise it starts here
            ema.model.load_state_dict(ema_state)
    scored = model if ema is None else ema.model
    start_step = step

    val_path = Path(args.validation) if args.validation else out / "validation.npz"
    built, t0 = not val_path.exists(), time.time()
    val = load_or_build(val_path)
    if built:
        print(f"built validation set in {time.time() - t0:.1f}s", flush=True)

    gen = torch.Generator(device=device).manual_seed(args.seed * 1_000_003 + step)
    size_gen = torch.Generator().manual_seed(args.seed + step)
    streams = state.get("generators") if state is not None else None
    if streams is not None and streams["device"] == device.type and "seed" not in changed:
        # the same batches an uninterrupted run would have drawn
        gen.set_state(streams["batch"])
        size_gen.set_state(streams["size"])
    amp = args.amp and device.type == "cuda"
    t_start = time.time()
    last_ckpt = t_start
    deadline = t_start + 60 * args.minutes
    running = 0.0

    def save_state() -> None:
        state = {
            "config": model.config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "step": step,
            "samples_seen": samples_seen,
            "wall_seconds": wall_before + time.time() - t_start,
            "best": best,
            "score_version": SCORE_VERSION,
            "history": json.dumps(history),
            "lineage": json.dumps(lineage),
            "origin": origin,
            "total": total,
            "fast_modules": fast,
            "args": json.dumps({k: getattr(args, k) for k in RECIPE_OPTIONS}),
            "generators": {
                "device": device.type,
                "batch": gen.get_state(),
                "size": size_gen.get_state(),
            },
        }
        if ema is not None:
            state["ema"] = {k: v.detach().cpu() for k, v in ema.model.state_dict().items()}
            state["ema_updates"] = ema.updates
        torch.save(state, out / "state.pt.tmp")
        os.replace(out / "state.pt.tmp", out / "state.pt")

    def evaluate() -> None:
        nonlocal best
        metrics = score(scored, val, device)
        row = {
            "step": step,
            "samples_seen": samples_seen,
            "wall_seconds": round(wall_before + time.time() - t_start, 1),
            "train_dv": round(running, 4),
            **record(metrics),
        }
        history.append(row)
        print(json.dumps(row), flush=True)
        if metrics["score"] < best:
            card = {
                "name": "infonet",
                "steps": step,
                "samples_seen": samples_seen,
                "wall_seconds": row["wall_seconds"],
                "hardware": hardware(device),
                "training": {
                    # the recipe as run (the validation file's path is this machine's)
                    **{k: getattr(args, k) for k in RECIPE_OPTIONS if k != "validation"},
                    "n": sizes,
                    "amp": amp,
                    "optimizer": "Adam",
                    "grad_clip": 1.0,
                    # the rate of weights added by --grow, relative to lr
                    "grown_lr_scale": opt.param_groups[-1].get("lr_scale", 1.0),
                    "schedule": f"warmup {args.warmup} + cosine",
                    "data": "random 2-D GMMs, K~U{1..20}, Dirichlet(1) weights, "
                    "means U[-5,5]^2, cov DD^T+0.01I, D~U[-3,3]",
                },
                "validation": row,
                "lineage": lineage,
                "torch": torch.__version__,
            }
            save_model(scored, out / "best.pt", card)
            best = metrics["score"]  # once best.pt holds it

    with stop_on_signals() as stop:  # SIGINT / SIGTERM: stop after this step and save
        print(f"training from step {step} to {total}", flush=True)
        while not stop.requested and time.time() < deadline and step < total:
            lr_now = lr_at(step - origin, total - origin, args.lr, args.warmup)
            for group in opt.param_groups:
                group["lr"] = lr_now * group.get("lr_scale", 1.0)
            n = sizes[int(torch.randint(len(sizes), (1,), generator=size_gen))]
            value = train_step(
                model,
                opt,
                args.batch,
                n,
                gen,
                device,
                args.readout,
                amp,
                heldout=args.objective == "heldout",
                mi_balance=args.mi_balance,
                calibrate=args.calibrate,
                independent=args.independent,
                calibrate_scale=args.calibrate_scale,
                weak=args.weak,
                rank=args.rank,
                tail=args.tail,
                separation_weight=args.separation,
                separation_samples=args.separation_samples,
                gaussian=step_gaussian(args.gaussian, n, args.gaussian_max_n),
                gaussian_rho_max=args.gaussian_rho_max,
                thin=args.thin,
                gaussian_weak=args.gaussian_weak,
                gaussian_weak_rho=weak_rho,
            )
            if not math.isfinite(value):
                raise FloatingPointError(f"non-finite DV value at step {step}")
            if ema is not None:
                ema.update(model)
            running = value if step == start_step else 0.98 * running + 0.02 * value
            step += 1
            samples_seen += args.batch * n
            if step % args.eval_every == 0:
                evaluate()
            if time.time() - last_ckpt > 60 * args.checkpoint_minutes:
                save_state()
                last_ckpt = time.time()
        if stop.requested:
            print(f"interrupted; saving ({stop.signal})", flush=True)
        elif step < total:
            print(
                f"stopped at the --minutes {args.minutes:g} limit at step {step:,} of "
                f"{total:,}; --resume {out / 'state.pt'} carries on",
                flush=True,
            )
        save_state()  # before the final scoring, which takes a while
        if not history or history[-1]["step"] != step:
            evaluate()
            save_state()
    rate = (step - start_step) / max(1e-9, time.time() - t_start)
    print(f"done: step {step}, {rate:.2f} steps/s, best score {best:.4f}, out {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
