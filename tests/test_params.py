"""The shared parameter checks (harness.params) and their use by every built-in estimator."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

import estimators
import tasks._params
from harness import params
from harness.interface import SpecError
from harness.params import (
    check_bool,
    check_choice,
    check_device,
    check_int,
    check_number,
    check_optional_int,
    check_seed,
)

NOT_NUMBERS = [True, False, np.bool_(True), "1", None, [1], object(), complex(1, 0)]


def _raises(fragment: str, value):
    """``pytest.raises`` for a SpecError naming the owner, the parameter and ``value``."""
    return pytest.raises(SpecError, match=rf"^own: {fragment}.*; got {re.escape(repr(value))}$")


# -- check_int -------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 7, 10, np.int64(7), np.uint8(7), np.int32(1)])
def test_check_int_accepts_integers_in_range(value):
    out = check_int("own", "n", value, 1, 10)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize(
    "value", [0, 11, -5, 2.0, np.float64(3.0), "3", True, np.bool_(True), None, 10**30]
)
def test_check_int_rejects(value):
    with _raises(r"n must be an integer in \[1, 10\]", value):
        check_int("own", "n", value, 1, 10)


def test_check_int_default_maximum_and_no_maximum():
    assert check_int("own", "n", params.MAX_INT, 0) == 10**9
    with _raises(r"n must be an integer in \[0, 1000000000\]", 10**9 + 1):
        check_int("own", "n", 10**9 + 1, 0)
    assert check_int("own", "n", 10**30, 0, maximum=None) == 10**30
    with _raises("n must be an integer >= 2", 1):
        check_int("own", "n", 1, 2, maximum=None)


def test_tasks_reexport_the_shared_check_int():
    assert tasks._params.check_int is check_int
    assert tasks._params.MAX_INT == params.MAX_INT


# -- check_optional_int ----------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(None, None), (1, 1), (np.int16(4), 4)])
def test_check_optional_int_accepts(value, expected):
    assert check_optional_int("own", "threads", value, 1, maximum=None) == expected


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, np.nan])
def test_check_optional_int_rejects(value):
    with _raises("threads must be an integer >= 1 or None", value):
        check_optional_int("own", "threads", value, 1, maximum=None)


# -- check_seed ------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 2**63 - 1, np.int64(5), np.uint64(2**63 - 1)])
def test_check_seed_accepts(value):
    out = check_seed("own", value)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("value", [-1, 2**63, 2**70, 1.0, "x", "0", True, np.bool_(False), None])
def test_check_seed_rejects(value):
    with _raises(r"seed must be an integer in \[0, 2\*\*63\)", value):
        check_seed("own", value)


# -- check_number ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (0.5, 0.5),
        (1, 1.0),
        (np.float32(0.25), 0.25),
        (np.float64(1e-3), 1e-3),
        (np.int64(1), 1.0),
        (Fraction(1, 4), 0.25),
    ],
)
def test_check_number_accepts_real_numbers(value, expected):
    out = check_number("own", "x", value, low=0, high=1, low_open=True)
    assert out == expected and type(out) is float


@pytest.mark.parametrize(
    "value", [*NOT_NUMBERS, math.nan, np.float32(np.nan), math.inf, -math.inf, 10**400]
)
def test_check_number_rejects_non_finite_and_non_numbers(value):
    with _raises("x must be a finite number", value):
        check_number("own", "x", value)


@pytest.mark.parametrize(
    "kwargs, bad, good, phrase",
    [
        ({"low": 0}, -1e-12, 0.0, ">= 0"),
        ({"low": 0, "low_open": True}, 0.0, 1e-300, "> 0"),
        ({"high": 2.5}, 2.5000001, 2.5, "<= 2.5"),
        ({"high": 2.5, "high_open": True}, 2.5, 2.4, "< 2.5"),
        ({"low": 0, "high": 1, "low_open": True}, 0, 1, r"in \(0, 1\]"),
        ({"low": 0, "high": 1, "high_open": True}, 1, 0, r"in \[0, 1\)"),
        ({"low": 1e-5, "high": 1}, 1e-6, 1e-5, r"in \[1e-05, 1\]"),
    ],
)
def test_check_number_bounds(kwargs, bad, good, phrase):
    assert check_number("own", "x", good, **kwargs) == good
    with _raises(f"x must be a finite number {phrase}", bad):
        check_number("own", "x", bad, **kwargs)


def test_check_number_allow_inf():
    assert check_number("own", "x", math.inf, low=0, low_open=True, allow_inf=True) == math.inf
    for value in (math.nan, -math.inf, 0, "inf"):
        with _raises("x must be a number > 0", value):
            check_number("own", "x", value, low=0, low_open=True, allow_inf=True)


# -- check_bool ------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False)])
def test_check_bool_accepts(value):
    out = check_bool("own", "flag", value)
    assert out is bool(value)


@pytest.mark.parametrize("value", [1, 0, np.int64(1), 1.0, "true", "", None])
def test_check_bool_rejects(value):
    with _raises("flag must be true or false", value):
        check_bool("own", "flag", value)


# -- check_choice ----------------------------------------------------------------


def test_check_choice_accepts_and_returns_the_choice():
    assert check_choice("own", "mode", "b", ("a", "b")) == "b"
    assert check_choice("own", "mode", np.str_("a"), ("a", "b")) == "a"
    out = check_choice("own", "variant", np.int64(2), (1, 2))
    assert out == 2 and type(out) is int


@pytest.mark.parametrize("value", [3, 0, True, 1.0, np.float64(2.0), "1", None, [1]])
def test_check_choice_rejects_other_values_and_kinds(value):
    with _raises("variant must be 1 or 2", value):
        check_choice("own", "variant", value, (1, 2))


def test_check_choice_lists_the_choices():
    with _raises("mode must be 'a', 'b' or 'c'", "d"):
        check_choice("own", "mode", "d", ("a", "b", "c"))
    with _raises("mode must be 'a'", "A"):
        check_choice("own", "mode", "A", ("a",))


# -- check_device ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", np.str_("cpu")])
def test_check_device_accepts(value):
    out = check_device("own", value)
    assert out == value and type(out) is str


@pytest.mark.parametrize(
    "value", ["tpu", "CPU", "cudafoo", "cuda:", "cuda:x", "cuda:-1", " cpu", "", None, 0, True]
)
def test_check_device_rejects(value):
    with _raises(r"device must be 'auto', 'cpu', 'cuda' or 'cuda:i'", value):
        check_device("own", value)


# -- stored parameters read back, and a value for a reader ------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"k":5,"noise":1e-10}', {"k": 5, "noise": 1e-10}),
        ({"k": 5}, {"k": 5}),  # already read
        ("", {}),
        (None, {}),
        (math.nan, {}),  # a missing cell of a frame
        ("{not json", {}),
        ("[1, 2]", {}),  # JSON, but not an object
    ],
)
def test_stored_params(text, expected):
    assert params.stored_params(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, "true"),
        (np.bool_(False), "false"),
        (2000.0, "2000"),
        (np.float64(0.5), "0.5"),
        (1 / 3, "0.333333"),
        (1e-10, "1e-10"),
        (7, "7"),
        ("cubic", "cubic"),
        (None, "None"),
    ],
)
def test_value_text(value, expected):
    assert params.value_text(value) == expected


# -- every built-in estimator ----------------------------------------------------

PARAMS = [
    (name, key)
    for name in sorted(estimators.BUILTINS)
    for key in estimators.registry.defaults(name)
]
SEEDED = [name for name, key in PARAMS if key == "seed"]


def test_every_builtin_estimator_has_parameters():
    assert {name for name, _ in PARAMS} == set(estimators.BUILTINS)
    assert set(SEEDED) == set(estimators.BUILTINS) - {"kde"}


@pytest.mark.parametrize(("name", "key"), PARAMS, ids=[f"{n}-{k}" for n, k in PARAMS])
def test_every_parameter_rejects_a_non_value_by_name(name, key):
    with pytest.raises(SpecError, match=rf"^{name}: {key} must"):
        estimators.make(name, **{key: object()})


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "true", str(2**63)])
@pytest.mark.parametrize("name", SEEDED)
def test_every_seed_rejects_bad_values_in_a_spec(name, value):
    with pytest.raises(SpecError, match=rf"^{name}: seed must be an integer in \[0, 2\*\*63\)"):
        estimators.make(f"{name}:seed={value}")


@pytest.mark.parametrize("name", SEEDED)
def test_every_seed_accepts_the_largest_seed(name):
    assert estimators.make(f"{name}:seed={2**63 - 1}").seed == 2**63 - 1
