"""Saving and loading InfoNet weights with a model card and a checksum.

A checkpoint is two files side by side: ``NAME.pt`` (config + state dict,
tensors and plain values only, loaded with ``torch.load(weights_only=True)``)
and ``NAME.json``, the model card (config, training steps, samples seen,
hardware, wall time, evaluation numbers and the sha256 of ``NAME.pt``). The
checksum is verified on every load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from estimators.infonet.card import (  # noqa: F401  (part of this module's API)
    CHECKPOINT_DIR,
    DEFAULT_CHECKPOINT,
    card_path,
    load_card,
    sha256_file,
)
from estimators.infonet.model import InfoNetConfig, InfoNetModel

FORMAT = 1


class ChecksumError(RuntimeError):
    """A checkpoint file does not match the sha256 in its model card."""


def save_model(model: InfoNetModel, path: str | Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write ``model`` to ``path`` and its model card beside it; return the card."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "config": model.config.to_dict(), "state_dict": state}
    tmp = path.with_suffix(".pt.tmp")
    # Through a file handle the archive is not named after the file, so the same
    # weights give the same bytes (and checksum) under any name.
    with open(tmp, "wb") as handle:
        torch.save(payload, handle)
    full = dict(card)
    full.update(
        file=path.name,
        sha256=sha256_file(tmp),
        config=model.config.to_dict(),
        parameters=int(sum(p.numel() for p in model.parameters())),
        size_bytes=tmp.stat().st_size,
    )
    install(path, full, weights=tmp)
    return full


def install(path: Path, card: dict[str, Any], weights: Path | None = None) -> None:
    """Put ``card`` beside ``path``, and the complete file ``weights`` (if given) at
    ``path``: both are written in full before either replaces the old pair, so an
    interruption never leaves weights beside a card of other weights."""
    card_tmp = card_path(path).with_suffix(".json.tmp")
    card_tmp.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    if weights is not None:
        weights.replace(path)
    card_tmp.replace(card_path(path))


def load_model(
    path: str | Path | None = None, *, verify: bool = True, map_location: str = "cpu"
) -> tuple[InfoNetModel, dict[str, Any]]:
    """Load an InfoNet checkpoint (default: the one shipped with the package).

    Raises
    ------
    FileNotFoundError
        If the checkpoint or its model card is missing.
    ChecksumError
        If the file's sha256 differs from the model card's.
    """
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"InfoNet checkpoint {path} not found")
    card = load_card(path)
    if verify:
        actual = sha256_file(path)
        if actual != card.get("sha256"):
            raise ChecksumError(
                f"checkpoint {path} has sha256 {actual}, model card says {card.get('sha256')}; "
                "the file is corrupt or was replaced"
            )
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"unsupported InfoNet checkpoint format {payload.get('format')!r}")
    model = InfoNetModel(InfoNetConfig(**payload["config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, card
