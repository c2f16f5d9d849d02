"""Parameter checks shared by estimators and tasks, and stored parameters read back.

Each ``check_*`` function returns the value in a canonical Python type or raises
one :class:`~harness.interface.SpecError` whose message reads
``"<owner>: <name> must ...; got <value!r>"``. Booleans are never numbers here,
although Python counts ``True`` as the integer 1. :func:`stored_params` reads a
row's parameter JSON back into a dict, and :func:`value_text` writes one value
for a reader.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from harness.interface import SpecError

__all__ = [
    "MAX_CELLS",
    "MAX_INT",
    "MAX_SEED",
    "MAX_SEEDS",
    "check_bool",
    "check_choice",
    "check_device",
    "check_int",
    "check_number",
    "check_optional_int",
    "check_seed",
    "stored_params",
    "varying_keys",
    "value_text",
]

#: Default upper bound for sizes and counts: anything larger cannot be allocated anyway.
MAX_INT = 10**9
#: Seeds lie in [0, MAX_SEED): non-negative for NumPy, and an int64 for Numba and torch.
MAX_SEED = 2**63
#: Seeds one run may take: checked before a seed list is built, so a mistyped
#: range such as ``0..1000000000`` is refused instead of filling memory.
MAX_SEEDS = 100_000
#: Cells (instances x seeds x estimators) one run may hold: checked before the
#: cells are listed, so a mistyped task size such as ``highdim_order:per_d=100000000``
#: is refused instead of filling memory. A guard against typos, not a size every
#: machine can hold: listing 10 million cells alone takes about 2 GB.
MAX_CELLS = 10_000_000

_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")
T = TypeVar("T")


def _int_in(value: Any, minimum: int, maximum: int | None) -> bool:
    """A Python or NumPy integer (not a bool) in [minimum, maximum]."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        return False
    return minimum <= value and (maximum is None or value <= maximum)


def _int_range(minimum: int, maximum: int | None) -> str:
    return f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"


def check_int(
    owner: str, name: str, value: Any, minimum: int, maximum: int | None = MAX_INT
) -> int:
    """``value`` as an int in [``minimum``, ``maximum``].

    Parameters
    ----------
    owner : str
        Estimator or task name, for the message.
    name : str
        Parameter name, for the message.
    value : Any
        The value to check; a Python or NumPy integer, not a bool.
    minimum : int
        Smallest allowed value.
    maximum : int or None
        Largest allowed value (default :data:`MAX_INT`); None for no bound.

    Returns
    -------
    int

    Raises
    ------
    SpecError
        If ``value`` is not such an integer.
    """
    if not _int_in(value, minimum, maximum):
        raise SpecError(
            f"{owner}: {name} must be an integer {_int_range(minimum, maximum)}; got {value!r}"
        )
    return int(value)


def check_optional_int(
    owner: str, name: str, value: Any, minimum: int, maximum: int | None = MAX_INT
) -> int | None:
    """None, or ``value`` as an int in [``minimum``, ``maximum``].

    Parameters
    ----------
    owner, name, value, minimum, maximum
        As for :func:`check_int`; ``value`` may also be None.

    Returns
    -------
    int or None
    """
    if value is None:
        return None
    if not _int_in(value, minimum, maximum):
        raise SpecError(
            f"{owner}: {name} must be an integer {_int_range(minimum, maximum)} or None; "
            f"got {value!r}"
        )
    return int(value)


def check_seed(owner: str, value: Any) -> int:
    """``value`` as a seed: an integer in [0, 2**63).

    Parameters
    ----------
    owner : str
        Estimator or task name, for the message.
    value : Any
        A Python or NumPy integer, not a bool.

    Returns
    -------
    int

    Raises
    ------
    SpecError
        If ``value`` is not an integer in [0, 2**63).
    """
    if not _int_in(value, 0, MAX_SEED - 1):
        raise SpecError(f"{owner}: seed must be an integer in [0, 2**63); got {value!r}")
    return int(value)


def _number_range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a float: a finite real number within the given bounds.

    Parameters
    ----------
    owner, name : str
        Estimator or task name and parameter name, for the message.
    value : Any
        A real number (Python, NumPy or :class:`numbers.Real`); not a bool or a string.
    low, high : float or None
        Bounds; None for none.
    low_open, high_open : bool
        Exclude the bound itself.
    allow_inf : bool
        Accept infinities (still subject to the bounds).

    Returns
    -------
    float

    Raises
    ------
    SpecError
        If ``value`` is not a number, is NaN, infinite (unless allowed) or out of bounds.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    f = math.nan
    if ok:
        try:
            f = float(value)
        except (OverflowError, TypeError, ValueError):  # e.g. an int beyond float64
            ok = False
    ok = ok and not math.isnan(f) and (allow_inf or not math.isinf(f))
    if ok and low is not None:
        ok = f > low if low_open else f >= low
    if ok and high is not None:
        ok = f < high if high_open else f <= high
    if not ok:
        kind = "number" if allow_inf else "finite number"
        bounds = _number_range(low, high, low_open, high_open)
        raise SpecError(f"{owner}: {name} must be a {kind}{bounds}; got {value!r}")
    return f


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool; Python and NumPy booleans only (not 0 or 1).

    Parameters
    ----------
    owner, name : str
        Estimator or task name and parameter name, for the message.
    value : Any

    Returns
    -------
    bool

    Raises
    ------
    SpecError
        If ``value`` is not a boolean.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise SpecError(f"{owner}: {name} must be true or false; got {value!r}")
    return bool(value)


def _kind(value: Any) -> type:
    if isinstance(value, (bool, np.bool_)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int
    if isinstance(value, (float, np.floating)):
        return float
    if isinstance(value, str):
        return str
    return type(value)


def check_choice(owner: str, name: str, value: Any, choices: Sequence[T]) -> T:
    """The entry of ``choices`` equal to ``value``.

    Values match only within one kind (bool, integer, float, string), so ``True``
    or ``1.0`` is not the choice ``1``, while ``numpy.int64(1)`` is.

    Parameters
    ----------
    owner, name : str
        Estimator or task name and parameter name, for the message.
    value : Any
    choices : sequence
        The allowed values.

    Returns
    -------
    The matching entry of ``choices``.

    Raises
    ------
    SpecError
        If ``value`` is none of ``choices``.
    """
    kind = _kind(value)
    for choice in choices:
        if _kind(choice) is kind and value == choice:
            return choice
    names = [repr(c) for c in choices]
    listing = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    raise SpecError(f"{owner}: {name} must be {listing}; got {value!r}")


def check_device(owner: str, value: Any) -> str:
    """``value`` as a device name: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:<i>"``.

    Whether CUDA is available is checked when the device is used, not here.

    Parameters
    ----------
    owner : str
        Estimator name, for the message.
    value : Any

    Returns
    -------
    str

    Raises
    ------
    SpecError
        If ``value`` is not one of those names.
    """
    if not isinstance(value, str) or not _DEVICE.fullmatch(value):
        raise SpecError(f"{owner}: device must be 'auto', 'cpu', 'cuda' or 'cuda:i'; got {value!r}")
    return str(value)


def stored_params(text: Any) -> dict[str, Any]:
    """The parameters of a stored row (``estimator_params`` or ``task_params``, JSON
    text) as a dict; a dict as it is, and ``{}`` for a missing or unreadable text or
    JSON that is not an object."""
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def varying_keys(sets: Sequence[dict[str, Any]]) -> list[str]:
    """The keys of parameter dicts ``sets`` whose values are not the same in all of them
    (a missing key counts as None), sorted."""
    keys = sorted({k for s in sets for k in s})
    return [k for k in keys if len({json.dumps(s.get(k), sort_keys=True) for s in sets}) > 1]


def value_text(value: Any) -> str:
    """A parameter value for a reader: ``true``/``false``, a whole float as an
    integer (``2000``), another float to six significant digits (``0.333333``), and
    anything else as :class:`str` writes it. Labels and specs are spelled exactly
    instead (:func:`harness.registry.format_spec`)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)
