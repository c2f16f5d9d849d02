"""Reports of many exported files: cells repeated across files counted once, one
estimator under several spellings one series, tables split by the settings that
change the problem, and task parameters in words."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_report import Page

import estimators
import reports
from harness import metrics
from reports.data import RunData
from reports.frames import task_frame

KSG = {"k": 5, "variant": 1, "noise": 1e-10, "seed": 0, "standardize": False}
SHIPPED = json.dumps({"checkpoint_sha256": "161570a6" + "0" * 56})
OTHER = json.dumps({"checkpoint_sha256": "69be315e" + "1" * 56})


def _rows(
    run_id: str,
    label: str,
    params: dict,
    *,
    task: str = "gaussian",
    task_params: dict | None = None,
    n: int = 200,
    seeds: tuple[int, ...] = (0,),
    truths: tuple[float, ...] = (0.1, 0.5, 0.9),
    shift: float = 0.0,
    artifacts: str | None = None,
    **meta,
) -> pd.DataFrame:
    """Ok rows of one estimator: instance i has truth ``truths[i]``, the estimate is
    off by ``shift`` plus 0.01 per seed."""
    rows = []
    for seed in seeds:
        for i, truth in enumerate(truths):
            est = truth + shift + 0.01 * seed
            rows.append({"run_id": run_id, "label": label, "estimator": label.split(":")[0],
                         "estimator_params": json.dumps(params), "task": task,
                         "task_params": json.dumps(task_params or {"n": n}),
                         "instance_index": i, "seed": seed, "n_samples": n, "dim_x": 1,
                         "dim_y": 1, "true_mi": truth, "estimate": est, "error": est - truth,
                         "seconds": 0.01, "device": "cpu", "status": "ok", "message": None,
                         "artifacts": artifacts, **meta})  # fmt: skip
    return pd.DataFrame(rows)


def _labels(task: str, *frames: pd.DataFrame) -> pd.Series:
    runs = [RunData(str(f["run_id"].iloc[0]), f, f"{f['run_id'].iloc[0]}.csv") for f in frames]
    return task_frame(task, runs)[0]["label"]


def test_cells_repeated_by_several_files_are_one_series_counted_once() -> None:
    """The KSG baseline beside each new InfoNet grid repeats the same cells with the
    same estimates: one series, each cell once; a run whose estimates differ on the
    same cells is still told apart."""
    a = pd.concat([_rows("a", "ksg", KSG), _rows("a", "kde", {}, shift=0.05)])
    # b repeats a's ksg cells of instances 0 and 1 and adds seed 1
    again = _rows("b", "ksg", KSG, seeds=(0, 1))
    b = pd.concat([again[(again["seed"] == 1) | (again["instance_index"] < 2)],
                   _rows("b", "infonet", {}, shift=0.02)])  # fmt: skip
    labels = _labels("gaussian", a, b)
    assert set(labels) == {"ksg", "kde", "infonet"}
    assert (labels == "ksg").sum() == 6  # 3 cells of seed 0 once, 3 of seed 1
    page = Page(reports.build_report([a, b]))
    errors = page.cells("task-gaussian-errors")
    assert errors[("ksg", "cells")][1] == 6
    assert errors[("ksg", "MAE")][1] == pytest.approx(0.005)  # not weighted to the copies
    # other estimates for the same cells: the runs told apart, b's copies still dropped
    c = _rows("c", "ksg", KSG, shift=0.03)
    labels = _labels("gaussian", a, b, c)
    assert set(labels) == {"ksg [a]", "ksg [b]", "ksg [c]", "kde", "infonet"}
    assert (labels == "ksg [b]").sum() == 3


def test_one_model_under_two_spellings_is_one_label() -> None:
    """The shipped checkpoint named by its path, or a parameter written at its
    default, is the same estimator: one label, the shortest of its spellings; a
    checkpoint of other weights stays apart."""
    base = {**estimators.registry.defaults("infonet"), "batch_size": 1000}
    path = "estimators/infonet/checkpoints/infonet.pt"
    frames = [
        _rows("r1", "infonet:batch_size=1000", base, artifacts=SHIPPED),
        _rows("r2", f"infonet:batch_size=1000,checkpoint={path}", {**base, "checkpoint": path},
              artifacts=SHIPPED, seeds=(1,)),
        _rows("r3", "infonet:batch_size=1000,projections=1000", base, artifacts=SHIPPED,
              seeds=(2,)),
        _rows("r4", "infonet:batch_size=1000,checkpoint=cand.pt",
              {**base, "checkpoint": "cand.pt"}, artifacts=OTHER, seeds=(3,)),
    ]  # fmt: skip
    labels = _labels("gaussian", *frames)
    assert set(labels) == {"infonet:batch_size=1000", "infonet:batch_size=1000,checkpoint=cand.pt"}
    assert (labels == "infonet:batch_size=1000").sum() == 9
    # the same weights and cells under both spellings: one copy
    again = _rows("r5", f"infonet:checkpoint={path},batch_size=1000",
                  {**base, "checkpoint": path}, artifacts=SHIPPED)  # fmt: skip
    labels = _labels("gaussian", frames[0], again)
    assert list(labels) == ["infonet:batch_size=1000"] * 3
    # two runs of other weights, other cells: they pool under that weights' tag
    other = [_rows(f"o{seed}", "infonet:batch_size=1000", base, artifacts=OTHER, seeds=(seed,))
             for seed in (4, 5)]  # fmt: skip
    assert set(_labels("gaussian", frames[0], *other)) == {
        "infonet:batch_size=1000@161570a6 [r1]",
        "infonet:batch_size=1000@69be315e",
    }


def test_tables_are_split_by_the_settings_that_change_the_problem(monkeypatch) -> None:
    """An evaluation file holds the n = 2000 sweep and small-n draws, and mvn runs hold
    two transforms: every table, headline and figure panel keeps them apart."""
    from reports import task_views

    drawn = []
    real = task_views.plot
    monkeypatch.setattr(
        task_views, "plot", lambda panels, **kw: drawn.append(panels) or real(panels, **kw)
    )
    wide = {"n": 2000, "rhos": None}
    small = {"n": 50, "rhos": "0;0.2"}
    df = pd.concat([
        _rows("ev", "ksg", KSG, n=2000, task_params=wide, shift=0.01),
        _rows("ev", "infonet", {}, n=2000, task_params=wide, shift=0.02),
        _rows("ev", "ksg", KSG, n=50, task_params=small, truths=(0.0, 0.02), shift=0.2),
        _rows("ev", "infonet", {}, n=50, task_params=small, truths=(0.0, 0.02), shift=0.1),
    ])  # fmt: skip
    page = Page(reports.build_report(df))
    errors = page.cells("task-gaussian-errors")
    assert errors[("ksg · n=2000", "MAE")][1] == pytest.approx(0.01)
    assert errors[("ksg · n=50", "MAE")][1] == pytest.approx(0.2)
    assert errors[("infonet · n=50", "cells")][1] == 2
    # each estimator against the first one of the same n
    paired = page.cells("task-gaussian-mae-difference")
    assert paired[("infonet · n=2000", "difference")][1] == pytest.approx(0.01)
    assert paired[("infonet · n=50", "difference")][1] == pytest.approx(-0.1)
    over = page.cells("overview-table")
    assert over[("gaussian · ksg · n=50", "score")][1] == pytest.approx(0.2)
    best = {head for (head, col), (_, _, cls) in over.items() if col == "score" and "good" in cls}
    assert best == {"gaussian · ksg · n=2000", "gaussian · infonet · n=50"}
    (panels,) = drawn
    assert [p.title for p in panels] == ["n=2000", "n=50"]
    assert [s.label.split(" — ")[0] for s in panels[1].series] == ["ksg", "infonet"]

    drawn.clear()
    mvn = pd.concat([
        _rows("mvn", lab, {}, task="mvn", task_params={"transform": t}, n=4096, shift=s,
              d=20, transform=t, sparse=False)
        for t, shifts in (("none", (0.1, 0.3)), ("cubic", (0.5, 0.2)))
        for lab, s in zip(("doe", "ksg"), shifts, strict=True)
    ])  # fmt: skip
    page = Page(reports.build_report(mvn))
    errors = page.cells("task-mvn-errors")
    assert errors[("doe · transform=cubic", "MAE")][1] == pytest.approx(0.5)
    assert errors[("ksg · transform=none", "MAE")][1] == pytest.approx(0.3)
    paired = page.cells("task-mvn-mae-difference")
    # paired with ksg, the reference where a setting has it
    assert paired[("doe · transform=cubic", "difference")][1] == pytest.approx(0.3)
    (panels,) = drawn
    assert [p.title for p in panels] == ["transform=none", "transform=cubic"]
    assert [s.label for s in panels[1].series] == ["doe", "ksg"]  # the zero line is no series
    headline = metrics.error_table(mvn)  # one row per estimator when nothing splits them
    assert len(headline) == 2


def test_task_parameters_read_as_words() -> None:
    """``{"rhos": null, "n": 2000}`` reads ``n = 2000 · rhos: task default (...)``:
    the sample size, then what is set away from its default or differs between the
    parameter sets, a null as the task's default value where the task names it."""
    from reports.headings import task_params_text

    sets = [
        '{"d":1,"n":2000,"rho_max":null,"rho_min":null,"rhos":null,"steps":null}',
        '{"d":1,"n":300,"rho_max":null,"rho_min":null,"rhos":"0;0.2","steps":null}',
    ]
    df = pd.DataFrame({"task": "gaussian", "task_params": sets + sets[:1]})
    assert task_params_text("gaussian", df) == (
        "n = 2000 · rhos: task default (0, 0.1, …, 0.99: 12 values) | n = 300 · rhos = 0, 0.2"
    )
    cubic = pd.DataFrame(
        {"task_params": ['{"d":20,"mis":null,"n":4096,"sparse":false,"transform":"cubic"}']}
    )
    assert task_params_text("mvn", cubic) == "n = 4096 · transform = cubic"
    # a task not installed here: every parameter, a null as the task's default
    assert task_params_text("elsewhere", pd.DataFrame({"task_params": ['{"a":null,"n":5}']})) == (
        "n = 5 · a: task default"
    )
    assert task_params_text("gaussian", pd.DataFrame({"label": ["ksg"]})) == ""
    # a sweep of many sets: each parameter with the values it takes
    sweep = [json.dumps({"d": d, "dependence": dep, "n": n, "recipe": "paper", "trials": 1})
             for dep in ("two_features", "one_feature") for d in (128, 16)
             for n in (300, 50, 100)]  # fmt: skip
    assert task_params_text("highdim_independence", pd.DataFrame({"task_params": sweep})) == (
        "n = 50, 100, 300 · d = 16, 128 · dependence = two_features, one_feature"
    )


def test_a_re_run_at_another_speed_is_not_a_copy() -> None:
    """A deterministic estimator reproduces its estimates on another machine; the run
    must stay in the report (its seconds are what the comparison is about)."""
    laptop = _rows("laptop", "ksg", {})
    server = _rows("server", "ksg", {}).assign(seconds=0.5)
    labels = _labels("gaussian", laptop, server)
    assert sorted(labels.unique()) == ["ksg [laptop]", "ksg [server]"]


def test_a_spelling_another_configuration_uses_is_not_chosen() -> None:
    """Run a stored 'ksg' when k=3 was the default; run c 'ksg:k=3'; run b today's 'ksg'.
    a and c are one configuration, but its short spelling 'ksg' is b's: keep them apart."""
    old = _rows("a", "ksg", {"k": 3}, shift=0.01)
    explicit = _rows("c", "ksg:k=3", {"k": 3}, seeds=(1,), shift=0.01)
    today = _rows("b", "ksg", {"k": 5}, seeds=(2,))
    labels = _labels("gaussian", old, explicit, today)  # every row kept, in run order
    frame = pd.concat([old, explicit, today], ignore_index=True).assign(shown=labels.to_numpy())
    k3 = set(frame.loc[frame["estimator_params"] == '{"k": 3}', "shown"])
    k5 = set(frame.loc[frame["estimator_params"] == '{"k": 5}', "shown"])
    assert not k3 & k5


def test_grouped_failures_without_seed_or_instance_columns() -> None:
    from reports.data import RunData
    from reports.failures import failures

    rows = pd.DataFrame(
        {"run_id": "r", "task": "gaussian", "label": "x", "status": "skipped",
         "message": "1-D only", "estimator": "x"},
        index=range(60),
    )  # fmt: skip
    table = failures([RunData("r", rows, "DataFrame")])
    assert len(table.rows) == 1


MINE = {"steps": 500, "batch_size": 500, "lr": 0.001, "device": "cpu", "checkpoint": None}


def test_a_parameter_one_sibling_sets_is_spelled_in_the_others() -> None:
    """``mine`` beside ``mine:steps=100`` hides its 500 steps: it reads
    ``mine:steps=500``; beside a batch of 100 as well, every sibling spells both.
    ``device`` and a parameter left unset (a default checkpoint) are not spelled."""
    two = pd.concat(
        [_rows("a", "mine", MINE), _rows("a", "mine:steps=100", {**MINE, "steps": 100})]
    )
    assert set(_labels("gaussian", two)) == {"mine:steps=500", "mine:steps=100"}
    b100 = {**MINE, "batch_size": 100}
    saved = {**MINE, "checkpoint": "x.pt", "lr": 0.01}
    b = [
        _rows("b", "mine:batch_size=100,steps=100", {**b100, "steps": 100}),
        _rows("b", "ksg", KSG),
        _rows("b", "mine:checkpoint=x.pt,device=cpu", saved),
    ]
    three = pd.concat([two, *b])
    assert set(_labels("gaussian", three)) == {
        "mine:batch_size=500,steps=500",  # in the runner's (sorted) order
        "mine:batch_size=500,steps=100",
        "mine:batch_size=100,steps=100",
        "ksg",  # no sibling
        "mine:batch_size=500,checkpoint=x.pt,steps=500",  # one device: not spelled
    }
    # the label "mine" spelled at a value its rows did not all run with stays as it is
    mixed = pd.concat([two, _rows("c", "mine", {**MINE, "steps": 700}, seeds=(1,))])
    assert "mine" in set(_labels("gaussian", mixed))


def test_a_spelled_sibling_never_takes_another_configurations_label() -> None:
    """``mine`` (500 steps) beside ``mine:steps=100`` and a stored ``mine:steps=500``
    of another learning rate: spelling would merge two configurations, so ``mine``
    keeps its name."""
    fewer = _rows("a", "mine:steps=100", {**MINE, "steps": 100})
    other = _rows("b", "mine:steps=500", {**MINE, "lr": 0.01})
    rows = pd.concat([_rows("a", "mine", MINE), fewer, other])
    labels = set(_labels("gaussian", rows))
    assert "mine:steps=500" in labels and "mine:steps=100" in labels
    assert len(labels) == 3


def test_sibling_spelling_is_the_runners_and_needs_every_row_to_record_it() -> None:
    """Values read as the runner writes them (``True``, ``1.0``), a label some of whose
    rows did not record the parameter keeps its name, a rename that would read as
    another configuration's parameters in another order is not made, and a file
    without recorded parameters leaves the others' spelling alone."""
    ksg = pd.concat([_rows("a", "ksg", KSG), _rows("a", "ksg:standardize=True",
                                                   {**KSG, "standardize": True})])  # fmt: skip
    assert set(_labels("gaussian", ksg)) == {"ksg:standardize=False", "ksg:standardize=True"}
    lr = pd.concat([_rows("a", "mine", {**MINE, "lr": 1.0}),
                    _rows("a", "mine:lr=0.5", {**MINE, "lr": 0.5})])  # fmt: skip
    assert "mine:lr=1.0" in set(_labels("gaussian", lr))
    old = {k: v for k, v in MINE.items() if k != "steps"}  # stored before steps existed
    fewer = _rows("b", "mine:steps=100", {**MINE, "steps": 100, "lr": 0.5})
    partly = pd.concat([lr, _rows("b", "mine", {**old, "lr": 1.0}, seeds=(1,)), fewer])
    assert "mine:lr=1.0" in set(_labels("gaussian", partly))  # steps not spelled
    # mine:b=2 spelled with a=1 would read as the stored mine:a=1,b=2 (another lr)
    clash = pd.concat([_rows("a", "mine:b=2", {"a": 1, "b": 2, "lr": 0.1}),
                       _rows("b", "mine:a=1,b=2", {"a": 1, "b": 2, "lr": 0.2})])  # fmt: skip
    assert set(_labels("gaussian", clash)) == {"mine:b=2", "mine:a=1,b=2"}
    bare = _rows("c", "kde", {}).drop(columns="estimator_params")
    two = pd.concat(
        [_rows("a", "mine", MINE), _rows("a", "mine:steps=100", {**MINE, "steps": 100})]
    )
    assert "mine:steps=500" in set(_labels("gaussian", two, bare))
