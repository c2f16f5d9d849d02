"""Argument types shared by the command lines: seed lists and comma-separated numbers.

``harness run --seeds``, ``estimators.infonet.evaluate --sliced-seeds`` and the
benchmark scripts' size lists all read their numbers here, so a typo gets the
same argparse message (``argument --ns: ...``) everywhere instead of a traceback.
"""

from __future__ import annotations

import argparse
import math
import re

_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


def parse_seeds(text: str) -> list[int]:
    """``"0..4"`` (inclusive), ``"0,1,2"``, ``"7"``, or a mix such as ``"0..2,10"``.

    Raises
    ------
    ValueError
        For a piece that is neither a non-negative integer nor a range, an empty
        range, or more seeds than one run takes (:data:`harness.params.MAX_SEEDS`).
    """
    from harness.params import MAX_SEEDS

    out: list[int] = []
    for piece in text.split(","):
        m = _RANGE.match(piece)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise ValueError(f"empty seed range {piece.strip()!r}")
            if len(out) + hi - lo + 1 > MAX_SEEDS:
                raise ValueError(
                    f"seeds {text!r} name more than {MAX_SEEDS:,}; one run takes at most that"
                )
            out.extend(range(lo, hi + 1))
        elif piece.strip().isascii() and piece.strip().isdigit():
            out.append(int(piece))
        else:
            raise ValueError(f"bad seed {piece.strip()!r}; use e.g. 0..4 or 0,1,2")
    return out


def seeds_arg(text: str) -> list[int]:
    """:func:`parse_seeds` as an argparse ``type`` (its error becomes a usage message)."""
    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_list_arg(text: str) -> list[int]:
    """Comma-separated positive integers (at least one) as an argparse ``type``.

    >>> int_list_arg("200, 500,1000")
    [200, 500, 1000]
    """
    out = optional_int_list_arg(text)
    if not out:
        raise argparse.ArgumentTypeError("give at least one positive integer, e.g. 50,100,300")
    return out


def optional_int_list_arg(text: str) -> list[int]:
    """As :func:`int_list_arg`, but ``""`` is the empty list (an option's "none")."""
    out: list[int] = []
    for piece in _pieces(text):
        if not (piece.isascii() and piece.isdigit()) or int(piece) == 0:
            raise argparse.ArgumentTypeError(
                f"{piece!r} is not a positive integer; give e.g. 50,100,300"
            )
        out.append(int(piece))
    return out


def float_list_arg(text: str) -> list[float]:
    """Comma-separated finite non-negative numbers (at least one) as an argparse ``type``.

    >>> float_list_arg("0.5, 0.9")
    [0.5, 0.9]
    """
    out: list[float] = []
    for piece in _pieces(text):
        try:
            value = float(piece) if piece.isascii() else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(
                f"{piece!r} is not a finite non-negative number; give e.g. 0.5,0.9"
            )
        out.append(value)
    if not out:
        raise argparse.ArgumentTypeError("give at least one number, e.g. 0.5,0.9")
    return out


def _pieces(text: str) -> list[str]:
    """The non-blank comma-separated pieces of ``text``, stripped."""
    return [piece for piece in (p.strip() for p in text.split(",")) if piece]
