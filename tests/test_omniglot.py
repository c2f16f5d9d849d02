"""Omniglot loader (folders, zips, corrupt input), omniglot_smi truth and samples, rank metric."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import tasks
from harness import metrics
from harness.interface import InputError, SpecError
from tasks.omniglot_data import default_root, load_omniglot

Image = pytest.importorskip("PIL.Image")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"
SMALL_COUNTS = {  # characters per alphabet in images_background_small1/2
    "Balinese": 24,
    "Early_Aramaic": 22,
    "Greek": 24,
    "Japanese_(katakana)": 47,
    "Korean": 40,
    "Latin": 26,
    "Sanskrit": 42,
    "Tagalog": 17,
}
SIZES = {"Alpha": 3, "Beta": 4, "Gamma": 5}
DRAWERS = 4


def _gray(a: int, char: int, drawer: int) -> int:
    """A distinct gray level per (alphabet, character, drawer) of the synthetic set."""
    return 10 * (4 * char + drawer) + a  # < 255 for the sizes above


def _make_tree(root: Path) -> Path:
    for a, (alpha, count) in enumerate(SIZES.items()):
        for c in range(count):
            folder = root / "images_background" / alpha / f"character{c + 1:02d}"
            folder.mkdir(parents=True)
            for k in range(DRAWERS):
                img = Image.new("L", (105, 105), _gray(a, c, k))
                img.save(folder / f"{a:02d}{c:02d}_{k + 1:02d}.png")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_tree(tmp_path_factory.mktemp("omniglot_tree"))


def _ink(a: int, c: int, k: int) -> float:
    return 1.0 - _gray(a, c, k) / 255.0


# -- loader --------------------------------------------------------------------------


def test_folder_layout_is_read_in_order(tree: Path) -> None:
    alphas = load_omniglot(tree, size=28)
    assert [a.name for a in alphas] == list(SIZES)
    for a, alpha in enumerate(alphas):
        assert alpha.n_characters == SIZES[alpha.name]
        assert alpha.characters[0] == "character01"
        for c, images in enumerate(alpha.images):
            assert images.shape == (DRAWERS, 28, 28)
            expected = np.array([_ink(a, c, k) for k in range(DRAWERS)], dtype=np.float32)
            np.testing.assert_allclose(images[:, 5, 7], expected, atol=1e-6)
            assert np.ptp(images, axis=(1, 2)).max() == 0.0  # box filter keeps flat images flat


def test_zip_of_the_tree_gives_the_same_arrays(tree: Path, tmp_path: Path) -> None:
    zroot = tmp_path / "z"
    zroot.mkdir()
    with zipfile.ZipFile(zroot / "images_background.zip", "w") as zf:
        for png in sorted((tree / "images_background").rglob("*.png")):
            zf.write(png, png.relative_to(tree).as_posix())
    from_zip, from_dir = load_omniglot(zroot), load_omniglot(tree)
    assert [a.name for a in from_zip] == [a.name for a in from_dir]
    for za, da in zip(from_zip, from_dir, strict=True):
        for zi, di in zip(za.images, da.images, strict=True):
            np.testing.assert_array_equal(zi, di)


def test_a_folder_of_alphabets_reads_as_its_set_folder(tree: Path) -> None:
    direct, as_set = load_omniglot(tree / "images_background"), load_omniglot(tree)
    assert [a.name for a in direct] == list(SIZES)
    for da, sa in zip(direct, as_set, strict=True):
        assert da.characters == sa.characters
        for di, si in zip(da.images, sa.images, strict=True):
            np.testing.assert_array_equal(di, si)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Omniglot subsets not present")
def test_real_small_zips() -> None:
    alphas = load_omniglot(SHARED)
    assert {a.name: a.n_characters for a in alphas} == SMALL_COUNTS  # Greek, Latin read once
    for alpha in alphas:
        assert all(img.shape == (20, 28, 28) for img in alpha.images)
        stack = np.concatenate(alpha.images)
        assert stack.min() >= 0.0 and stack.max() <= 1.0
        assert np.all(stack[:, 0, 0] == 0.0)  # blank corner is background
        assert 0.02 < stack.mean() < 0.2  # strokes cover a small part
    assert default_root().resolve() == SHARED.resolve()


def test_corrupt_archive_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "images_background.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(InputError, match=r"cannot read Omniglot archive .*images_background\.zip"):
        load_omniglot(tmp_path)


def test_corrupt_png_names_the_member(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("set/Alpha/character01/0001_01.png", b"\x89PNG broken")
    with pytest.raises(InputError, match=r"set\.zip:Alpha/character01/0001_01\.png"):
        load_omniglot(tmp_path)


def test_missing_or_empty_root(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_omniglot(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no Omniglot images"):
        load_omniglot(tmp_path)


# -- the task ------------------------------------------------------------------------


def test_truth_is_sum_of_log_characters(tree: Path) -> None:
    task = tasks.make(f"omniglot_smi:root={tree},d=2,choices=3,n=50")
    truths = sorted(task.instance(i, 0).true_mi for i in range(3))
    assert truths == pytest.approx(sorted([math.log(12), math.log(15), math.log(20)]))
    with pytest.raises(SpecError, match="only 3 distinct choices"):
        tasks.make(f"omniglot_smi:root={tree},d=2,choices=4").n_instances()
    with pytest.raises(SpecError, match="d=4 needs 4 alphabets"):
        tasks.make(f"omniglot_smi:root={tree},d=4,choices=1").n_instances()


def test_choices_beyond_the_distinct_ones_are_refused_with_min_chars(tree: Path) -> None:
    # d = 3 of the alphabets of 3, 4, 5 characters with n_i >= 3: 1 * 2 * 3 = 6 choices
    spec = f"omniglot_smi:root={tree},d=3,n=50,min_chars=3"
    with pytest.raises(SpecError, match="only 6 distinct choices .* n_i >= 3; got choices=7"):
        tasks.make(f"{spec},choices=7").n_instances()
    task = tasks.make(f"{spec},choices=6")
    metas = [task.instance(i, 0).meta for i in range(6)]
    used = {
        frozenset(zip(m["alphabets"].split(";"), map(int, m["chars"].split(";")), strict=True))
        for m in metas
    }
    assert used == {
        frozenset({("Alpha", 3), ("Beta", b), ("Gamma", c)}) for b in (3, 4) for c in (3, 4, 5)
    }


def test_an_image_size_that_merges_two_characters_is_refused(tmp_path: Path) -> None:
    # two characters whose images differ only in a detail a 2 x 2 image averages away
    for c in range(2):
        folder = tmp_path / "Alpha" / f"character{c + 1:02d}"
        folder.mkdir(parents=True)
        for k in range(2):
            img = Image.new("L", (105, 105), 40 * k)
            img.putpixel((50, 50), 255 * c)
            img.save(folder / f"{c:02d}_{k + 1:02d}.png")
    assert tasks.make(f"omniglot_smi:root={tmp_path},d=1,choices=1,size=105").n_instances() == 1
    with pytest.raises(SpecError, match="size=2 alphabet 'Alpha' has an image shared by two"):
        tasks.make(f"omniglot_smi:root={tmp_path},d=1,choices=1,size=2").n_instances()


def test_samples_follow_the_successor_construction(tree: Path) -> None:
    task = tasks.make(f"omniglot_smi:root={tree},d=3,choices=1,n=4000,drop_constant=false")
    inst = task.instance(0, seed=2)
    names = inst.meta["alphabets"].split(";")
    assert inst.x.shape == inst.y.shape == (4000, 3 * 784)
    assert inst.true_mi == pytest.approx(sum(math.log(SIZES[a]) for a in names))
    # decode (character, drawer) of each image from its gray level
    for i, alpha in enumerate(names):
        a, n_i = list(SIZES).index(alpha), SIZES[alpha]
        table = {round(_ink(a, c, k), 5): (c, k) for c in range(n_i) for k in range(DRAWERS)}
        u = [table[round(float(v), 5)] for v in inst.x[:, i * 784]]
        w = [table[round(float(v), 5)] for v in inst.y[:, i * 784]]
        j, k = np.array(u).T
        j2, k2 = np.array(w).T
        np.testing.assert_array_equal(j2, (j + 1) % n_i)  # v is the next character
        freq = np.bincount(j, minlength=n_i) / len(j)
        assert np.abs(freq - 1 / n_i).max() < 0.03  # characters uniform
        assert abs(np.corrcoef(k, k2)[0, 1]) < 0.05  # drawers chosen independently
        assert np.bincount(k2, minlength=DRAWERS).min() > 800


def test_determinism_and_fixed_choices(tree: Path) -> None:
    spec = f"omniglot_smi:root={tree},d=2,choices=3,n=100,min_chars=2"
    a, b = tasks.make(spec).instance(1, 5), tasks.make(spec).instance(1, 5)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = tasks.make(spec).instance(1, 6)
    assert c.meta == a.meta and c.true_mi == a.true_mi  # choices do not depend on the seed
    assert not np.array_equal(c.x, a.x)
    chars = [int(k) for k in a.meta["chars"].split(";")]
    assert a.true_mi == pytest.approx(sum(math.log(k) for k in chars))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Omniglot subsets not present")
def test_default_task_on_the_shared_subsets() -> None:
    task = tasks.make("omniglot_smi:n=300")
    assert task.n_instances() == 10
    inst = task.instance(0, 0)
    names = inst.meta["alphabets"].split(";")
    assert len(set(names)) == 4
    assert inst.true_mi == pytest.approx(sum(math.log(SMALL_COUNTS[a]) for a in names))
    assert 1000 < inst.x.shape[1] <= 4 * 784  # blank border pixels dropped
    assert np.ptp(inst.x, axis=0).min() > 0 and np.ptp(inst.y, axis=0).min() > 0
    # choices 1 and 5 use the same n_i in another order: their truths are equal exactly,
    # so a rank metric ties them
    assert sorted(task.choice(1)[1]) == sorted(task.choice(5)[1])
    assert task.choice(1)[1] != task.choice(5)[1]
    assert task.truth(1) == task.truth(5)
    for index in (-1, 10):
        with pytest.raises(IndexError, match="has 10 choices"):
            task.choice(index)


# -- rank metric ---------------------------------------------------------------------


def test_rank_table_matches_scipy_and_least_squares() -> None:
    rng = np.random.default_rng(0)
    t = rng.uniform(10, 16, 40)
    e = 0.013 * t + rng.normal(0, 0.004, 40)
    df = pd.DataFrame(
        {"label": "est", "status": "ok", "d": 4, "true_mi": t, "estimate": e, "seconds": 0.0}
    )
    row = metrics.rank_table(df).loc[("est", 4)]
    assert row["spearman"] == pytest.approx(spearmanr(e, t).statistic, abs=1e-12)
    c = np.linalg.lstsq(t[:, None], e, rcond=None)[0][0]
    assert row["c"] == pytest.approx(c, rel=1e-12)
    assert row["scale"] == pytest.approx(1 / c, rel=1e-12)
    assert row["rescaled_mae"] == pytest.approx(np.abs(e / c - t).mean(), rel=1e-12)
    assert row["count"] == 40


def test_rank_table_on_the_papers_table5() -> None:
    truth = [11.69, 12.16, 13.21, 13.51, 14.19, 14.28, 15.41]
    smi = [0.164, 0.167, 0.177, 0.178, 0.189, 0.190, 0.199]
    df = pd.DataFrame(
        {
            "task": "omniglot_smi",
            "label": "infonet",
            "status": "ok",
            "seconds": 0.0,
            "seed": 0,
            "d": 4,
            "true_mi": truth,
            "estimate": smi,
            "choice": range(7),
        }
    )
    df["error"] = df["estimate"] - df["true_mi"]
    views = metrics.summarize(df)  # the task class asks for the "rank" view
    row = views["rank"].loc[("infonet", 4)]
    assert row["spearman"] == 1.0
    assert row["scale"] == pytest.approx(74.7, rel=0.005)  # the paper's constant
    assert row["rescaled_mae"] < 0.3  # the paper's rescaled values are off by 0.25 on average
    assert "rank agreement" in metrics.format_summary(views)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Omniglot subsets not present")
def test_download_keeps_a_verified_file_without_fetching(tmp_path: Path) -> None:
    import shutil

    from tasks.omniglot_data import download

    name = "images_background_small1.zip"
    shutil.copy(SHARED / name, tmp_path / name)
    assert download(tmp_path, names=[name]) == [tmp_path / name]  # digest matches: no network
    with pytest.raises(SpecError, match="unknown Omniglot file"):
        download(tmp_path, names=["images_other.zip"])
