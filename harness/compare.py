"""Regression check of one run against a baseline run of the same grid.

Cells are matched by :data:`CELL_KEY` (task, task parameters, estimator and
its parameters, instance, seed); parameters at their current default value
are left out of the match, so a parameter added since the baseline (stored
only by the candidate, at its default) does not unmatch every cell. Then,
per task and estimator, on the cells that succeeded in both runs:

* accuracy is gated -- the MAE, and the metric of the task's summary
  (:func:`harness.metrics.summary_kind`): |mean error| per MI level, order
  accuracy, ROC AUC or Spearman rank agreement (from :mod:`harness.metrics`)
  may get worse by at most a stated tolerance; tasks whose estimates are
  scores (:data:`~harness.metrics.SCORE_SUMMARIES`: independence tests,
  Omniglot) are not gated on MAE;
* a cell that succeeded in the baseline but is missing, failed, timed out or
  was skipped in the candidate is a regression -- an estimator configuration
  the candidate did not run (``ksg:k=3`` against the baseline's ``ksg``) too,
  and a task run with other parameters (``gmm_levels:per_level=5`` against
  the baseline's ``per_level=20``), each with a note naming what the candidate
  ran instead (``harness report`` is the tool to set different configurations
  side by side);
* latency is reported, not gated, except the ratio of an estimator's median
  seconds to the reference estimator's (KSG) median seconds *in the same
  run*: it may grow by at most a factor (3 by default), so a slower shared
  machine does not fail the check but a slower estimator does; and the
  reference itself may get at most ``reference_slowdown`` (10) times slower.

>>> from harness.compare import compare, Tolerances
>>> result = compare(results.load("benchmarks/baseline/gmm_levels.csv"), results.load("latest"))
>>> result.regressed, print(result.format())
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from harness.interface import InputError, SpecError
from harness.matching import canonical_numbers, match_params
from harness.metrics import (
    SCORE_SUMMARIES,
    TRIAL_COLUMNS,
    auc_table,
    error_table,
    level_table,
    order_table,
    rank_agreement,
    summary_kind,
)
from harness.params import stored_params, varying_keys
from harness.spans import int_spans

__all__ = ["CELL_KEY", "Comparison", "Tolerances", "compare", "parse_tolerances"]

#: Columns that identify one cell across runs. The task's parameters and the
#: instance index fix the instance (``instance_id`` is a display name: not
#: always unique, and absent from a cell whose instance failed to generate).
CELL_KEY = ("task", "task_params", "estimator", "estimator_params", "instance_index", "seed")

_EPS = 1e-12  # a change equal to the tolerance passes despite rounding


@dataclass(frozen=True)
class Tolerances:
    """How much worse a candidate may be than its baseline.

    Parameters
    ----------
    mae : float
        Allowed increase of the mean absolute error, nats.
    level_bias : float
        Allowed increase of |mean error| at any MI level, nats.
    order_accuracy : float
        Allowed drop of order accuracy (a fraction: 0.02 is two points).
    auc : float
        Allowed drop of ROC AUC.
    spearman : float
        Allowed drop of the Spearman correlation between estimate and truth
        (rank tasks such as ``omniglot_smi``).
    speed_ratio : float
        Allowed growth factor of (estimator seconds / reference seconds), each
        measured within its own run; ``inf`` turns the speed gate off.
    reference : str
        Estimator name whose median seconds normalise the others. The default
        (``ksg``) may be missing from the runs (no speed-ratio check, with a
        note); any other name must be an estimator of the baseline or the
        candidate, so a typo does not switch the speed gate off.
    reference_slowdown : float
        Allowed growth factor of the reference's own median seconds against the
        baseline's. Loose, since the two runs may be on different machines, but
        without it a slower reference (or a slowdown shared by every estimator)
        would pass, as it shrinks the ratios; ``inf`` turns it off.
    """

    mae: float = 0.005
    level_bias: float = 0.01
    order_accuracy: float = 0.02
    auc: float = 0.02
    spearman: float = 0.05
    speed_ratio: float = 3.0
    reference: str = "ksg"
    reference_slowdown: float = 10.0


def parse_tolerances(text: str, base: Tolerances | None = None) -> Tolerances:
    """Tolerances from ``"mae=0.01,order_accuracy=0.05"`` (unnamed keys keep ``base``).

    Raises
    ------
    SpecError
        For an unknown key, a key given twice, a missing ``=`` or a value that is
        not a number >= 0 (``speed_ratio`` and ``reference_slowdown`` must be >= 1).
    """
    out = base or Tolerances()
    valid = {f.name: f for f in fields(Tolerances)}
    named: set[str] = set()
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        key, sep, value = (s.strip() for s in piece.partition("="))
        if not sep or key not in valid:
            raise SpecError(f"bad tolerance {piece!r}; use key=value with keys {', '.join(valid)}")
        if key in named:
            raise SpecError(f"tolerance {key} given twice in {text!r}")
        named.add(key)
        if key == "reference":
            out = replace(out, reference=value)
            continue
        try:
            number = float(value)
        except ValueError:
            raise SpecError(f"tolerance {key} must be a number; got {value!r}") from None
        low = 1.0 if key in ("speed_ratio", "reference_slowdown") else 0.0
        if not number >= low:
            raise SpecError(f"tolerance {key} must be >= {low:g}; got {value!r}")
        out = replace(out, **{key: number})
    return out


CHECK_COLUMNS = [
    "task",
    "estimator",
    "metric",
    "scope",
    "baseline",
    "candidate",
    "change",
    "allowed",
    "gated",
    "regressed",
]


@dataclass
class Comparison:
    """Outcome of :func:`compare`.

    Attributes
    ----------
    checks : pandas.DataFrame
        One row per metric value: ``task``, ``estimator`` (label), ``metric``,
        ``scope`` (``all``, ``level=0.3``, ...), ``baseline``, ``candidate``,
        ``change`` (candidate - baseline), ``allowed`` (the tolerance, as a
        text such as ``"<= +0.005"``), ``gated`` and ``regressed``.
    cells : pandas.DataFrame
        Cells that succeeded in the baseline but not in the candidate:
        ``task`` (with the parameters that tell it from a task configuration only
        the candidate ran), ``estimator`` (the baseline's label, likewise),
        ``instance_index``, ``instance_id``, ``seed``,
        ``baseline_status``,
        ``candidate_status`` (``missing`` when absent), ``message``.
    matched, new_cells : int
        Cells present in both runs; cells only in the candidate (ignored).
    tolerances : Tolerances
    notes : list of str
    lost_configs : list of str
        Estimator configurations of the baseline the candidate did not run
        (displayed like ``estimator`` in :attr:`cells`).
    lost_tasks : list of str
        Task configurations (a task and its parameters) of the baseline the
        candidate did not run (displayed like ``task`` in :attr:`cells`).
    """

    checks: pd.DataFrame
    cells: pd.DataFrame
    matched: int
    new_cells: int
    tolerances: Tolerances
    notes: list[str] = field(default_factory=list)
    lost_configs: list[str] = field(default_factory=list)
    lost_tasks: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> pd.DataFrame:
        """The gated checks that failed."""
        return self.checks[self.checks["regressed"]]

    @property
    def regressed(self) -> bool:
        """True when any metric or cell regressed."""
        return bool(len(self.regressions) or len(self.cells))

    def format(self, only_regressions: bool = False) -> str:
        """A plain-text report: the checks per task, lost cells, notes and the verdict."""
        parts = []
        checks = self.regressions if only_regressions else self.checks
        for task, part in checks.groupby("task", sort=False):
            table = part.drop(columns=["task", "gated", "regressed"]).assign(
                verdict=np.where(part["regressed"], "REGRESSED", np.where(part["gated"], "ok", "-"))
            )
            text = table.to_string(index=False, float_format=_fmt, na_rep="-")
            parts.append(f"task {task}\n{text}")
        if len(self.cells) > CELL_LIST_LIMIT:
            text = lost_summary(self.cells).to_string(index=False, max_colwidth=60)
            parts.append(
                f"cells that succeeded in the baseline but not in the candidate "
                f"({len(self.cells)}, counted per task, estimator, status and message)\n{text}"
            )
        elif len(self.cells):
            text = self.cells.to_string(index=False, max_colwidth=60)
            parts.append(f"cells that succeeded in the baseline but not in the candidate\n{text}")
        parts.extend(f"note: {n}" for n in self.notes)
        n_bad = len(self.regressions)
        verdict = (
            f"REGRESSION: {n_bad} metric(s) and {len(self.cells)} cell(s) worse than the baseline"
            if self.regressed
            else "ok: no regression beyond the tolerances"
        )
        n_cfg = 0
        if len(self.cells):
            unrun = self.cells["task"].isin(self.lost_tasks)
            n_cfg = int((unrun | self.cells["estimator"].isin(self.lost_configs)).sum())
        if n_cfg:
            unrun_names = _and([*self.lost_tasks, *self.lost_configs])
            verdict += f" ({n_cfg} of them of {unrun_names}, not run by the candidate)"
        parts.append(f"{self.matched} cells compared; {verdict}")
        return "\n\n".join(parts)


#: Lost cells :meth:`Comparison.format` lists one per line up to this many;
#: beyond, it counts them per task, estimator, status and message.
CELL_LIST_LIMIT = 20


def lost_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """:attr:`Comparison.cells` counted per task, estimator, candidate status and
    message: ``cells``, ``instances`` (the instance indices, as ranges) and ``seeds``."""
    key = ["task", "estimator", "candidate_status", "message"]
    rows = []
    for values, part in cells.groupby(key, sort=False, dropna=False):
        rows.append(
            dict(
                zip(key[:3], values[:3], strict=True),
                cells=len(part),
                instances=int_spans(part["instance_index"], 4),
                seeds=int_spans(part["seed"], 4),
                message=values[3],
            )
        )
    return pd.DataFrame(rows, columns=[*key[:3], "cells", "instances", "seeds", "message"])


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def _key_frame(df: pd.DataFrame, side: str) -> pd.DataFrame:
    missing = [c for c in (*CELL_KEY, "status", "estimate", "label") if c not in df]
    if missing:
        raise InputError(f"{side} rows lack the column(s) {', '.join(missing)}")
    out = df.copy()
    ids = out["instance_id"] if "instance_id" in out else pd.Series(None, index=out.index)
    out["instance_id"] = ids.astype(object).where(ids.notna(), "")
    out["instance_index"] = out["instance_index"].astype("int64")
    out["seed"] = out["seed"].astype("int64")
    out["estimator_params"] = match_params(out["estimator"], out["estimator_params"], "estimator")
    out["task_params"] = match_params(out["task"], out["task_params"], "task")
    if out.duplicated(list(CELL_KEY)).any():
        raise InputError(f"{side} holds more than one row for a cell; load it without all_attempts")
    return out


def _check(
    task: str,
    label: str,
    metric: str,
    scope: str,
    base: float,
    cand: float,
    limit: float,
    higher_is_worse: bool,
) -> dict:
    change = cand - base
    worse_by = change if higher_is_worse else -change
    if np.isnan(base) or np.isnan(cand):
        regressed = bool(np.isnan(cand) and not np.isnan(base))
    else:
        regressed = bool(worse_by > limit + _EPS)
    sign = "+" if higher_is_worse else "-"
    allowed = f"<= {sign}{limit:g}" if higher_is_worse else f">= {sign}{limit:g}"
    return dict(
        task=task,
        estimator=label,
        metric=metric,
        scope=scope,
        baseline=base,
        candidate=cand,
        change=change,
        allowed=allowed,
        gated=True,
        regressed=regressed,
    )


def _accuracy_checks(task: str, base: pd.DataFrame, cand: pd.DataFrame, tol: Tolerances) -> list:
    """The gated accuracy checks of one task: MAE unless its estimates are scores
    (:data:`~harness.metrics.SCORE_SUMMARIES`), then its summary's own metric."""
    rows: list[dict] = []
    kind = summary_kind(base)
    if kind not in SCORE_SUMMARIES:
        eb, ec = error_table(base), error_table(cand)
        for label in eb.index:
            rows.append(
                _check(
                    task,
                    label,
                    "mae",
                    "all",
                    eb.at[label, "mae"],
                    ec.at[label, "mae"],
                    tol.mae,
                    True,
                )
            )
    if kind == "levels" and "level" in base:
        lb, lc = level_table(base), level_table(cand)
        for (label, level), row in lb.iterrows():
            cand_value = lc["mean_error"].get((label, level), np.nan)
            rows.append(
                _check(
                    task,
                    label,
                    "|mean error|",
                    f"level={level:g}",
                    abs(row["mean_error"]),
                    abs(cand_value),
                    tol.level_bias,
                    True,
                )
            )
    elif kind == "order" and {"triplet", "member"} <= set(base):
        ob, oc = order_table(base), order_table(cand)
        for label in pd.unique(base["label"]):
            rows.append(
                _check(
                    task,
                    label,
                    "order accuracy",
                    "all",
                    _accuracy(ob, label),
                    _accuracy(oc, label),
                    tol.order_accuracy,
                    False,
                )
            )
    elif kind == "auc" and "dependent" in base:
        # per trial and seed, then averaged: the AUC the report shows (and the paper's)
        ab, ac = auc_table(base, trials=TRIAL_COLUMNS), auc_table(cand, trials=TRIAL_COLUMNS)
        for key, row in ab.iterrows():
            key = key if isinstance(key, tuple) else (key,)
            scope = (
                ",".join(f"{n}={v}" for n, v in zip(ab.index.names[1:], key[1:], strict=True))
                or "all"
            )
            rows.append(
                _check(
                    task,
                    key[0],
                    "roc auc",
                    scope,
                    row["auc"],
                    ac["auc"].get(key if len(key) > 1 else key[0], np.nan),
                    tol.auc,
                    False,
                )
            )
    elif kind == "rank":
        for label in pd.unique(base["label"]):
            rows.append(
                _check(
                    task,
                    label,
                    "spearman",
                    "all",
                    _spearman(base, label),
                    _spearman(cand, label),
                    tol.spearman,
                    False,
                )
            )
    return rows


def _spearman(df: pd.DataFrame, label: str) -> float:
    part = df[(df["label"] == label) & (df["status"] == "ok")]
    if len(part) < 3:
        return np.nan
    agreement = rank_agreement(part["estimate"].to_numpy(), part["true_mi"].to_numpy())
    return float(agreement["spearman"])


def _accuracy(table: pd.DataFrame, label: str) -> float:
    part = table[table.index.get_level_values(0) == label]
    total = part["triplets"].sum()
    return float(part["correct"].sum() / total) if total else np.nan


def _speed_checks(
    task: str, base: pd.DataFrame, cand: pd.DataFrame, tol: Tolerances, notes: list[str]
) -> list:
    rows: list[dict] = []
    mb = base.groupby("label", sort=False)["seconds"].median()
    mc = cand.groupby("label", sort=False)["seconds"].median()
    ref_labels = pd.unique(base.loc[base["estimator"] == tol.reference, "label"])
    ref = ref_labels[0] if len(ref_labels) else None
    for label in mb.index:
        rows.append(
            dict(
                task=task,
                estimator=label,
                metric="median seconds",
                scope="all",
                baseline=mb[label],
                candidate=mc.get(label, np.nan),
                change=mc.get(label, np.nan) - mb[label],
                allowed="",
                gated=False,
                regressed=False,
            )
        )
    if ref is None:
        notes.append(f"{task}: no {tol.reference!r} rows, so no speed-ratio check")
        return rows
    if not (mb[ref] > 0 and mc.get(ref, 0) > 0):  # no reference time to divide by
        return rows
    limit = tol.reference_slowdown
    growth = mc[ref] / mb[ref]
    rows.append(
        dict(
            task=task,
            estimator=ref,
            metric="seconds / baseline seconds",
            scope="across runs",
            baseline=1.0,
            candidate=growth,
            change=growth - 1.0,
            allowed=f"<= x{limit:g}",
            gated=bool(np.isfinite(limit)),
            regressed=bool(np.isfinite(limit) and growth > limit * (1 + _EPS)),
        )
    )
    for label in mb.index:
        if label == ref:
            continue
        rb, rc = mb[label] / mb[ref], mc.get(label, np.nan) / mc[ref]
        regressed = bool(np.isfinite(tol.speed_ratio) and rc > tol.speed_ratio * rb * (1 + _EPS))
        rows.append(
            dict(
                task=task,
                estimator=label,
                metric=f"seconds / {ref} seconds",
                scope="same run",
                baseline=rb,
                candidate=rc,
                change=rc - rb,
                allowed=f"<= x{tol.speed_ratio:g}",
                gated=bool(np.isfinite(tol.speed_ratio)),
                regressed=regressed,
            )
        )
    return rows


def _check_reference(reference: str, base: pd.DataFrame, cand: pd.DataFrame) -> None:
    """Refuse a speed-ratio reference named by the caller that neither run holds."""
    names = pd.concat([base["estimator"], cand["estimator"]]).dropna().astype(str)
    present = sorted(set(names))
    if reference == Tolerances.reference or reference in present:
        return
    from harness.registry import did_you_mean

    raise SpecError(
        f"speed-ratio reference {reference!r} is an estimator of neither run"
        f"{did_you_mean(reference, present)}; "
        f"estimators present: {', '.join(present)}"
    )


class _Unmatched:
    """Configurations of one ``kind`` -- estimators or tasks, each a name and its
    parameters as matched -- that the baseline ran and the candidate did not, and
    what the candidate ran instead.

    ``notes`` say, per name, which configurations of the baseline have no
    counterpart and which of the candidate stand in their place; ``display``
    shows a baseline configuration with the parameters that tell it from those
    (the baseline's ``ksg`` at its default k is shown as ``ksg:k=5`` beside the
    candidate's ``ksg:k=3``, its ``gmm_levels`` as ``gmm_levels:per_level=20``
    beside the candidate's ``gmm_levels:per_level=5``), or where it has none, from
    the other configurations of its name in either run. ``standing_in`` marks the
    candidate's rows of a configuration the notes name as standing in.
    """

    def __init__(
        self,
        kind: str,
        base: pd.DataFrame,
        cand: pd.DataFrame,
        raw: tuple[pd.Series, pd.Series],
        report: str,
    ):
        label = "label" if kind == "estimator" else kind

        def configs(df: pd.DataFrame, raw_params: pd.Series) -> pd.DataFrame:
            cols = {"name": kind, "params": f"{kind}_params", "label": label}
            out = pd.DataFrame({k: df[c].to_numpy() for k, c in cols.items()})
            return out.assign(raw=raw_params.to_numpy())

        b, c = configs(base, raw[0]), configs(cand, raw[1])
        b_key = list(zip(b["name"], b["params"], strict=True))
        c_key = list(zip(c["name"], c["params"], strict=True))
        b_set, c_set = set(b_key), set(c_key)
        only_b = b[np.array([k not in c_set for k in b_key], dtype=bool)]
        new_c = np.array([k not in b_set for k in c_key], dtype=bool)
        self._kind = kind
        self._names: dict[tuple[str, str], str] = {}
        self.notes: list[str] = []
        self.lost: list[str] = []
        self.standing_in = np.zeros(len(c), dtype=bool)
        lost_b = only_b.drop_duplicates(["name", "params"])
        instead_c = c[new_c].drop_duplicates(["name", "params"])
        for name, lost in lost_b.groupby("name", sort=False):
            instead = instead_c[instead_c["name"] == name]
            keys = _differing([*lost["params"], *instead["params"]])
            if not keys:  # one configuration alone: told from the others of its name
                keys = _differing([*pd.unique(b.loc[b["name"] == name, "params"])])
            shown_b = [_with_params(x.label, x.raw, keys) for x in lost.itertuples()]
            shown_c = [_with_params(x.label, x.raw, keys) for x in instead.itertuples()]
            for x, text in zip(lost.itertuples(), shown_b, strict=True):
                self._names[(x.name, x.params)] = text
            self.lost += shown_b
            have = "has" if len(shown_b) == 1 else "have"
            head = f"baseline's {_and(shown_b)} {have} no counterpart in the candidate"
            if shown_c:
                self.standing_in |= new_c & (c["name"] == name).to_numpy()
                self.notes.append(
                    f"{head}, which ran {_and(shown_c)} — compare is for two runs of one grid; "
                    f"use `harness report {report}` to set different configurations side by side"
                )
            else:
                its = "its" if len(shown_b) == 1 else "their"
                self.notes.append(f"{head}; {its} cells count as lost")

    def display(self, rows: pd.DataFrame) -> pd.Series:
        """The configuration of each of ``rows`` (baseline rows) as shown: its label (the
        task's name), with the parameters that tell a configuration the candidate did
        not run from the ones it ran instead."""
        label = "label" if self._kind == "estimator" else self._kind
        keys = zip(rows[self._kind], rows[f"{self._kind}_params"], strict=True)
        shown = [self._names.get(k, lab) for k, lab in zip(keys, rows[label], strict=True)]
        return pd.Series(shown, index=rows.index, dtype=object)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _params(text: Any) -> dict:
    """Stored or matched parameter JSON as a dict, whole-number floats as ints."""
    return canonical_numbers(stored_params(text))


def _differing(params: list[str]) -> list[str]:
    """Keys whose (matched) values are not the same in all of ``params``."""
    return varying_keys([_params(p) for p in params])


def _with_params(label: str, raw: Any, keys: list[str]) -> str:
    """``label`` plus those of ``keys`` it does not show, valued from the stored ``raw``
    parameters (``ksg`` -> ``ksg:k=5``)."""
    from harness.registry import format_spec, parse_spec

    label = str(label)
    values = _params(raw)
    try:
        shown = parse_spec(label)[1]
    except SpecError:
        shown = {}
    extra = {k: values[k] for k in keys if k not in shown and k in values}
    if not extra:
        return label
    # spelled as the runner spells labels (format_spec), so the two read alike
    return label + ("," if ":" in label else ":") + format_spec("", extra)[1:]


def compare(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    tolerances: Tolerances | None = None,
    report_args: Sequence[str] = ("BASE", "CAND"),
) -> Comparison:
    """Check ``candidate`` against ``baseline``, two runs of the same grid.

    Parameters
    ----------
    baseline, candidate : pandas.DataFrame
        Result rows as :func:`results.load` returns them (a run id or an
        exported Parquet/CSV file), one row per cell.
    tolerances : Tolerances, optional
        Allowed worsening; default :class:`Tolerances`.
    report_args : sequence of str, optional
        The arguments of ``harness report`` that name the two runs (export files,
        or run ids and ``--store PATH``), for the notes on configurations the
        candidate did not run; default ``BASE CAND``.

    Returns
    -------
    Comparison
        ``regressed`` is True when a gated metric got worse by more than its
        tolerance, or a cell that succeeded in the baseline did not in the
        candidate.

    Raises
    ------
    InputError
        If a frame lacks the result columns, repeats a cell, or the runs share
        no cell (not the same grid).
    SpecError
        If ``tolerances.reference`` is not the default and is an estimator of
        neither run.
    """
    tol = tolerances or Tolerances()
    base, cand = _key_frame(baseline, "baseline"), _key_frame(candidate, "candidate")
    _check_reference(tol.reference, base, cand)
    key = list(CELL_KEY)
    merged = base[[*key, "label", "instance_id", "status"]].merge(
        cand[[*key, "status", "message"]] if "message" in cand else cand[[*key, "status"]],
        on=key,
        how="outer",
        suffixes=("_b", "_c"),
        indicator=True,
    )
    report = " ".join(shlex.quote(str(a)) for a in report_args)
    unmatched = {
        kind: _Unmatched(
            kind,
            base,
            cand,
            (baseline[f"{kind}_params"], candidate[f"{kind}_params"]),
            report,
        )
        for kind in ("task", "estimator")
    }
    tasks, configs = unmatched["task"], unmatched["estimator"]
    notes: list[str] = [*tasks.notes, *configs.notes]
    matched = int((merged["_merge"] == "both").sum())
    if matched == 0:
        hint = "".join(f"; {n}" for n in notes)
        raise InputError(
            "baseline and candidate share no cell (task, task_params, estimator, "
            f"estimator_params, instance_index, seed); they are not runs of the same grid{hint}"
        )
    new_cells = int((merged["_merge"] == "right_only").sum())
    unexplained = new_cells - int((tasks.standing_in | configs.standing_in).sum())
    if unexplained:
        notes.append(f"{unexplained} candidate cell(s) are not in the baseline and were ignored")
    lost = merged[(merged["status_b"] == "ok") & (merged["status_c"] != "ok")]
    cells = pd.DataFrame(
        {
            "task": tasks.display(lost),
            "estimator": configs.display(lost),
            "instance_index": lost["instance_index"],
            "instance_id": lost["instance_id"],
            "seed": lost["seed"],
            "baseline_status": lost["status_b"],
            "candidate_status": lost["status_c"].fillna("missing"),
            "message": lost["message"].fillna("") if "message" in lost else "",
        }
    ).reset_index(drop=True)
    both_ok = merged.loc[(merged["status_b"] == "ok") & (merged["status_c"] == "ok"), key]
    base_ok = base.merge(both_ok, on=key)
    cand_ok = cand.merge(both_ok, on=key)
    # metrics group by the baseline's labels, so a relabelled spec still lines up
    cand_ok = cand_ok.drop(columns="label").merge(base[[*key, "label"]], on=key)
    rows: list[dict] = []
    for task in pd.unique(base_ok["task"]):
        b, c = base_ok[base_ok["task"] == task], cand_ok[cand_ok["task"] == task]
        rows += _accuracy_checks(task, b, c, tol)
        rows += _speed_checks(task, b, c, tol, notes)
    checks = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    checks = checks.astype({"gated": bool, "regressed": bool})
    return Comparison(checks, cells, matched, new_cells, tol, notes, configs.lost, tasks.lost)
