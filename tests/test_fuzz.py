"""Bad input, fuzzed: every registered estimator and the spec parsers.

Samples with NaN/inf/huge values, too few rows, constant or duplicated
columns, mismatched shapes; spec strings with absurd names and values. The
contract: a finite estimate, or one :class:`InputError` / :class:`SpecError`,
never another exception type and never a silent NaN.
"""

from __future__ import annotations

import string
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import estimators
import tasks
from harness.interface import InputError, SpecError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

#: Cheap settings for the trained estimators (a handful of optimiser steps).
FAST = {
    "mine": "mine:steps=2,batch_size=16",
    "dv": "dv:steps=2,batch_size=16",
    "nwj": "nwj:steps=2,batch_size=16",
    "infonce": "infonce:steps=2,batch_size=16",
    "smile": "smile:steps=2,batch_size=16",
    "ndoe": "ndoe:epochs=1,batch_size=16",
    "bnaf": "bnaf:epochs=1,batch_size=16",
    "doe": "doe:epochs=1,batch_size=16",
    "infonet": "infonet:projections=4",
    "sliced": "sliced:projections=4",
}

ALLOWED = (InputError, SpecError)


def _fast_spec(name: str) -> str:
    return FAST.get(name, name)


def _make(name: str):
    kwargs = {"device": "cpu"} if "device" in estimators.registry.defaults(name) else {}
    return estimators.make(_fast_spec(name), **kwargs)


def _loadable() -> list[str]:
    out = []
    for name, cls in estimators.registry.available().items():
        if isinstance(cls, type):
            out.append(name)
    return out


NAMES = _loadable()


def _check(name: str, case: str, call) -> None:
    """Run ``call``; its outcome must be a finite float or an allowed error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = call()
    except ALLOWED as exc:
        assert str(exc).strip(), "an error needs a message"
        return
    except Exception as exc:
        raise AssertionError(
            f"{name} on {case}: {type(exc).__name__}: {exc} (want InputError/SpecError)"
        ) from exc
    assert isinstance(value, float) and np.isfinite(value), f"{name} on {case}: {value!r}"


# -- crafted cases ---------------------------------------------------------------

_rng = np.random.default_rng(0)
_A = _rng.standard_normal((60, 1))
_B = _A + 0.5 * _rng.standard_normal((60, 1))
_BIG = np.finfo(np.float64).max


def _put(arr: np.ndarray, value: float) -> np.ndarray:
    out = arr.copy()
    out[3, 0] = value
    return out


CASES = {
    "nan": (_put(_A, np.nan), _B),
    "inf": (_A, _put(_B, np.inf)),
    "-inf": (_put(_A, -np.inf), _B),
    "huge": (_A * 1e300, _B),
    "huge-point": (_put(_A, _BIG), _put(_B, -_BIG)),
    "tiny": (_A * 1e-300, _B),
    "subnormal": (_A * 5e-324, _B),
    "offset": (_A + 1e16, _B),
    "n0": (_A[:0], _B[:0]),
    "n1": (_A[:1], _B[:1]),
    "n2": (_A[:2], _B[:2]),
    "n3": (_A[:3], _B[:3]),
    "n5": (_A[:5], _B[:5]),
    "constant": (np.ones((60, 1)), _B),
    "duplicated-columns": (np.hstack([_A, _A]), _B),
    "duplicated-rows": (np.repeat(_A[:6], 10, axis=0), np.repeat(_B[:6], 10, axis=0)),
    "binary": ((_A > 0).astype(float), _B),
    "ties": (np.r_[np.zeros((59, 1)), [[1.0]]], _B),
    "identical": (_A, _A.copy()),
    "lengths": (_A, _B[:-1]),
    "3-d": (_A[:, :, None], _B),
    "no-columns": (np.empty((60, 0)), _B),
    "strings": (np.array(["a"] * 60), _B),
    "objects": (np.array([None] * 60), _B),
    "ints": ((_A * 10).astype(int), (_B * 10).astype(int)),
    "lists": (_A[:, 0].tolist(), _B[:, 0].tolist()),
    "scalars": (1.0, 2.0),
}


@pytest.mark.parametrize("name", NAMES)
def test_crafted_bad_samples(name: str) -> None:
    est = _make(name)
    for case, (x, y) in CASES.items():
        label = "huge" if case.startswith("huge") else case
        _check(name, label, lambda x=x, y=y: est.estimate(x, y))


def test_crafted_cases_are_rejected_with_input_error() -> None:
    """The cases every estimator must refuse (shared validator), checked on KSG."""
    est = estimators.make("ksg")
    for case in (
        "nan",
        "inf",
        "-inf",
        "n0",
        "n1",
        "constant",
        "lengths",
        "3-d",
        "no-columns",
        "strings",
        "objects",
        "scalars",
    ):
        x, y = CASES[case]
        with pytest.raises(InputError):
            est.estimate(x, y)


# -- random samples --------------------------------------------------------------

_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, _BIG]),
    st.floats(-10, 10),
)


@st.composite
def sample_pairs(draw):
    n = draw(st.sampled_from([0, 1, 2, 3, 4, 7, 30]))
    dx, dy = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ny = n if draw(st.booleans()) or n == 0 else n - 1
    x = np.array(draw(st.lists(_values, min_size=n * dx, max_size=n * dx))).reshape(n, dx)
    y = np.array(draw(st.lists(_values, min_size=ny * dy, max_size=ny * dy))).reshape(ny, dy)
    if n and draw(st.booleans()):
        x[:, -1] = x[0, 0]  # a constant column
    if dx > 1 and draw(st.booleans()):
        x[:, 1] = x[:, 0]  # a duplicated column
    return x, y


def _case_name(x: np.ndarray, y: np.ndarray) -> str:
    both = np.concatenate([x.ravel(), y.ravel()])
    return "huge" if np.any(np.abs(both[np.isfinite(both)]) > 1e150) else "random"


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report the example as drawn
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(pair=sample_pairs())
def test_random_bad_samples(name: str, pair) -> None:
    x, y = pair
    est = _make(name)
    _check(name, _case_name(x, y), lambda: est.estimate(x, y))


# -- specs -----------------------------------------------------------------------

ABSURD = [
    "-1",
    "0",
    "1",
    "abc",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "true",
    "none",
    "1.5",
    "-0.0",
    "99999999999999999999999",
    "1e-320",
    "",
    "ksg",
    "x" * 300,
    "é",
    "0x10",
]
_text = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + ".-+_ é"), max_size=12
)
_value = st.one_of(st.sampled_from(ABSURD), _text, st.integers(-(10**6), 10**6).map(str))


def _param_case(name: str, key: str, value: str) -> str:
    return f"{key}:long" if len(value) > 255 else key


def _make_spec(registry, make, name: str, key: str, value: str) -> None:
    spec = f"{name}:{key}={value}"
    _check(name, _param_case(name, key, value), lambda: make(spec) and 0.0)


@pytest.mark.parametrize("kind", ["estimators", "tasks"])
@settings(max_examples=100, deadline=None, derandomize=True, phases=[Phase.generate])
@given(data=st.data())
def test_spec_values(kind: str, data) -> None:
    module = estimators if kind == "estimators" else tasks
    name = data.draw(st.sampled_from(sorted(module.registry.names())))
    keys = sorted(module.registry.defaults(name))
    if not keys:
        return
    key = data.draw(st.sampled_from(keys))
    _make_spec(module.registry, module.make, name, key, data.draw(_value))


@pytest.mark.parametrize("kind", ["estimators", "tasks"])
def test_every_parameter_with_every_absurd_value(kind: str) -> None:
    module = estimators if kind == "estimators" else tasks
    for name in module.registry.names():
        for key in module.registry.defaults(name):
            for value in ABSURD:
                _make_spec(module.registry, module.make, name, key, value)


_raw = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("ksgde:=,. 0123456789"), max_size=20),
    st.sampled_from(
        [
            "",
            ":",
            "::",
            "ksg:",
            "ksg:=5",
            "ksg:k",
            "ksg:k=5,k=6",
            "ksg:k=5,,",
            "KSG",
            "ksg:K=5",
            "ksg:k=5:6",
            "\x00",
            "gaussian:n=1,n=2",
        ]
    ),
)


@settings(max_examples=200, deadline=None, derandomize=True, phases=[Phase.generate])
@given(spec=_raw)
def test_raw_spec_strings(spec: str) -> None:
    for make in (estimators.make, tasks.make):
        try:
            make(spec)
        except SpecError as exc:
            assert str(exc)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"{spec!r}: {type(exc).__name__}: {exc}") from exc


@pytest.mark.parametrize("spec", [None, 5, 1.5, ["ksg"], b"ksg"])
def test_non_string_specs(spec) -> None:
    for make in (estimators.make, tasks.make):
        try:
            obj = make(spec)
        except SpecError:
            continue
        assert obj is spec  # objects pass through; the runner checks their type
