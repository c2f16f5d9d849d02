"""The overview's verdicts (best only beyond two standard errors of the difference, else
tied; estimators of other settings not ranked together), the paired tables' reference
(KSG where present, the labels it cannot pair named), and ``device`` in labels."""

from __future__ import annotations

import html as html_lib
import json
import re

import numpy as np
import pandas as pd
import pytest
from test_report import Page

import reports
from harness import metrics
from reports.settings import versus_first

_BASE = {"run_id": "r1", "status": "ok", "message": None, "device": "cpu", "seed": 0,
         "instance_id": None}  # fmt: skip


def _verdicts(page: str) -> list[str]:
    """The overview's verdict lines, as read."""
    found = re.findall(r'<div class="note verdict">(.*?)</div>', page, re.S)
    return [html_lib.unescape(v).strip() for v in found]


def _titles(page: str, table: str) -> dict[str, list[str]]:
    """Row head -> the title of each of its cells (``""`` for none), in table ``table``."""
    body = re.search(rf'<table id="{table}".*?</table>', page, re.S).group(0)
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        head = re.search(r"<th[^>]*>(.*?)</th>", row, re.S).group(1)
        cells = re.findall(r"<td([^>]*)>", row)
        titles = [re.search(r'title="([^"]*)"', c) for c in cells]
        out[html_lib.unescape(head)] = [html_lib.unescape(t.group(1)) if t else "" for t in titles]
    return out


def _gaussian(label: str, errors, seed: int = 0, seconds: float = 0.001, **cols) -> list[dict]:
    """Rows of ``label`` on gaussian instances 0, 1, … with these errors (truth 0.5)."""
    return [
        {**_BASE, "task": "gaussian", "task_params": "{}", "label": label,
         "estimator": label.split(":")[0], "estimator_params": "{}", "instance_index": i,
         "seed": seed, "n_samples": 200, "true_mi": 0.5, "estimate": 0.5 + e, "error": e,
         "seconds": seconds, **cols}
        for i, e in enumerate(errors)
    ]  # fmt: skip


def _order(label: str, per_k: int, right: list[bool], seconds: float, K: int = 1) -> list[dict]:
    """Rows of ``label`` on the triplets of set ``per_k`` at ``K``, ordered as ``right``."""
    rows = []
    for t, ok in enumerate(right):
        for member, true in ((0, 0.5), (1, 0.3)):
            est = true if ok else 0.8 - true
            rows.append({**_BASE, "task": "gmm_order", "task_params": json.dumps({"per_k": per_k}),
                         "label": label, "estimator": label, "estimator_params": "{}",
                         "instance_index": 2 * t + member, "n_samples": 2000, "K": K,
                         "triplet": t, "member": member, "true_mi": true, "estimate": est,
                         "error": est - true, "seconds": seconds})  # fmt: skip
    return rows


def test_a_top_score_on_other_instances_ties_where_the_shared_ones_agree() -> None:
    """``mine`` scored 5 triplets (100 %), ksg those 5 and 20 more (96 %): on the five
    they share both are right, 0.0 ± 0.0, so neither is best; kde, 10 of 20 on other
    triplets, is behind mine by 50 points, more than two standard errors of the two
    accuracies (Agresti–Coull: 13.9 and 10.2 points)."""
    rows = (
        _order("ksg", 20, [t > 0 for t in range(20)], 0.001)
        + _order("ksg", 5, [True] * 5, 0.001)
        + _order("mine", 5, [True] * 5, 1.5)
        + _order("kde", 20, [t % 2 == 0 for t in range(20)], 0.02)
    )
    page = reports.build_report(pd.DataFrame(rows))
    over = Page(page).cells("overview-table")
    assert over[("gmm_order · ksg", "score")][1] == pytest.approx(96.0)
    assert over[("gmm_order · mine", "score")][1] == pytest.approx(100.0)
    marked = {h for (h, c), (_, _, cls) in over.items() if c == "score" and "good" in cls}
    assert marked == {"gmm_order · mine", "gmm_order · ksg"}
    assert over[("gmm_order · mine", "vs top")][0] == "tied"
    assert over[("gmm_order · ksg", "vs top")][:2] == ("0.0 ± 0.0", 0.0)
    assert over[("gmm_order · kde", "vs top")][:2] == ("-50.0 ± 17.2", -50.0)
    titles = _titles(page, "overview-table")
    assert titles["gmm_order · ksg"][2] == (
        "ksg's accuracy minus mine's, on the 5 triplets both scored, ± the paired "
        "standard error: within two standard errors: tied for the top score."
    )
    assert titles["gmm_order · mine"][1] == (
        "tied for the top score with ksg: no difference beyond two standard errors"
    )
    assert "no cell in common" in titles["gmm_order · kde"][2]
    assert over[("gmm_order · ksg", "metric")][0] == "order accuracy (%) ↑"
    assert _verdicts(page) == [
        "gmm_order — most accurate: tied: mine (accuracy 100.0 %), ksg 0.0 ± 0.0 (within "
        "two standard errors) · fastest: ksg 1.00 ms (next kde 20.0 ms)"
    ]


def test_estimators_of_other_settings_are_not_ranked_together() -> None:
    """ksg ran one-feature dependence and kde two-feature at the same n and d: their
    AUCs are not comparable, so neither is marked (both were ranked by n alone)."""
    rng = np.random.default_rng(0)
    rows = []
    for lab, dependence, signal in (("ksg", "one feature", 1.0), ("kde", "two features", 0.3)):
        for i in range(20):
            dep = i % 2
            rows.append({**_BASE, "task": "highdim_independence", "task_params": "{}",
                         "label": lab, "estimator": lab, "estimator_params": "{}",
                         "instance_index": i, "dependence": dependence, "d": 16,
                         "dependent": dep, "n_samples": 100, "true_mi": np.nan,
                         "estimate": dep * signal + rng.uniform(0, 0.5), "error": np.nan,
                         "seconds": 0.01})  # fmt: skip
    page = reports.build_report(pd.DataFrame(rows))
    over = Page(page).cells("overview-table")
    assert over[("highdim_independence · ksg", "score")][1] == pytest.approx(1.0)
    assert not any("good" in cls for (_, c), (_, _, cls) in over.items() if c == "score")
    assert over[("highdim_independence · ksg", "vs top")][0] == ""
    assert _verdicts(page) == [
        "highdim_independence — not ranked: ksg, kde (no other estimator ran the same "
        "settings: sample sizes, dimensions, dependence types, …)"
    ]


# kde's |error| minus ksg's on each instance: mean 0.004 either way
_NOISY = [0.014, -0.006] * 5  # sd 0.0105: standard error 0.0033
_STEADY = [0.004] * 10  # standard error 0


@pytest.mark.parametrize(
    ("gaps", "ksg_mark", "kde_gap", "verdict"),
    [
        (_NOISY, "tied", "+0.0040 ± 0.0033",
         "gaussian — most accurate: tied: ksg (MAE 0.0200 nats), kde +0.0040 ± 0.0033 "
         "(within two standard errors) · fastest: ksg 1.00 ms (next kde 20.0 ms)"),
        (_STEADY, "best", "+0.0040 ± 0.0000",
         "gaussian — most accurate: ksg (MAE 0.0200 nats); next kde +0.0040 ± 0.0000 · "
         "fastest: ksg 1.00 ms (next kde 20.0 ms)"),
    ],
)  # fmt: skip
def test_a_lead_within_two_standard_errors_is_a_tie(gaps, ksg_mark, kde_gap, verdict) -> None:
    """The same mean lead of 0.004 nats is a tie when the paired differences scatter
    (standard error 0.0033) and a win when they do not."""
    rows = _gaussian("ksg", [0.02] * 10) + _gaussian("kde", [0.02 + g for g in gaps], seconds=0.02)
    page = reports.build_report(pd.DataFrame(rows))
    over = Page(page).cells("overview-table")
    assert over[("gaussian · ksg", "metric")][0] == "mean absolute error (nats) ↓"
    assert over[("gaussian · ksg", "vs top")][0] == ksg_mark
    assert over[("gaussian · kde", "vs top")][:2] == (kde_gap, pytest.approx(0.004))
    assert "good" in over[("gaussian · ksg", "score")][2]
    assert ("good" in over[("gaussian · kde", "score")][2]) == (ksg_mark == "tied")
    assert _verdicts(page) == [verdict]
    if ksg_mark == "best":
        assert _titles(page, "overview-table")["gaussian · ksg"][1] == (
            "best: ahead of kde by more than two standard errors of the difference"
        )


def test_estimators_sharing_no_sample_compare_by_their_own_errors() -> None:
    """ksg (seed 0) and kde (seed 1) estimated no sample in common: the gap's standard
    error combines the two MAEs' own, hypot(0.0033, 0.0033) = 0.0047."""
    rows = _gaussian("ksg", [0.01, -0.03] * 5) + _gaussian("kde", [0.05, -0.07] * 5, seed=1)
    page = reports.build_report(pd.DataFrame(rows))
    over = Page(page).cells("overview-table")
    own = [np.std([a, b] * 5, ddof=1) / np.sqrt(10) for a, b in ((0.01, 0.03), (0.05, 0.07))]
    se = np.hypot(*own)
    assert se == pytest.approx(0.00471, abs=1e-5)
    assert over[("gaussian · kde", "vs top")][:2] == ("+0.0400 ± 0.0047", pytest.approx(0.04))
    assert over[("gaussian · ksg", "vs top")][0] == "best"
    assert _titles(page, "overview-table")["gaussian · kde"][2] == (
        "kde's MAE minus ksg's, ± the two scores' own standard errors combined (no cell in "
        "common): behind by more than two standard errors."
    )


def test_paired_tables_take_ksg_as_reference_and_name_the_unpaired() -> None:
    """kde comes first, ksg second: ksg is the reference all the same (as ``harness
    compare``'s speed ratio takes it); doe, on other seeds, shares no sample with it and
    is named instead of silently left out."""
    rows = (
        _gaussian("kde", [0.03] * 4)
        + _gaussian("ksg", [0.01] * 4)
        + _gaussian("doe", [0.05] * 4, seed=7)
    )
    df = pd.DataFrame(rows)
    paired = versus_first(df, lambda a, b: metrics.mae_difference(df, a, b), (ValueError,))
    assert paired.first == "ksg"
    assert list(paired.frame.index.get_level_values("label")) == ["kde"]
    assert paired.frame["difference"].iloc[0] == pytest.approx(0.02)
    assert paired.unpaired == ["doe"]
    assert paired.note("instances") == (
        " Not paired with ksg, as they share no instances with it: doe."
    )
    page = Page(reports.build_report(df))
    table = page.tables["task-gaussian-mae-difference"]
    assert [head for head, _, _ in table["rows"]] == ["kde"]
    text = " ".join(page.text)
    assert "Mean absolute error minus that of ksg, same instances" in text
    assert "Not paired with ksg, as they share no instances with it: doe." in text
    # without ksg the first label is the reference, as before
    no_ksg = df[df["label"] != "ksg"].assign(seed=0)
    first = versus_first(no_ksg, lambda a, b: metrics.mae_difference(no_ksg, a, b), (ValueError,))
    assert first.first == "kde" and first.unpaired == []


def _infonet(label: str, params: dict, device, instances, status: str = "ok") -> list[dict]:
    """InfoNet rows on gaussian instances, stored as the runner stores them."""
    full = {"batch_size": 100, "device": "auto", **params}
    return [
        {**_BASE, "task": "gaussian", "task_params": "{}", "label": label,
         "estimator": "infonet", "estimator_params": json.dumps(full, sort_keys=True),
         "instance_index": i, "n_samples": 200, "true_mi": 0.5,
         "estimate": 0.5 if status == "ok" else np.nan, "error": 0.0 if status == "ok" else np.nan,
         "seconds": 0.1, "status": status, "device": device if status == "ok" else None}
        for i in instances
    ]  # fmt: skip


def _labels(*runs: list[dict]) -> list[str]:
    """The labels of the gaussian error table of a report of ``runs`` (one run each)."""
    frames = [pd.DataFrame(r).assign(run_id=f"run{i}") for i, r in enumerate(runs)]
    page = Page(reports.build_report(frames))
    return [head for head, _, _ in page.tables["task-gaussian-errors"]["rows"]]


def test_device_is_where_an_estimate_ran_not_part_of_the_label() -> None:
    # device=cpu asked for, and device=auto that ran on the CPU: one estimator, one label,
    # its failed cell (no device recorded) included
    cpu = _infonet("infonet:device=cpu", {"device": "cpu"}, "cpu", range(3))
    failed = _infonet("infonet:device=cpu", {"device": "cpu"}, None, [3], status="failed")
    auto = _infonet("infonet", {}, "cpu", range(4, 7))
    assert _labels(cpu + failed, auto) == ["infonet"]
    # a device spelled alone is dropped too, other parameters kept
    small = _infonet("infonet:batch_size=1,device=cpu", {"batch_size": 1, "device": "cpu"},
                     "cpu", range(3))  # fmt: skip
    big = _infonet("infonet:batch_size=16,device=cpu", {"batch_size": 16, "device": "cpu"},
                   "cpu", range(3))  # fmt: skip
    assert _labels(small + big) == ["infonet:batch_size=1", "infonet:batch_size=16"]
    # runs on different devices stay apart, each device spelled
    gpu = _infonet("infonet", {}, "cuda", range(4, 7))
    assert _labels(cpu, gpu) == ["infonet:device=cpu", "infonet:device=cuda"]


def test_one_run_of_two_devices_compares_them() -> None:
    """One run holding ``infonet`` (device=auto, ran on the CPU) and
    ``infonet:device=cpu``: two configurations side by side, each with its own six cells
    and its own row in the MAE-difference table, not one label of twelve rows."""
    auto = pd.DataFrame(_infonet("infonet", {}, "cpu", range(6)))
    cpu = pd.DataFrame(_infonet("infonet:device=cpu", {"device": "cpu"}, "cpu", range(6)))
    ksg = pd.DataFrame(_gaussian("ksg", [0.01] * 6))
    auto = auto.assign(error=0.02, estimate=0.52)
    cpu = cpu.assign(error=[0.03, 0.05] * 3, estimate=[0.53, 0.55] * 3)
    page = Page(reports.build_report(pd.concat([auto, cpu, ksg], ignore_index=True)))
    errors = page.cells("task-gaussian-errors")
    assert [head for head, _, _ in page.tables["task-gaussian-errors"]["rows"]] == [
        "infonet",
        "infonet:device=cpu",
        "ksg",
    ]
    assert [errors[lab, "cells"][1] for lab in ("infonet", "infonet:device=cpu")] == [6, 6]
    diff = page.cells("task-gaussian-mae-difference")
    assert diff["infonet", "difference"][1] == pytest.approx(0.01)
    assert diff["infonet:device=cpu", "difference"][1] == pytest.approx(0.03)


def test_groups_of_one_task_are_named_by_what_sets_them_apart() -> None:
    """ksg and kde ran triplets of K=1, mine and infonet of K=2 (a column the order view
    draws apart, not one that splits labels): two verdicts, each naming its K, and no
    estimator ranked against one of the other K. ksg gets all 10 right and kde 5 (their
    paired difference -50 ± 16.7 points); infonet 9 and mine 7 (on other samples: the
    two accuracies' own errors, with two successes and two failures added: ± 16.9)."""
    rows = (
        _order("ksg", 10, [True] * 10, 0.001)
        + _order("kde", 10, [t % 2 == 0 for t in range(10)], 0.02)
        + _order("infonet", 20, [t > 0 for t in range(10)], 0.1, K=2)
        + _order("mine", 30, [t > 2 for t in range(10)], 2.0, K=2)
    )
    page = reports.build_report(pd.DataFrame(rows))
    assert _verdicts(page) == [
        "gmm_order · K=1 — most accurate: ksg (accuracy 100.0 %); next kde -50.0 ± 16.7 · "
        "fastest: ksg 1.00 ms (next kde 20.0 ms)",
        "gmm_order · K=2 — most accurate: tied: infonet (accuracy 90.0 %), mine -20.0 ± 16.9 "
        "(within two standard errors) · fastest: infonet 100 ms (next mine 2.00 s)",
    ]
    over = Page(page).cells("overview-table")
    best = {h for (h, c), (_, _, cls) in over.items() if c == "score" and "good" in cls}
    assert best == {"gmm_order · ksg", "gmm_order · infonet", "gmm_order · mine"}


def _seeded(seed_count: int = 30) -> pd.DataFrame:
    """ksg and kde on 6 distributions x ``seed_count`` seeds: each estimator has its own
    systematic error per distribution (sd 0.05) and little sampling noise (0.005)."""
    rng = np.random.default_rng(1)
    own = {"ksg": rng.normal(0, 0.05, 6), "kde": rng.normal(0, 0.05, 6)}
    rows = []
    for label, errors in own.items():
        for i, e in enumerate(errors):
            for s in range(seed_count):
                err = float(e + rng.normal(0, 0.005))
                rows.append({"task": "gaussian", "task_params": "{}", "label": label,
                             "estimator": label, "estimator_params": "{}", "instance_index": i,
                             "instance_id": None, "seed": s, "n_samples": 200, "true_mi": 0.5,
                             "estimate": 0.5 + err, "error": err, "seconds": 0.001,
                             "status": "ok", "run_id": "r", "device": "cpu",
                             "message": None})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_seeds_of_one_distribution_count_as_one_draw() -> None:
    """An estimator's error on a distribution recurs under every seed: the paired
    standard error is that of the 6 distributions' mean differences, not of 180 pairs
    (which made kde 'best' on 3 distributions of 6)."""
    df = _seeded()
    d = df.assign(a=df["error"].abs()).pivot_table(
        index=["instance_index", "seed"], columns="label", values="a"
    )
    per_distribution = (d["kde"] - d["ksg"]).groupby(level="instance_index").mean()
    got = metrics.mae_difference(df, "kde", "ksg").iloc[0]
    assert got["pairs"] == 180
    assert got["difference"] == pytest.approx(per_distribution.mean())
    assert got["difference_se"] == pytest.approx(per_distribution.std(ddof=1) / np.sqrt(6))
    # one seed: the plain sd / sqrt(pairs) of the paired differences
    one = metrics.mae_difference(df[df["seed"] == 0], "kde", "ksg").iloc[0]
    first = d.xs(0, level="seed")
    assert one["difference_se"] == pytest.approx(
        (first["kde"] - first["ksg"]).std(ddof=1) / np.sqrt(6)
    )
    page = reports.build_report(df)
    [verdict] = _verdicts(page)
    assert "tied" in verdict, verdict


def test_the_comparison_shows_order_accuracy_in_percent_as_the_tables_do() -> None:
    """``harness compare`` checks order accuracy as a fraction (allowed drop 0.02); the
    report's gate table shows it in percent, as its other tables do: 20 triplets of
    which 19, then 17, are ordered right is 95.0 % -> 85.0 %, -10 points, beyond -2."""
    base = pd.DataFrame(_order("ksg", 20, [t > 0 for t in range(20)], 0.001))
    new = pd.DataFrame(_order("ksg", 20, [t > 2 for t in range(20)], 0.001)).assign(run_id="r2")
    gate = Page(reports.build_report([base, new])).tables["diff-r1-r2-gate"]
    cols = gate["columns"]
    metric = cols.index("metric")
    ((head, cells, cls),) = [r for r in gate["rows"] if r[1][metric][0].startswith("order")]
    row = {col: cell[:2] for col, cell in zip(cols, cells, strict=True)}
    assert head == "ksg" and cls == "regression"
    assert row["metric"][0] == "order accuracy (%)"
    shown = {col: (row[col][0], float(row[col][1])) for col in ("baseline", "new", "change")}
    assert shown == {"baseline": ("95.0", 95.0), "new": ("85.0", 85.0), "change": ("-10.0", -10.0)}
    assert row["allowed"][0] == ">= -2 points"
    assert row["verdict"][0] == "REGRESSED"
