"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's tiny torch models on one thread: on 2 shared cores a pool only contends."""
    pytest.importorskip("torch")
    from estimators._torch import torch_threads

    with torch_threads(1):
        yield
