"""Stored GMM task sets: packing, files, the builder, the shipped sets and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tasks
from ground_truth.cache import find_sets, load_set, read_record, save_set
from ground_truth.monte_carlo import gmm_mi, gmm_mi_pairs
from harness.cli import main as cli_main
from harness.interface import SpecError
from tasks import build, gmm_levels, gmm_order
from tasks.build import build_levels, build_order, build_task_set
from tasks.gmm import DATA_DIR, load_gmm_set, pack_gmms, random_gmm, round_trip, unpack_gmm


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """Point the user cache at an empty folder so only the shipped sets are found."""
    monkeypatch.setenv("MI_HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tasks"


# --------------------------------------------------------------------------
# Packing and files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_pack_unpack_round_trip(dim):
    rng = np.random.default_rng(dim)
    gmms = [random_gmm(rng, dim=dim) for _ in range(5)]
    arrays = pack_gmms(gmms)
    assert (
        arrays["weights"].dtype == arrays["means"].dtype == arrays["cov_triu"].dtype == np.float32
    )
    assert arrays["cov_triu"].shape == (sum(g.k for g in gmms), dim * (dim + 1) // 2)
    for i, g in enumerate(gmms):
        back = unpack_gmm(arrays, i)
        assert back.k == g.k and back.dim == dim
        np.testing.assert_allclose(back.covs, g.covs, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(back.means, g.means, rtol=1e-6)
        np.testing.assert_allclose(back.weights, g.weights, rtol=1e-6)
        # Decoding is exact: what is stored is what the truth was computed on.
        again = round_trip(back)
        for a, b in ((again.covs, back.covs), (again.means, back.means)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(back.covs, np.swapaxes(back.covs, 1, 2))


def test_save_and_load_set_round_trip(tmp_path):
    arrays = {"a": np.arange(5, dtype=np.int16), "b": np.linspace(0, 1, 7).astype(np.float32)}
    record = {"task": "demo", "n_rows": 5, "nested": {"x": [1, 2]}}
    path = save_set(tmp_path / "demo_5", arrays, record)
    assert path.name == "demo_5.npz" and path.with_suffix(".json").is_file()
    back, rec = load_set(path)
    assert rec == record and read_record(path) == record
    assert set(back) == {"a", "b"}
    for k in arrays:
        np.testing.assert_array_equal(back[k], arrays[k])
        assert back[k].dtype == arrays[k].dtype
    with pytest.raises(ValueError, match="object"):
        save_set(tmp_path / "bad", {"o": np.array([{}], dtype=object)}, {})


def test_find_sets_skips_unreadable_files(tmp_path):
    save_set(tmp_path / "demo_1", {"a": np.zeros(1)}, {"task": "demo"})
    (tmp_path / "demo_2.npz").write_bytes(b"not a zip file")
    found = find_sets([tmp_path, tmp_path / "missing"], "demo_*.npz")
    assert [p.name for p, _ in found] == ["demo_1.npz"]


@pytest.mark.parametrize("sidecar", [False, True])
def test_a_truncated_set_in_the_cache_does_not_block_the_shipped_one(empty_cache, sidecar):
    # a cut copy still starts like a zip (numpy raises BadZipFile); with a valid .json
    # beside it, it is even the smallest usable set and is tried first
    empty_cache.mkdir(parents=True)
    for task, count in (("gmm_levels", "per_level"), ("gmm_order", "per_k")):
        shipped = sorted(DATA_DIR.glob(f"{task}_*.npz"))[0]
        cut = empty_cache / f"{task}_5.npz"
        cut.write_bytes(shipped.read_bytes()[:5000])
        if sidecar:
            rec = json.loads(shipped.with_suffix(".json").read_text())
            cut.with_suffix(".json").write_text(json.dumps({**rec, count: 5}))
        t = tasks.make(f"{task}:{count}=2,n=20")
        assert t.set_path().name == shipped.name
        assert t.instance(0, 0).x.shape == (20, 1)


# --------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------


def test_build_levels_small_set_and_prefix_property():
    arrays, rec = build_levels(2, seed=3, levels=(0.3, 0.5))
    assert rec["n_rows"] == 4 and rec["per_level"] == 2 and rec["levels"] == [0.3, 0.5]
    assert rec["max_se"] < 0.003 and rec["candidates"] >= 4 and rec["timing"]["wall_seconds"] >= 0
    assert np.all(np.abs(arrays["mi"] - arrays["level"]) <= 0.02)
    assert np.all(arrays["se"] < 0.003)
    assert np.all(arrays["n_mc"] >= 1000)
    json.dumps(rec)  # the record is plain JSON
    # A smaller build with the same seed is a prefix of this one, mixture for mixture.
    small, _ = build_levels(1, seed=3, levels=(0.3, 0.5))
    for lv in (0.3, 0.5):
        i_small = np.flatnonzero(small["level"] == lv)[0]
        i_big = np.flatnonzero(arrays["level"] == lv)[0]
        assert small["candidate"][i_small] == arrays["candidate"][i_big]
        assert small["mi"][i_small] == arrays["mi"][i_big]
        a, b = unpack_gmm(small, int(i_small)), unpack_gmm(arrays, int(i_big))
        np.testing.assert_array_equal(a.covs, b.covs)


def test_build_order_small_set():
    arrays, rec = build_order(2, seed=4, ks=(1, 3))
    assert rec["n_rows"] == 4 and rec["ks"] == [1, 3] and rec["min_gap"] == 0.02
    assert list(arrays["k"]) == [1, 1, 3, 3]
    assert arrays["mi"].shape == arrays["se"].shape == (4, 2)
    assert np.all(np.abs(arrays["mi"][:, 0] - arrays["mi"][:, 1]) >= 0.02)
    assert np.all(arrays["se"] < 0.003)
    # The stored truth is reproduced by an independent Monte Carlo run.
    for i in range(4):
        g = unpack_gmm(arrays, i)
        est, se = gmm_mi_pairs(g.weights, g.means, g.covs, [([0], [1]), ([0], [2])], 100_000, 99)
        assert np.all(np.abs(est - arrays["mi"][i]) <= 4 * np.hypot(se, arrays["se"][i]))


def test_build_task_set_rejects_wrong_options():
    with pytest.raises(SpecError, match="buildable: gmm_levels, gmm_order"):
        build_task_set("gaussian", per_level=1)
    with pytest.raises(SpecError, match="per-k"):
        build_task_set("gmm_levels", per_k=3)
    with pytest.raises(SpecError, match=">= 1"):
        build_task_set("gmm_order", per_k=0)


def test_build_task_set_checks_the_output_and_gap_before_building(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the build started before its options were checked")

    monkeypatch.setattr(build, "build_levels", never)
    monkeypatch.setattr(build, "build_order", never)
    a_file = tmp_path / "taken"
    a_file.write_text("")
    with pytest.raises(SpecError, match="cannot write the task set to"):
        build_task_set("gmm_levels", per_level=1, out_dir=a_file)
    with pytest.raises(SpecError, match="cannot write the task set to"):
        build_task_set("gmm_levels", per_level=1, out_dir=a_file / "below")
    for gap in (-1.0, float("nan"), "0.1"):
        with pytest.raises(SpecError, match="min_gap must be a number >= 0"):
            build_task_set("gmm_order", per_k=1, min_gap=gap, out_dir=tmp_path)


def test_cli_build_then_task_uses_the_cached_set(empty_cache, capsys):
    assert cli_main(["tasks", "build", "gmm_order", "--per-k", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert "gmm_order: 10 mixtures (1 per K" in out and str(empty_cache) in out
    built = empty_cache / "gmm_order_1.npz"
    assert built.is_file() and built.with_suffix(".json").is_file()
    task = tasks.make("gmm_order:per_k=1")
    assert task.set_path() == built  # the smallest usable set wins
    # Same seed, same builder: the new set is the shipped set's prefix.
    ref_path = DATA_DIR / "gmm_order_200.npz"
    ref, _ = load_gmm_set(ref_path)
    new, _ = load_gmm_set(built)
    for i in range(10):
        j = np.flatnonzero((ref["k"] == new["k"][i]) & (ref["candidate"] == new["candidate"][i]))
        assert j.size == 1
        np.testing.assert_allclose(ref["mi"][j[0]], new["mi"][i], rtol=0, atol=1e-9)
    assert cli_main(["tasks", "list"]) == 0
    assert "gmm_order_1.npz" in capsys.readouterr().out


def test_cli_build_reports_bad_options_in_one_line(capsys):
    assert cli_main(["tasks", "build", "gmm_levels", "--per-k", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


# --------------------------------------------------------------------------
# The shipped sets
# --------------------------------------------------------------------------


def test_shipped_files_are_small():
    files = sorted(DATA_DIR.glob("gmm_*"))
    assert {f.name for f in files} >= {
        "gmm_levels_100.npz",
        "gmm_levels_100.json",
        "gmm_order_200.npz",
        "gmm_order_200.json",
    }
    assert sum(f.stat().st_size for f in files) < 5 * 2**20


def test_shipped_levels_set():
    arrays, rec = load_gmm_set(DATA_DIR / "gmm_levels_100.npz")
    assert rec["task"] == "gmm_levels" and rec["build_seed"] == 0
    assert rec["builder_version"] == gmm_levels.BUILDER_VERSION
    assert (
        rec["per_level"] == 100
        and rec["n_rows"] == 1000
        and rec["levels"] == list(gmm_levels.LEVELS)
    )
    assert rec["max_se"] < 0.003 and float(arrays["se"].max()) == pytest.approx(rec["max_se"])
    assert arrays["weights"].dtype == np.float32 and arrays["means"].shape[1] == 2
    assert np.all(np.abs(arrays["mi"] - arrays["level"]) <= 0.02)
    counts = np.unique(arrays["level"], return_counts=True)[1]
    assert list(counts) == [100] * 10
    assert arrays["k"].min() >= 1 and arrays["k"].max() <= 20
    # Re-check three stored truths with an independent Monte Carlo run.
    for i in (0, 500, 999):
        g = unpack_gmm(arrays, i, arrays["offsets"])
        est, se = gmm_mi(g.weights, g.means, g.covs, dim_x=1, n_samples=200_000, rng=1234 + i)
        assert abs(est - arrays["mi"][i]) <= 4 * np.hypot(se, arrays["se"][i])


def test_shipped_order_set():
    arrays, rec = load_gmm_set(DATA_DIR / "gmm_order_200.npz")
    assert rec["task"] == "gmm_order" and rec["build_seed"] == 0
    assert rec["builder_version"] == gmm_order.BUILDER_VERSION
    assert rec["per_k"] == 200 and rec["n_rows"] == 2000 and rec["ks"] == list(gmm_order.KS)
    assert rec["min_gap"] == 0.02 and rec["max_se"] < 0.003
    assert arrays["means"].shape[1] == 3 and arrays["mi"].shape == (2000, 2)
    assert np.all(np.abs(arrays["mi"][:, 0] - arrays["mi"][:, 1]) >= 0.02)
    assert list(np.unique(arrays["k"], return_counts=True)[1]) == [200] * 10
    # Both members are equally often the larger one (coordinates are exchangeable).
    frac = np.mean(arrays["mi"][:, 0] > arrays["mi"][:, 1])
    assert 0.45 < frac < 0.55
