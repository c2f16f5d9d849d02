"""benchmarks.omniglot_slices: exact moments and slice correlations of omniglot_smi,
checked against large samples the task itself draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tasks
from benchmarks.omniglot_slices import (
    choice_moments,
    gaussian_slice_mi,
    limit_slice_mi,
    slice_correlations,
)
from estimators.sliced import random_directions

Image = pytest.importorskip("PIL.Image")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"
SIDE = 4
CHARS = {"Alpha": 3, "Beta": 4}
DRAWERS = 5


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two alphabets of 105x105 images whose 4x4 blocks have random ink levels: the
    character sets the pattern, each drawer perturbs it."""
    root = tmp_path_factory.mktemp("omniglot_patterns")
    rng = np.random.default_rng(7)
    for alpha, count in CHARS.items():
        for c in range(count):
            pattern = rng.integers(0, 200, (SIDE, SIDE))
            folder = root / "images_background" / alpha / f"character{c + 1:02d}"
            folder.mkdir(parents=True)
            for k in range(DRAWERS):
                levels = np.clip(pattern + rng.integers(0, 50, (SIDE, SIDE)), 0, 255)
                pixels = np.kron(levels, np.ones((27, 27)))[:105, :105].astype(np.uint8)
                Image.fromarray(pixels, mode="L").save(folder / f"{c:02d}_{k + 1:02d}.png")
    return root


def _task(root: Path, n: int):
    return tasks.make(
        f"omniglot_smi:root={root},d=2,choices=1,n={n},size={SIDE},drop_constant=false"
    )


def _blocks(task) -> list:
    return choice_moments(task, 0)


def test_moments_match_a_large_sample(tree: Path) -> None:
    task = _task(tree, 200_000)
    inst = task.instance(0, seed=1)
    px = SIDE * SIDE
    for i, (cov_u, cov_uv) in enumerate(_blocks(task)):
        u = inst.x[:, i * px : (i + 1) * px]
        v = inst.y[:, i * px : (i + 1) * px]
        sample = np.cov(np.hstack([u, v]).T)
        scale = np.abs(cov_u).max()
        assert np.abs(sample[:px, :px] - cov_u).max() < 0.02 * scale
        assert np.abs(sample[px:, px:] - cov_u).max() < 0.02 * scale  # V has U's marginal
        assert np.abs(sample[:px, px:] - cov_uv).max() < 0.02 * scale
        # the successor construction makes U and V dependent through the character
        assert np.abs(cov_uv).max() > 0.2 * scale
    # alphabets are independent: the off-diagonal block is zero up to sampling noise
    cross = np.cov(inst.x[:, :px].T, inst.x[:, px:].T)[:px, px:]
    assert np.abs(cross).max() < 0.02 * scale


def test_slice_correlations_match_the_sample_correlations(tree: Path) -> None:
    task = _task(tree, 200_000)
    inst = task.instance(0, seed=2)
    r = slice_correlations(_blocks(task), projections=50, seed=3)
    rng = np.random.default_rng(3)  # the same directions, drawn as the function draws them
    theta = random_directions(50, inst.x.shape[1], rng)
    phi = random_directions(50, inst.y.shape[1], rng)
    a, b = inst.x @ theta.T, inst.y @ phi.T
    sample_r = np.array([np.corrcoef(a[:, i], b[:, i])[0, 1] for i in range(50)])
    assert np.abs(sample_r - r).max() < 0.01  # sampling sd about 1 / sqrt(n) = 0.002
    assert np.abs(r).max() > 0.1  # and the slices are dependent


def test_rows_carry_truth_and_both_slice_measures(tree: Path) -> None:
    task = _task(tree, 10)
    (row,) = gaussian_slice_mi(task, projections=400, seed=0)
    assert row["truth"] == pytest.approx(np.log(3) + np.log(4))
    assert row["chars"] in ("3;4", "4;3")
    r = slice_correlations(_blocks(task), 400, 0)
    assert row["gaussian_smi"] == pytest.approx(np.mean(-0.5 * np.log1p(-(r**2))))
    assert row["limit_smi"] == pytest.approx(limit_slice_mi(_blocks(task)))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Omniglot subsets not present")
def test_limit_agrees_with_many_slices_in_high_dimension() -> None:
    task = tasks.make("omniglot_smi:d=4,choices=2")
    for index in range(2):
        blocks = choice_moments(task, index)
        r = slice_correlations(blocks, projections=4000, seed=index)
        # 3,136 dimensions: the slice variances concentrate, so the mean of r^2 / 2
        # over directions is the Frobenius ratio to within the directions' noise
        assert np.mean(r**2) / 2 == pytest.approx(limit_slice_mi(blocks), rel=0.1)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Omniglot subsets not present")
def test_cli_writes_a_csv_whose_task_spec_keeps_its_commas(tmp_path: Path, monkeypatch) -> None:
    import csv

    from benchmarks.sliced_ceiling import main

    out = tmp_path / "omni.csv"
    spec = "omniglot_smi:d=4,choices=3"
    argv = ["sliced_ceiling", "omniglot", "--task", spec, "--out", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    assert main() == 0
    rows = list(csv.DictReader(out.open()))
    committed = Path(__file__).resolve().parents[1] / "benchmarks/results/omniglot_slices.csv"
    assert list(rows[0]) == committed.read_text().splitlines()[0].split(",")
    assert [r["task"] for r in rows] == [spec] * 3
    assert all(0 < float(r["gaussian_smi"]) < 0.001 for r in rows)  # four significant digits
