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


@pytest.fixture
def on_one_numba_thread():
    """A context manager that runs its block on one Numba thread (the count restored after)."""
    import contextlib

    import numba

    @contextlib.contextmanager
    def one_thread():
        before = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(before)

    return one_thread
