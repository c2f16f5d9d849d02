"""Carry a short restart's weight change further: ``base + alpha (model - base)``.

    python -m estimators.infonet.extrapolate BASE.pt MODEL.pt --alpha 4 --out OUT.pt \\
        --validation runs/validation.npz
    python -m estimators.infonet.extrapolate BASE.pt RUN1.pt RUN2.pt RUN3.pt --alpha 1 --out SOUP.pt

A restart's weight average (``train --resume ... --ema 0.999``) moves only a
little of the way from the weights it started at in its first few hundred
steps, and what it moves is the average of many noisy steps. Stepping the same
direction further, ``alpha`` times the average's change, can score better than
the average itself or than training on (docs/infonet_training.md, session 42).
Given several restarts of one ``BASE``, the change is the mean of theirs:
``alpha = 1`` is their uniform weight average (a "soup"), and a larger ``alpha``
carries that mean change further.
``OUT.pt`` gets the first ``MODEL``'s card with the models' checksums and ``alpha``
(the ``extrapolation`` entry and a lineage line); the card's ``evaluation`` is
dropped (it is ``MODEL``'s) and its ``validation`` is replaced by ``OUT``'s own
score when ``--validation`` is given, else dropped. One ``MODEL`` and ``alpha = 1``
give ``MODEL``'s weights (to float32 rounding). Scoring several ``alpha`` is a
loop over this command; the harness's evaluation
(:mod:`estimators.infonet.evaluate`) decides shipping.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from estimators.infonet.checkpoint import ChecksumError, load_model, save_model
from estimators.infonet.model import InfoNetModel


def extrapolated(
    base: InfoNetModel, models: InfoNetModel | Sequence[InfoNetModel], alpha: float
) -> InfoNetModel:
    """A model with weights ``base + alpha * (mean(models) - base)``, tensor by tensor.

    Parameters
    ----------
    base : InfoNetModel
        The weights the runs started from.
    models : InfoNetModel or sequence of InfoNetModel
        One run's weights, or several runs' (their change is the mean of theirs).
    alpha : float
        How many times the change to take, > 0.

    Raises
    ------
    ValueError
        If ``alpha`` is not a positive finite number, no model is given, or the
        models differ from ``base`` in configuration (so their weights cannot be
        paired).
    """
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    runs = [models] if isinstance(models, InfoNetModel) else list(models)
    if not runs:
        raise ValueError("no model given: there is no change to extend")
    first = base.config.to_dict()
    for run in runs:
        second = run.config.to_dict()
        if first != second:
            diff = {k: (v, second.get(k)) for k, v in first.items() if second.get(k) != v}
            raise ValueError(f"the two models' configurations differ (base, model): {diff}")
    start = base.state_dict()
    states = [run.state_dict() for run in runs]
    weights = {}
    for k, v in start.items():
        mean = torch.stack([state[k].float() for state in states]).mean(0)
        weights[k] = v.float() + float(alpha) * (mean - v.float())
    out = InfoNetModel(runs[0].config)
    out.load_state_dict(weights)
    return out.eval()


def main(argv: list[str] | None = None) -> int:
    """Write ``BASE + alpha (mean(MODEL ...) - BASE)`` with its card; print the
    card's ``extrapolation`` entry (and ``validation``, when scored) as JSON."""
    p = argparse.ArgumentParser(
        prog="python -m estimators.infonet.extrapolate",
        description="Extrapolate an InfoNet model's weights away from the model it started at.",
    )
    p.add_argument("base", help="the model .pt the run started from (a card beside it)")
    p.add_argument(
        "models",
        nargs="+",
        metavar="model",
        help="the run's model .pt, e.g. its best.pt (a card beside it); several: their mean",
    )
    p.add_argument(
        "--alpha", type=float, required=True, help="multiple of mean(MODEL ...) - BASE, > 0"
    )
    p.add_argument("--out", required=True, help="the new model's .pt (its card is written beside)")
    p.add_argument("--validation", default=None, help="score on this saved validation set")
    p.add_argument("--threads", type=int, default=None, help="torch threads for the scoring")
    args = p.parse_args(argv)
    out = Path(args.out)
    if out.resolve() in {Path(f).resolve() for f in [args.base, *args.models]}:
        p.error("--out must not overwrite BASE or a MODEL")
    try:
        base, base_card = load_model(args.base)
        loaded = [load_model(path) for path in args.models]
        shas = [str(base_card.get("sha256", ""))] + [str(c.get("sha256", "")) for _, c in loaded]
        if shas[0] in shas[1:]:
            raise ValueError("BASE and a MODEL are the same weights: there is no change to extend")
        if len(set(shas[1:])) < len(shas) - 1:
            raise ValueError("the same MODEL weights are given twice")
        new = extrapolated(base, [model for model, _ in loaded], args.alpha)
    except (OSError, ValueError, ChecksumError) as exc:
        p.error(str(exc))
    card = loaded[0][1]
    names = [Path(path).name for path in [args.base, *args.models]]
    entry: dict[str, Any] = {
        "alpha": args.alpha,
        "base": f"{names[0]}@{shas[0]}",
        "models": [f"{name}@{sha}" for name, sha in zip(names[1:], shas[1:], strict=True)],
    }
    short = [f"{name}@{sha[:12]}" for name, sha in zip(names, shas, strict=True)]
    target = short[1] if len(short) == 2 else "the mean of " + ", ".join(short[1:])
    new_card: dict[str, Any] = {
        k: v for k, v in card.items() if k not in ("evaluation", "validation", "extrapolation")
    }
    new_card["extrapolation"] = entry
    new_card["lineage"] = [
        *card.get("lineage", []),
        f"extrapolated {args.alpha:g} x the change from {short[0]} to {target} "
        f"(base + {args.alpha:g} ({'model' if len(short) == 2 else 'mean(models)'} - base))",
    ]
    report: dict[str, Any] = {"extrapolation": entry}
    if args.validation:
        from estimators.infonet.validation import load_or_build, record, score

        if args.threads:
            torch.set_num_threads(args.threads)
        metrics = score(new, load_or_build(args.validation), torch.device("cpu"))
        new_card["validation"] = {**record(metrics), "step": card.get("steps")}
        report["validation"] = new_card["validation"]
    saved = save_model(new, out, new_card)
    report["sha256"] = saved["sha256"]
    json.dump(report, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
