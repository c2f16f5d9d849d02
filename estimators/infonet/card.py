"""The model card beside an InfoNet checkpoint, and the file checksum (no torch needed).

Kept apart from :mod:`estimators.infonet.checkpoint` so that a run's driver can
record which weights it uses (:meth:`InfoNet.artifacts`) without importing torch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "infonet.pt"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def load_card(path: str | Path = DEFAULT_CHECKPOINT) -> dict[str, Any]:
    cp = card_path(path)
    if not cp.exists():
        raise FileNotFoundError(f"model card {cp} not found beside checkpoint {path}")
    return json.loads(cp.read_text())
