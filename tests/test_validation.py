"""The shared input validator: each kind of bad sample gets one clear InputError."""

from __future__ import annotations

import numpy as np
import pytest

from harness.interface import MIN_ABS_VALUE, InputError, validate_samples

RNG = np.random.default_rng(0)
X = RNG.standard_normal(50)
Y = X + RNG.standard_normal(50)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (X + 2j * Y, r"x holds complex values .* got dtype complex128"),
        (np.ma.masked_less(X, -1.0), r"x is a masked array with \d+ masked entries"),
        (X.astype(str), "x holds strings"),
        (np.arange(50).astype("datetime64[s]"), "x holds datetimes"),
        (np.arange(50).astype("timedelta64[s]"), "x holds timedeltas"),
        # distinct integers that float64 would merge
        (np.arange(50, dtype=np.int64) + 2**60, r"integers beyond 2\*\*53"),
        (-(np.arange(50, dtype=np.int64) + 2**60), r"integers beyond 2\*\*53"),
        # squares underflow: a variance of 0 where the data vary
        (X * 1e-200, r"x column 0 holds values only up to .* below 1e-150"),
        (np.c_[X, X * 1e-160], "x column 1 holds values only up to"),
        ([[1.0, 2.0], [3.0]] * 25, "x must be numeric; could not convert"),  # ragged rows
        (np.array([object(), 1.0] * 25, dtype=object), "x must be numeric"),
    ],
)
def test_refused_samples(x, match):
    with pytest.raises(InputError, match=match):
        validate_samples(x, Y)


def test_accepted_samples_convert_exactly():
    masked = np.ma.masked_array(X, mask=np.zeros(50, bool))  # nothing masked
    np.testing.assert_array_equal(validate_samples(masked, Y)[0][:, 0], X)
    ints = np.arange(50, dtype=np.int64) * 3 + 2**52
    np.testing.assert_array_equal(validate_samples(ints, Y)[0][:, 0], ints.astype(float))
    small = X * 10 * MIN_ABS_VALUE  # just above the limit
    np.testing.assert_array_equal(validate_samples(small, Y)[0][:, 0], small)
    bools = np.arange(50) % 2 == 0
    np.testing.assert_array_equal(validate_samples(bools, Y)[0][:, 0], bools.astype(float))
    # an all-zero column is constant, not tiny
    with pytest.raises(InputError, match="column 0 is constant"):
        validate_samples(np.zeros(50), Y)


def test_none_and_transposed_samples_are_named_as_such() -> None:
    x = np.arange(500.0)[None, :]
    with pytest.raises(
        InputError, match=r"got 1; x has shape \(1, 500\) and y has shape \(1, 500\): samples are"
    ):
        validate_samples(x, x.copy(), min_samples=6)
    with pytest.raises(InputError, match="^x is None; pass an array"):
        validate_samples(None, np.arange(5.0))
