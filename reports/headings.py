"""A report section's heading: the task parameters of its rows in words."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from harness import metrics
from harness.matching import canonical_numbers, match_params
from harness.params import stored_params, value_text, varying_keys
from results.schema import dumps

__all__ = ["params_words", "task_params_text"]


def _task_default(task: str, key: str) -> Any:
    """The value a null parameter ``key`` of ``task`` stands for, where the task's module
    names it ``DEFAULT_<KEY>`` (``gaussian``'s ``DEFAULT_RHOS``); None otherwise."""
    cls = metrics.task_class(task)
    module = sys.modules.get(cls.__module__) if cls is not None else None
    return getattr(module, f"DEFAULT_{key.upper()}", None)


def _listing(values: Sequence[Any]) -> str:
    """``0, 0.2``; from five values on ``0, 0.1, …, 0.99: 12 values``."""
    texts = [value_text(v) for v in values]
    if len(texts) > 4:
        return f"{texts[0]}, {texts[1]}, …, {texts[-1]}: {len(texts)} values"
    return ", ".join(texts)


def _value_words(task: str, key: str, value: Any) -> str:
    """A task parameter's value in words: ``2000``, ``0, 0.2`` (a spec string's ``;``
    list too), ``task default (...)`` for a null."""
    if value is None:
        default = _task_default(task, key)
        if default is None:
            return "task default"
        listed = isinstance(default, (list, tuple))
        return f"task default ({_listing(default) if listed else value_text(default)})"
    if isinstance(value, str) and ";" in value:
        value = value.split(";")
    if isinstance(value, (list, tuple)):
        return _listing(value)
    return value_text(value)


def _param_text(task: str, key: str, value: Any) -> str:
    """One task parameter in words: ``n = 2000``, ``rhos: task default (...)``."""
    return f"{key}{':' if value is None else ' ='} {_value_words(task, key, value)}"


def _summed_up(task: str, key: str, values: Sequence[Any]) -> str:
    """The values one parameter takes in several sets: ``n = 50, 100, 2000`` (numbers
    in order), ``rhos = task default (...); 0, 0.2`` (lists apart by ``;``)."""
    distinct = list({dumps(v): v for v in values}.values())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct):
        distinct.sort()
    words = [_value_words(task, key, v) for v in distinct]
    return f"{key} = {('; ' if any(',' in w for w in words) else ', ').join(words)}"


def params_words(task: str, params: dict[str, Any] | None) -> str:
    """Every parameter of one set in words, ``n`` first, then by name: ``n = 2000 ·
    levels: task default (0, 0.1, …, 0.9: 10 values) · per_level = 20``; ``""`` for
    none."""
    keys = sorted(params or {}, key=lambda k: (k != "n", k))
    return " · ".join(_param_text(task, k, (params or {})[k]) for k in keys)


#: Parameter sets a heading lists one by one; more are summed up per parameter.
_LISTED_SETS = 8


def task_params_text(task: str, df: pd.DataFrame) -> str:
    """The task parameters of ``df``'s rows in words, for a section heading.

    One part per parameter set (in order of first appearance, joined by
    ``|``), e.g. ``n = 2000 · rhos: task default (0, 0.1, …, 0.99: 12 values)``:
    the sample size ``n``, then each parameter set away from the task's current
    default (:func:`harness.matching.match_params`) or differing between the
    sets, as ``key = value``; a null is the task's default, with its value
    where the task's module names it (:func:`_task_default`). Beyond
    :data:`_LISTED_SETS` sets, one part per parameter with the values it takes
    (:func:`_summed_up`).
    """
    if "task_params" not in df:
        return ""
    texts = [str(t) for t in pd.unique(df["task_params"].dropna())]
    sets = [canonical_numbers(stored_params(t)) for t in texts]
    names = pd.Series(task, index=range(len(texts)), dtype=object)
    off = [
        set(stored_params(k)) for k in match_params(names, pd.Series(texts, dtype=object), "task")
    ]
    keys = sorted(dict.fromkeys(k for s in sets for k in s), key=lambda k: k != "n")
    varying = set(varying_keys(sets))
    shown = [[k for k in keys if k in s and (k == "n" or k in o or k in varying)]
             for s, o in zip(sets, off, strict=True)]  # fmt: skip
    if len(sets) > _LISTED_SETS:
        used = [k for k in keys if any(k in ks for ks in shown)]
        return " · ".join(_summed_up(task, k, [s.get(k) for s in sets]) for k in used)
    parts = [
        " · ".join(_param_text(task, k, values[k]) for k in ks)
        for values, ks in zip(sets, shown, strict=True)
    ]
    return " | ".join(dict.fromkeys(p for p in parts if p))
