"""Matching result cells across runs made by different versions of the code.

A stored row keeps every parameter of its estimator and task, defaults
included. A parameter added since an older run is stored by the newer one
only, at its default; leaving out parameters at their current default value
before comparing lets such cells still match, while a parameter set to another
value still makes another cell.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from results.schema import cell_key, dumps

__all__ = ["canonical_numbers", "match_params", "matching_keys"]


def canonical_numbers(value: Any) -> Any:
    """``value`` with whole-number floats as ints, in lists and dicts too, so that
    ``bandwidth=1`` and ``bandwidth=1.0`` (a parameter whose default is not a
    float keeps the type it was given) compare equal."""
    if isinstance(value, dict):
        return {k: canonical_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical_numbers(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _defaults(kind: str, name: str) -> dict[str, str]:
    """Current default parameters (as canonical JSON) of a registered estimator or task;
    {} when ``name`` is not installed here."""
    import estimators
    import tasks

    registry = (estimators if kind == "estimator" else tasks).registry
    try:
        return {k: dumps(canonical_numbers(v)) for k, v in registry.defaults(name).items()}
    except Exception:  # not installed here: match its parameters as stored
        return {}


def match_params(names: pd.Series, params: pd.Series, kind: str) -> pd.Series:
    """Parameter JSON of each row without the entries at their current default
    (numbers compared by value: :func:`canonical_numbers`).

    Parameters
    ----------
    names : Series of str
        Estimator (``kind="estimator"``) or task (``kind="task"``) names.
    params : Series of str
        The rows' stored parameter JSON.
    """
    cache: dict[tuple[str, str], str] = {}
    out = []
    for name, text in zip(names, params, strict=True):
        key = (name, text)
        if key not in cache:
            defaults = _defaults(kind, name)
            try:
                values = json.loads(text)
            except (TypeError, ValueError):
                values = None
            if isinstance(values, dict):
                values = canonical_numbers(values)
                kept = {k: v for k, v in values.items() if defaults.get(k) != dumps(v)}
                cache[key] = dumps(kept)
            else:
                cache[key] = text
        out.append(cache[key])
    return pd.Series(out, index=params.index, dtype=object)


def matching_keys(df: pd.DataFrame, instance: str = "instance_index") -> pd.Series:
    """Cell keys computed from :func:`match_params`, for matching rows across runs."""
    ep = match_params(df["estimator"], df["estimator_params"], "estimator")
    tp = match_params(df["task"], df["task_params"], "task")
    keys = [
        cell_key(e, p, t, q, i, s)
        for e, p, t, q, i, s in zip(
            df["estimator"], ep, df["task"], tp, df[instance], df["seed"], strict=True
        )
    ]
    return pd.Series(keys, index=df.index, dtype=object)
