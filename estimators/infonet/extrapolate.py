"""Carry a short restart's weight change further: ``base + alpha (model - base)``.

    python -m estimators.infonet.extrapolate BASE.pt MODEL.pt --alpha 4 --out OUT.pt \\
        --validation runs/validation.npz

A restart's weight average (``train --resume ... --ema 0.999``) moves only a
little of the way from the weights it started at in its first few hundred
steps, and what it moves is the average of many noisy steps. Stepping the same
direction further, ``alpha`` times the average's change, can score better than
the average itself or than training on (docs/infonet_training.md, session 42).
``OUT.pt`` gets ``MODEL``'s card with the two models' checksums and ``alpha``
(the ``extrapolation`` entry and a lineage line); the card's ``evaluation`` is
dropped (it is ``MODEL``'s) and its ``validation`` is replaced by ``OUT``'s own
score when ``--validation`` is given, else dropped. ``alpha = 1`` gives
``MODEL``'s weights (to float32 rounding). Scoring several ``alpha`` is a loop over this command;
the harness's evaluation (:mod:`estimators.infonet.evaluate`) decides shipping.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from estimators.infonet.checkpoint import ChecksumError, load_model, save_model
from estimators.infonet.model import InfoNetModel


def extrapolated(base: InfoNetModel, model: InfoNetModel, alpha: float) -> InfoNetModel:
    """A copy of ``model`` with weights ``base + alpha * (model - base)``, tensor by tensor.

    Raises
    ------
    ValueError
        If ``alpha`` is not a positive finite number, or the two models differ
        in configuration (so their weights cannot be paired).
    """
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    first, second = base.config.to_dict(), model.config.to_dict()
    if first != second:
        diff = {k: (v, second.get(k)) for k, v in first.items() if second.get(k) != v}
        raise ValueError(f"the two models' configurations differ (base, model): {diff}")
    start = base.state_dict()
    weights = {
        k: start[k].float() + float(alpha) * (v.float() - start[k].float())
        for k, v in model.state_dict().items()
    }
    out = InfoNetModel(model.config)
    out.load_state_dict(weights)
    return out.eval()


def main(argv: list[str] | None = None) -> int:
    """Write ``BASE + alpha (MODEL - BASE)`` with its card; print the card's
    ``extrapolation`` entry (and ``validation``, when scored) as JSON."""
    p = argparse.ArgumentParser(
        prog="python -m estimators.infonet.extrapolate",
        description="Extrapolate an InfoNet model's weights away from the model it started at.",
    )
    p.add_argument("base", help="the model .pt the run started from (a card beside it)")
    p.add_argument("model", help="the run's model .pt, e.g. its best.pt (a card beside it)")
    p.add_argument("--alpha", type=float, required=True, help="multiple of MODEL - BASE, > 0")
    p.add_argument("--out", required=True, help="the new model's .pt (its card is written beside)")
    p.add_argument("--validation", default=None, help="score on this saved validation set")
    p.add_argument("--threads", type=int, default=None, help="torch threads for the scoring")
    args = p.parse_args(argv)
    out = Path(args.out)
    if out.resolve() in {Path(args.base).resolve(), Path(args.model).resolve()}:
        p.error("--out must not overwrite BASE or MODEL")
    try:
        base, base_card = load_model(args.base)
        model, card = load_model(args.model)
        if base_card.get("sha256") == card.get("sha256"):
            raise ValueError("BASE and MODEL are the same weights: there is no change to extend")
        new = extrapolated(base, model, args.alpha)
    except (OSError, ValueError, ChecksumError) as exc:
        p.error(str(exc))
    named = {"base": (args.base, base_card), "model": (args.model, card)}
    entry: dict[str, Any] = {"alpha": args.alpha}
    short: dict[str, str] = {}
    for key, (path, its_card) in named.items():
        sha = str(its_card.get("sha256", ""))
        entry[key] = f"{Path(path).name}@{sha}"
        short[key] = f"{Path(path).name}@{sha[:12]}"
    new_card: dict[str, Any] = {
        k: v for k, v in card.items() if k not in ("evaluation", "validation", "extrapolation")
    }
    new_card["extrapolation"] = entry
    new_card["lineage"] = [
        *card.get("lineage", []),
        f"extrapolated {args.alpha:g} x the change from {short['base']} to {short['model']} "
        f"(base + {args.alpha:g} (model - base))",
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
