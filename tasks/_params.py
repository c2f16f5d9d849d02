"""Parameter checks shared by the task generators.

Spec strings separate parameters with commas, so a list value is written with
semicolons (``gaussian:rhos=0.1;0.5;0.9``); Python callers pass a sequence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.interface import SpecError
from harness.params import MAX_INT, check_int

__all__ = ["check_int", "float_list", "int_list", "sweep"]

#: Longest list a ``"a..b"`` range may expand to.
MAX_ITEMS = 10**4


def _items(task: str, name: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        parts = [p for p in re.split(r"[;\s]+", value.strip()) if p]
        if not parts:
            raise SpecError(f"{task}: {name} is empty")
        return parts
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (Sequence, np.ndarray)):
        items = list(value)
        if not items:
            raise SpecError(f"{task}: {name} is empty")
        return items
    raise SpecError(
        f"{task}: {name} must be a number, a sequence or a ';'-separated string; got {value!r}"
    )


def float_list(task: str, name: str, value: Any) -> tuple[float, ...]:
    """Parse a number, a sequence, or ``"a;b;c"`` into a tuple of finite floats."""
    out = []
    for item in _items(task, name, value):
        try:
            f = float(item)
        except (TypeError, ValueError):
            raise SpecError(f"{task}: {name} must hold numbers; got {item!r}") from None
        if not math.isfinite(f):
            raise SpecError(f"{task}: {name} must hold finite numbers; got {item!r}")
        out.append(f)
    return tuple(out)


def int_list(task: str, name: str, value: Any) -> tuple[int, ...]:
    """Parse an int, a sequence, ``"a;b;c"`` or a range ``"a..b"`` into a tuple of ints."""
    if isinstance(value, str) and ".." in value:
        lo, _, hi = value.partition("..")
        try:
            a, b = int(lo), int(hi)
        except ValueError:
            raise SpecError(f"{task}: {name} range must look like '1..10'; got {value!r}") from None
        if b < a:
            raise SpecError(f"{task}: {name} range {value!r} is empty (its end is below its start)")
        if not (abs(a) <= MAX_INT and abs(b) <= MAX_INT and b - a < MAX_ITEMS):
            raise SpecError(f"{task}: {name} range {value!r} is too large")
        return tuple(range(a, b + 1))
    out = []
    for item in _items(task, name, value):
        try:
            f = float(item)
        except (TypeError, ValueError):
            raise SpecError(f"{task}: {name} must hold integers; got {item!r}") from None
        if not f.is_integer() or abs(f) > MAX_INT:
            raise SpecError(
                f"{task}: {name} must hold integers of magnitude <= {MAX_INT}; got {item!r}"
            )
        out.append(int(f))
    return tuple(out)


def sweep(
    task: str,
    name: str,
    stem: str,
    values: Any,
    grid: tuple[Any, Any, Any],
    default: tuple[float, ...],
) -> tuple[float, ...]:
    """The swept values: an explicit list, an evenly spaced grid, or the default.

    Parameters
    ----------
    task : str
        Task name, for error messages.
    name : str
        The list parameter, e.g. ``"rhos"``.
    stem : str
        Prefix of the grid parameters, e.g. ``"rho"`` for ``rho_min``/``rho_max``.
    values : number, sequence, str or None
        Explicit values.
    grid : (low, high, steps)
        ``numpy.linspace(low, high, steps)``; all three or none given.
    default : tuple of float
        Used when neither form is given.

    Returns
    -------
    tuple of float
    """
    lo, hi, steps = grid
    given = [g is not None for g in grid]
    names = f"{stem}_min, {stem}_max and steps"
    if values is not None and any(given):
        raise SpecError(f"{task}: give either {name} or the grid {names}, not both")
    if any(given) and not all(given):
        raise SpecError(f"{task}: the grid needs all of {names}")
    if all(given):
        n = check_int(task, "steps", steps, 1)
        a = float_list(task, f"{stem}_min", lo)[0]
        b = float_list(task, f"{stem}_max", hi)[0]
        if n == 1 and a != b:
            raise SpecError(f"{task}: steps=1 needs {stem}_min == {stem}_max")
        return tuple(float(v) for v in np.round(np.linspace(a, b, n), 12))
    if values is None:
        return default
    return float_list(task, name, values)
