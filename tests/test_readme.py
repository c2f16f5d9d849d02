"""The README's "Your own estimator" example runs as written and scores as it should."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "class GaussianPlugIn" in b]
    return code


def test_own_estimator_example_runs_beside_the_field(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    monkeypatch.setenv("MI_HARNESS_STORE", str(tmp_path / "runs.sqlite"))
    namespace: dict = {"__name__": "__main__"}
    exec(compile(_example(), str(README), "exec"), namespace)
    df = namespace["df"]
    assert set(df["label"]) == {"gauss_plugin:shrink=0.05", "ksg", "infonet"}
    assert (df["status"] == "ok").all() and len(df) == 3 * 50 * 2
    plugin = namespace["GaussianPlugIn"]
    # the plug-in is exact for a Gaussian sample correlation: check its numbers directly
    x = np.random.default_rng(0).normal(size=(500, 1))
    y = 0.6 * x + 0.8 * np.random.default_rng(1).normal(size=(500, 1))
    r = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
    assert plugin().estimate(x, y) == pytest.approx(-0.5 * np.log(1 - r * r), rel=1e-12)
    assert plugin(shrink=0.5).estimate(x, y) < plugin().estimate(x, y)
    # the table it prints has one column per estimator and one row per MI level
    out = capsys.readouterr().out
    assert "gauss_plugin:shrink=0.05" in out and "0.9" in out
