"""MI estimators and their registry.

>>> import estimators
>>> est = estimators.make("ksg:k=5")
>>> est.estimate(x, y)  # nats

Third-party estimators register under the entry-point group
``mi_harness.estimators`` (``name = "package.module:Class"``).
"""

from __future__ import annotations

from typing import Any

from harness.interface import Estimator
from harness.registry import Registry

BUILTINS = {
    "ksg": "estimators.ksg:KSG",
    "kde": "estimators.kde:KDE",
    "infonet": "estimators.infonet:InfoNet",
    "sliced": "estimators.sliced:Sliced",
    "ndoe": "estimators.flows.ndoe:NDoE",
    "bnaf": "estimators.flows.ndoe:SeparateBNAF",
    "doe": "estimators.flows.doe:DoE",
    "mine": "estimators.variational.estimators:MINE",
    "dv": "estimators.variational.estimators:DV",
    "nwj": "estimators.variational.estimators:NWJ",
    "infonce": "estimators.variational.estimators:InfoNCE",
    "smile": "estimators.variational.estimators:SMILE",
}

registry = Registry("estimator", "mi_harness.estimators", BUILTINS, base=Estimator)


def make(spec: str | Estimator, **params: Any) -> Estimator:
    """Build an estimator from a spec string such as ``"ksg:k=5"``.

    Keywords add parameters (``make("ksg", k=3)``); an unknown parameter, or one
    set both in the spec and as a keyword, raises :class:`harness.interface.SpecError`.
    """
    return registry.make(spec, **params)


def names() -> list[str]:
    """Names of every registered estimator (built-in and plugin)."""
    return registry.names()


__all__ = ["Estimator", "make", "names", "registry"]
