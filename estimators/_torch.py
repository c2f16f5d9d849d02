"""Torch helpers shared by the neural estimators; torch is imported on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.interface import SpecError


def resolve_device(name: str, owner: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; check a requested CUDA device."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SpecError(f"{owner}: device={name!r} requested but CUDA is not available")
    return name


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads, restoring the setting after.

    ``None`` leaves torch's setting alone.
    """
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
