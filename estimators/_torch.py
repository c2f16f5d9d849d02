"""Torch helpers shared by the neural estimators; torch is imported on first use."""

from __future__ import annotations

from harness.interface import SpecError


def resolve_device(name: str, owner: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; check a requested CUDA device."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SpecError(f"{owner}: device={name!r} requested but CUDA is not available")
    return name
