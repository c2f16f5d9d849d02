"""The SQLite results store: round trips, resolution, exports, errors."""

from __future__ import annotations

import json
import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import results
from results.schema import RESULT_FIELDS, cell_key, dumps, jsonable
from results.store import Store, StoreError


def _record(run_id: str, created: str = "2025-01-01T00:00:00.000+00:00") -> dict:
    return {
        "run_id": run_id,
        "created": created,
        "command": "python -m harness run --estimators a,b --task t",
        "argv": ["python", "-m", "harness", "run"],
        "task": "t",
        "task_params": {"n": 10},
        "estimators": [
            {"name": "a", "params": {}, "label": "a"},
            {"name": "b", "params": {"k": 2}, "label": "b:k=2"},
        ],
        "seeds": [0, 1],
        "n": 10,
        "versions": {"numpy": np.__version__},
        "git_commit": "0" * 40,
        "git_dirty": 0,
        "host": "testhost",
        "status": "running",
    }


def _row(run_id: str, label: str, seed: int, index: int, **kw) -> dict:
    row = {f: None for f in RESULT_FIELDS}
    est = label.split(":")[0]
    row.update(
        run_id=run_id,
        cell_key=cell_key(est, {}, "t", {"n": 10}, index, seed) + label,
        attempt=1,
        label=label,
        estimator=est,
        estimator_params="{}",
        task="t",
        task_params='{"n":10}',
        instance_id=f"i{index}",
        instance_index=index,
        seed=seed,
        n_samples=10,
        dim_x=1,
        dim_y=1,
        true_mi=0.25 * index,
        true_mi_se=0.0,
        estimate=0.25 * index + 0.01 * seed,
        error=0.01 * seed,
        seconds=0.5,
        device="cpu",
        status="ok",
        meta=json.dumps({"level": 0.25 * index, "K": index + 1}),
        session=1,
        git_commit="0" * 40,
        git_dirty=0,
        harness_version="0.1.0",
        host="testhost",
    )
    row.update(kw)
    return row


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "s.sqlite")
    st.create_run(_record("20250101-000000-aaaa"))
    yield st
    st.close()


def test_store_uses_wal_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "r.sqlite"
    with Store(path) as st:
        mode = st._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert path.exists()


def test_rows_round_trip_in_grid_order(store: Store) -> None:
    rid = "20250101-000000-aaaa"
    # appended out of grid order (as workers finish)
    rows = [
        _row(rid, "b:k=2", 1, 0),
        _row(rid, "a", 0, 1),
        _row(rid, "b:k=2", 0, 0, status="failed", estimate=None, error=None, message="X: y"),
        _row(rid, "a", 0, 0),
    ]
    store.append(rows)
    got = store.rows(rid)
    order = [(r["seed"], r["instance_index"], r["label"]) for r in got]
    assert order == [(0, 0, "a"), (0, 0, "b:k=2"), (0, 1, "a"), (1, 0, "b:k=2")]
    by_key = {r["cell_key"]: r for r in rows}
    for r in got:
        assert r == {k: by_key[r["cell_key"]][k] for k in RESULT_FIELDS}


def test_latest_attempt_wins_and_all_attempts_keeps_history(store: Store) -> None:
    rid = "20250101-000000-aaaa"
    first = _row(rid, "a", 0, 0, status="timeout", estimate=None, message="slow")
    second = _row(rid, "a", 0, 0, attempt=2, estimate=0.123)
    store.append([first])
    store.append([second])
    assert store.cell_states(rid) == {first["cell_key"]: (2, "ok")}
    latest = store.rows(rid)
    assert len(latest) == 1 and latest[0]["estimate"] == 0.123
    assert [r["attempt"] for r in store.rows(rid, all_attempts=True)] == [1, 2]


def test_load_and_exports_equal_the_frame(store: Store, tmp_path: Path) -> None:
    rid = "20250101-000000-aaaa"
    store.append(
        [
            _row(rid, "a", 0, 0),
            _row(rid, "b:k=2", 0, 0),
            _row(rid, "a", 0, 1, status="failed", estimate=None, error=None, message="E: m"),
            _row(rid, "b:k=2", 0, 1, instance_id="007"),
        ]
    )
    df = results.load(rid, store.path)
    assert df.attrs["run_id"] == rid
    assert len(df) == 4
    assert df["level"].tolist() == [0.0, 0.0, 0.25, 0.25]  # meta expanded
    assert df["K"].tolist() == [1, 1, 2, 2]
    assert df["estimate"].iloc[:2].tolist() == [0.0, 0.0] and np.isnan(df["estimate"].iloc[2])
    assert df["message"].iloc[2] == "E: m" and pd.isna(df["message"].iloc[0])
    assert str(df["seed"].dtype) == "Int64"
    for name in ("out.csv", "out.parquet", "out.csv.gz"):
        path = results.write(df, tmp_path / name)
        back = results.load(path)
        pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert (tmp_path / "out.csv.gz").read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
    # no timestamp in the gzip header (bytes 4-8): the same rows give the same file
    assert (tmp_path / "out.csv.gz").read_bytes()[4:8] == b"\x00\x00\x00\x00"
    assert results.load(tmp_path / "out.csv")["instance_id"].iloc[3] == "007"


def test_csv_keeps_meta_text_that_looks_numeric(store: Store, tmp_path: Path) -> None:
    rid = "20250101-000000-aaaa"
    metas = [
        {"code": "007", "width": "1.50", "K": 3, "level": 0.1, "flag": True, "alpha": "Greek"},
        {"code": "010", "width": "2", "K": 4, "level": 1e-05, "flag": False, "alpha": "Latin"},
    ]
    store.append([_row(rid, "a", 0, i, meta=json.dumps(m)) for i, m in enumerate(metas)])
    df = results.load(rid, store.path)
    back = results.load(results.write(df, tmp_path / "out.csv"))
    assert back["code"].tolist() == ["007", "010"]
    assert back["width"].tolist() == ["1.50", "2"]
    assert back["K"].tolist() == [3, 4] and back["K"].dtype == np.int64
    assert back["level"].tolist() == [0.1, 1e-05]
    assert back["flag"].tolist() == [True, False] and back["flag"].dtype == bool
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_non_finite_meta_values_export_as_floats(store: Store, tmp_path: Path) -> None:
    rid = "20250101-000000-aaaa"
    metas = [{"rho": 0.5}, {"rho": math.nan}, {"rho": math.inf}, {"rho": -math.inf}]
    store.append([_row(rid, "a", 0, i, meta=dumps(m)) for i, m in enumerate(metas)])
    df = results.load(rid, store.path)
    assert df["rho"].dtype == np.float64
    for name in ("out.csv", "out.parquet"):
        back = results.load(results.write(df, tmp_path / name))
        pd.testing.assert_frame_equal(back, df, check_exact=True)
    # a CSV written before non-finite meta became floats holds the text "nan"
    written_as_text = df.assign(rho=["0.5", "nan", "inf", "-inf"])
    back = results.read(results.write(written_as_text, tmp_path / "old.csv"))
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_rows_carry_their_estimators_artifacts_into_exports(tmp_path: Path) -> None:
    rid = "20250101-000000-bbbb"
    record = _record(rid)
    record["estimators"][1]["artifacts"] = {"checkpoint_sha256": "ab" * 32}
    with Store(tmp_path / "s.sqlite") as st:
        st.create_run(record)
        st.append([_row(rid, "a", 0, 0), _row(rid, "b:k=2", 0, 0), _row(rid, "b:k=2", 0, 1)])
    df = results.load(rid, tmp_path / "s.sqlite")
    assert list(df.columns[df.columns.get_loc("host") :][:2]) == ["host", "artifacts"]
    assert pd.isna(df["artifacts"].iloc[0])  # "a" records no files
    files = [json.loads(a) for a in df["artifacts"].iloc[1:]]
    assert files == [{"checkpoint_sha256": "ab" * 32}] * 2
    for name in ("out.csv.gz", "out.parquet"):
        back = results.load(results.write(df, tmp_path / name))
        pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_resolve_latest_prefix_and_errors(store: Store) -> None:
    store.create_run(_record("20250102-000000-bbbb", created="2025-01-02T00:00:00.000+00:00"))
    store.create_run(_record("20250102-000000-bbcc", created="2025-01-02T00:00:01.000+00:00"))
    assert store.resolve("latest") == "20250102-000000-bbcc"
    assert store.resolve("20250101") == "20250101-000000-aaaa"
    with pytest.raises(StoreError, match="ambiguous"):
        store.resolve("20250102-000000-bb")
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.resolve("nope")
    # prefixes are exact text: case counts, and % and _ are plain characters
    store.create_run(_record("Base_1", created="2025-01-03T00:00:00.000+00:00"))
    store.create_run(_record("base%2", created="2025-01-03T00:00:01.000+00:00"))
    assert store.resolve("Base") == "Base_1" and store.resolve("base") == "base%2"
    for ref in ("BASE", "Base%", "base_"):
        with pytest.raises(StoreError, match=f"no run '{ref}'"):
            store.resolve(ref)
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(_record("20250101-000000-aaaa"))


def test_run_record_json_fields_round_trip(store: Store) -> None:
    rec = store.get_run("latest")
    want = _record("20250101-000000-aaaa")
    for key in ("task_params", "estimators", "seeds", "versions", "argv", "command"):
        assert rec[key] == want[key]
    assert rec["git_dirty"] is False
    store.update_run(rec["run_id"], status="finished", finished="2025-01-01T00:01:00")
    assert store.get_run(rec["run_id"])["status"] == "finished"


def test_sessions_and_runs_summary(store: Store) -> None:
    rid = "20250101-000000-aaaa"
    store.create_session({"run_id": rid, "session": 1, "status": "running", "cells": 4})
    store.create_session({"run_id": rid, "session": 2, "status": "running", "cells": 1})
    store.update_session(rid, 1, status="interrupted")
    assert [(s["session"], s["status"]) for s in store.sessions(rid)] == [
        (1, "interrupted"),
        (2, "running"),
    ]
    store.append([_row(rid, "a", 0, 0), _row(rid, "a", 0, 1, status="failed", estimate=None)])
    table = results.runs(store.path)
    row = table.set_index("run_id").loc[rid]
    assert (row["ok"], row["failed"], row["timeout"], row["seeds"]) == (1, 1, 0, 2)
    assert row["estimators"] == "a,b:k=2"


def test_missing_and_foreign_stores_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no results store"):
        results.load("latest", tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(other)
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(StoreError, match="not an mi-harness results store"):
        results.load("latest", empty)
    with pytest.raises(ValueError, match="cannot tell the format"):
        results.write(pd.DataFrame({"a": [1]}), tmp_path / "x.txt")


def test_cell_key_is_canonical() -> None:
    a = cell_key("ksg", {"k": 5, "seed": 0}, "gaussian", {"n": 100, "d": 1}, 3, 7)
    b = cell_key("ksg", {"seed": 0, "k": 5}, "gaussian", dumps({"d": 1, "n": 100}), 3, 7)
    assert a == b and len(a) == 20
    assert a != cell_key("ksg", {"k": 5, "seed": 0}, "gaussian", {"n": 100, "d": 1}, 3, 8)
    assert a != cell_key("ksg", {"k": 6, "seed": 0}, "gaussian", {"n": 100, "d": 1}, 3, 7)


def test_jsonable_turns_numpy_into_plain_values() -> None:
    value = {"a": np.float32(0.5), "b": np.arange(3), "c": (1, np.int64(2)), "d": float("inf")}
    assert jsonable(value) == {"a": 0.5, "b": [0, 1, 2], "c": [1, 2], "d": "inf"}
    assert json.loads(dumps(value)) == jsonable(value)


def test_reader_sees_committed_rows_while_writer_is_open(store: Store) -> None:
    rid = "20250101-000000-aaaa"
    store.append([_row(rid, "a", 0, 0)])
    # another connection (another process in real use) reads without waiting
    with Store(store.path, create=False) as reader:
        assert len(reader.rows(rid)) == 1


def test_git_record_counts_untracked_files_and_ignores_the_callers_git_dir(
    tmp_path, monkeypatch
) -> None:
    import shutil
    import subprocess

    from harness import environment

    if shutil.which("git") is None:
        pytest.skip("git not installed")

    def repo(path, message):
        path.mkdir()
        names = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
        env = {**dict.fromkeys(names, "t"), "PATH": os.environ["PATH"], "HOME": str(tmp_path)}
        for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", message]):
            subprocess.run(["git", *args], cwd=path, env=env, check=True)
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, env=env, check=True,
                             capture_output=True, text=True)  # fmt: skip
        return out.stdout.strip()

    ours, other = repo(tmp_path / "src", "ours"), repo(tmp_path / "other", "other")
    monkeypatch.setattr(environment, "REPO_ROOT", tmp_path / "src")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "other" / ".git"))
    assert ours != other
    assert environment.git_info() == {"commit": ours, "dirty": False}
    (tmp_path / "src" / "new_plugin.py").write_text("x = 1\n")  # untracked, not ignored
    assert environment.git_info() == {"commit": ours, "dirty": True}
