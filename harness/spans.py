"""Integers written as ranges, for summaries of cells, seeds and instances."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["int_spans"]


def int_spans(values: Iterable[Any], limit: int | None = None, dash: str = "–") -> str:
    """Distinct integers as ranges: ``[0, 1, 2, 5, 7, 8]`` -> ``"0–2, 5, 7, 8"``.

    Runs of three or more are written ``first{dash}last`` (``dash=".."`` gives
    the CLI's seed syntax, ``0..7``), shorter runs number by number; None and
    NaN are left out. With ``limit``, at most that many parts, then
    ``"… (k more)"``.
    """
    nums = sorted(
        {int(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))}
    )
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        if j >= i + 2:
            parts.append(f"{nums[i]}{dash}{nums[j]}")
        else:
            parts.extend(str(v) for v in nums[i : j + 1])
        i = j + 1
    if limit is not None and len(parts) > limit:
        return ", ".join(parts[:limit]) + f", … ({len(parts) - limit:,} more)"
    return ", ".join(parts)
