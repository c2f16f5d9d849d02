"""benchmarks.mixture_errors: mixture shapes and per-mixture errors, against known values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.mixture_errors import correlations, mixture_errors, mixture_shape
from tasks.gmm import GMM


def test_mixture_shape_of_a_needle_and_a_round_component():
    d = np.array([[2.0], [1.0]])
    needle = d @ d.T + 0.01 * np.eye(2)  # short axis: sd 0.1 exactly
    gmm = GMM(
        weights=np.array([0.3, 0.7]),
        means=np.zeros((2, 2)),
        covs=np.stack([needle, np.eye(2)]),
    )
    shape = mixture_shape(gmm)
    assert shape["K"] == 2 and shape["min_sd"] == pytest.approx(0.1)
    assert shape["needle_weight"] == pytest.approx(0.3)
    rho = 2.0 / np.sqrt(4.01 * 1.01)
    assert shape["mean_abs_rho"] == pytest.approx(0.3 * rho)


def test_mixture_errors_average_seeds_and_rank_by_shape():
    from tasks.gmm_levels import GMMLevels

    task = GMMLevels(levels=(0.5, 0.9), per_level=6)
    short = np.array([mixture_shape(task.mixture(i))["min_sd"] for i in range(12)])
    rows = []
    for i in range(12):
        inst = task.instance(i, 0)
        for seed, noise in ((0, 0.01), (1, -0.01)):  # the seeds' noise averages out
            rows.append(
                {
                    "label": "est",
                    "status": "ok",
                    "task": "gmm_levels",
                    "task_params": json.dumps({"levels": [0.5, 0.9], "per_level": 6}),
                    "instance_index": i,
                    "seed": seed,
                    "level": inst.meta["level"],
                    "true_mi": inst.true_mi,
                    "error": 0.1 - short[i] + noise,  # the thinner, the higher
                }
            )
    per = mixture_errors(pd.DataFrame(rows), "est")
    assert per["seeds"].eq(2).all()
    assert per["error"].to_numpy() == pytest.approx(0.1 - short)
    assert per.groupby("level")["off_level"].sum().abs().max() < 1e-12
    assert correlations(per).loc["min_sd", "error"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="no ok rows of 'other'"):
        mixture_errors(pd.DataFrame(rows), "other")
