"""Metrics derived from stored result rows (never stored themselves).

Every table is computed from a results DataFrame (:func:`results.load`) and
grouped by the estimator ``label`` (``"ksg:k=5"``), keeping labels in order of
first appearance. Error statistics use rows with status ``ok`` only; error
variance is the sample variance (``ddof=1``).

* :func:`error_table` -- MAE, bias, error variance, RMSE, median seconds, counts.
* :func:`level_table` -- mean error and variance per MI level (``gmm_levels``).
* :func:`error_components` -- error variance split into sampling and systematic
  parts, from several seeds per instance.
* :func:`order_table` -- order accuracy per K (or d) over (x, y, y') triplets
  (``gmm_order``, ``highdim_order``), with its binomial standard error and
  Wilson interval (:func:`wilson_interval`).
* :func:`order_difference` -- paired order-accuracy difference of two estimators
  on the same triplets, with its standard error.
* :func:`auc_table` -- ROC AUC of the estimate as a dependence score, with its
  standard error (:func:`delong`).
* :func:`auc_difference` -- paired AUC difference of two estimators scored on the
  same samples, with its standard error.
* :func:`mae_difference` -- the same for the mean absolute error.
* :func:`mean_se` -- standard error of a mean counting the seeds of one
  distribution as one draw (the paired differences' standard errors do the same).
* :func:`rank_table` -- Spearman rank agreement with the truth and one-constant
  rescaling (``omniglot_smi``, InfoNet Table 5), per group by :func:`rank_agreement`.
* :func:`latency_table` -- median seconds per estimate per sample size (InfoNet Table 1).
* :func:`summarize` -- the views a task's ``summary`` attribute asks for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "auc_difference",
    "auc_table",
    "delong",
    "delong_difference_se",
    "error_components",
    "error_table",
    "format_summary",
    "latency_table",
    "level_table",
    "mae_difference",
    "mean_se",
    "order_difference",
    "order_table",
    "paper_tables",
    "rank_agreement",
    "rank_table",
    "se_of_mean",
    "separation",
    "summarize",
    "summary_kind",
    "task_class",
    "wilson_interval",
    "SAMPLE_COLUMNS",
    "SCORE_SUMMARIES",
    "TRIAL_COLUMNS",
]

STATUS_COUNTS = ("ok", "failed", "timeout", "skipped")

TRIAL_COLUMNS = ("trial", "seed")
"""Columns that name one trial of an independence test (AUC per trial, then the mean)."""

SAMPLE_COLUMNS = ("task", "task_params", "instance_id", "instance_index", "seed", "n_samples")
"""Columns that together name one sample: rows of two estimators are paired on them
(the task's parameters too: an instance id such as ``level=0.1/0`` does not name
its set's seed)."""

SCORE_SUMMARIES = {
    "auc": "the estimates are test scores; the ROC AUC is their accuracy",
    "rank": "sliced estimates are compared with the truth after one constant",
}
"""Summaries whose estimates are not meant to equal ``true_mi``, with what scores them
instead: their error against the truth (MAE, per-cell |error|) is not a measure of
accuracy, so neither reports nor :func:`harness.compare.compare` use it."""

#: Truths closer than this (nats) rank as one value in :func:`rank_agreement`: sums of
#: the same logs in another order differ in their last bits, and must tie.
TRUTH_TIE = 1e-9

RANK_COLUMNS = (
    "count",
    "spearman",
    "c",
    "scale",
    "rescaled_mae",
    "rescaled_max_error",
    "rescaled_rel_error",
)


def _keys(df: pd.DataFrame) -> list[str]:
    return ["task", "label"] if "task" in df and df["task"].nunique() > 1 else ["label"]


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"]


def error_table(df: pd.DataFrame) -> pd.DataFrame:
    """Error statistics and outcome counts per estimator.

    Returns
    -------
    pandas.DataFrame
        Indexed by label: ``cells`` (all rows), ``ok``, ``failed``, ``timeout``,
        ``skipped``, ``mae``, ``bias`` (mean error), ``error_var``, ``rmse``,
        ``median_seconds``.
    """
    keys = _keys(df)
    counts = (
        df.groupby(keys, sort=False)["status"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=list(STATUS_COUNTS), fill_value=0)
    )
    counts.insert(0, "cells", counts.sum(axis=1))
    ok = _ok(df).assign(abs_error=lambda d: d["error"].abs(), sq_error=lambda d: d["error"] ** 2)
    g = ok.groupby(keys, sort=False)
    stats = pd.DataFrame(
        {
            "mae": g["abs_error"].mean(),
            "bias": g["error"].mean(),
            "error_var": g["error"].var(ddof=1),
            "rmse": np.sqrt(g["sq_error"].mean()),
            "median_seconds": g["seconds"].median(),
        }
    )
    out = counts.join(stats, how="left")
    out.columns.name = None
    return out.astype({c: "int64" for c in ("cells", *STATUS_COUNTS)})


INSTANCE_COLUMNS = ("task", "task_params", "instance_id", "instance_index", "n_samples")
"""Columns that together name one distribution at one sample size (seeds draw its samples)."""


def error_components(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Each estimator's error variance split into a sampling and a systematic part.

    With several seeds of one instance (the same distribution, fresh samples) an
    error is ``e_ij = b_i + s_ij``: ``b_i`` the estimator's own error on
    distribution ``i`` (what more samples would not remove) and ``s_ij`` the
    sampling noise of seed ``j``. As in a one-way random-effects analysis of
    variance, the mean over instances of the variance over seeds estimates
    Var(s), and the variance of the instance means less the mean of each
    instance's ``within / seeds`` estimates Var(b) (it can come out a little
    below zero by chance). Only instances with at least two ``ok`` seeds count.

    Parameters
    ----------
    df : pandas.DataFrame
        Result rows (:func:`results.load`).
    by : str, optional
        A column to split by as well (e.g. ``"level"``).

    Returns
    -------
    pandas.DataFrame
        Indexed by label (and ``by``): ``instances``, ``seeds`` (mean per
        instance), ``bias``, ``sampling_var``, ``systematic_var`` and
        ``systematic_share`` (systematic / (sampling + systematic)); empty when
        no instance has two seeds.
    """
    columns = ["instances", "seeds", "bias", "sampling_var", "systematic_var", "systematic_share"]
    if not {"instance_id", "instance_index"} & set(df):  # rows name no distribution
        return pd.DataFrame(columns=columns)
    ok = _ok(df)
    ok = ok[np.isfinite(ok["error"].astype(float))]
    keys = [*_keys(df), *([by] if by else [])]
    instance = [c for c in INSTANCE_COLUMNS if c in ok and c not in keys]
    per = ok.groupby([*keys, *instance], sort=False, dropna=False)["error"].agg(
        ["mean", "var", "size"]
    )
    per = per[per["size"] >= 2]
    if per.empty:
        return pd.DataFrame(columns=columns)
    g = per.groupby(level=keys, sort=True)
    out = pd.DataFrame(
        {
            "instances": g.size(),
            "seeds": g["size"].mean(),
            "bias": g["mean"].mean(),
            "sampling_var": g["var"].mean(),
        }
    )
    noise_in_means = (per["var"] / per["size"]).groupby(level=keys, sort=True).mean()
    out["systematic_var"] = g["mean"].var(ddof=1) - noise_in_means
    total = out["sampling_var"] + out["systematic_var"].clip(lower=0)
    out["systematic_share"] = out["systematic_var"].clip(lower=0) / total
    return _first_seen_order(out[columns], df)


def level_table(df: pd.DataFrame, level: str = "level") -> pd.DataFrame:
    """Mean error, error variance and MAE per estimator and MI level (paper Table 2)."""
    if level not in df:
        raise KeyError(f"no {level!r} column; level_table needs a task with MI levels")
    ok = _ok(df)
    g = ok.groupby([*_keys(df), level], sort=True)["error"]
    out = pd.DataFrame(
        {
            "count": g.size(),
            "mean_error": g.mean(),
            "error_var": g.var(ddof=1),
            "mae": g.apply(lambda e: e.abs().mean()),
        }
    )
    return _first_seen_order(out, df)


def _triplet_correct(df: pd.DataFrame, by: list[str], triplet: str, member: str) -> pd.Series:
    """1 where an estimator ordered a triplet's two members as their truths are, else 0,
    for complete ok triplets; indexed by the label keys, ``by``, the sample columns
    present without gaps (``task_params``, ``seed``, ``n_samples``) and ``triplet``."""
    for col in (triplet, member):
        if col not in df:
            raise KeyError(f"no {col!r} column; order_table needs a task with triplets")
    ok = _ok(df)
    # a column with gaps would drop its rows from the pivot, so it names no sample
    sample = [
        c
        for c in ("task_params", "seed", "n_samples")
        if c in ok and c not in by and ok[c].notna().all()
    ]
    wide = ok.pivot_table(
        index=[*_keys(df), *by, *sample, triplet],
        columns=member,
        values=["estimate", "true_mi"],
        aggfunc="first",
    )
    needed = [(v, m) for v in ("estimate", "true_mi") for m in (0, 1)]
    if wide.empty or any(c not in wide for c in needed):  # pivot_table drops all-NaN columns
        return pd.Series(dtype="int64")
    # a triplet without both estimates, or without both truths, is not scored
    wide = wide.dropna(subset=needed)
    est_sign = np.sign(wide[("estimate", 0)] - wide[("estimate", 1)])
    true_sign = np.sign(wide[("true_mi", 0)] - wide[("true_mi", 1)])
    return (est_sign == true_sign).astype("int64")


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion.

    Unlike p ± z·se it stays inside [0, 1] and has width at 0 % and 100 %
    (0 of 10 gives [0, 0.28] at 95 %), which is where accuracies near the
    ceiling sit.

    Parameters
    ----------
    successes, trials : array_like
        Counts, ``0 <= successes <= trials``, ``trials > 0``.
    level : float
        Two-sided coverage, in (0, 1).

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
    """
    from scipy.stats import norm

    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z2 = norm.ppf(0.5 + level / 2) ** 2
    p = k / n
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = np.sqrt(z2 * p * (1 - p) / n + z2 * z2 / (4 * n * n)) / (1 + z2 / n)
    # at 0 % and 100 % the bound is the proportion itself (rounding left 1 - 1e-16)
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.minimum(low, p), np.maximum(high, p)


_ORDER_COLUMNS = ("triplets", "correct", "accuracy", "accuracy_se", "accuracy_low", "accuracy_high")


def order_table(
    df: pd.DataFrame, by: str = "K", triplet: str = "triplet", member: str = "member"
) -> pd.DataFrame:
    """Accuracy of the order MI(x;y) vs MI(x;y') per estimator and ``by`` (paper Table 3).

    Rows of one triplet share ``triplet`` (and, where present, ``task_params``,
    ``seed`` and ``n_samples``: runs of other triplet sets or sizes reuse the
    triplet numbers); ``member`` 0 and 1 are its two pairs. A triplet is correct
    when ``sign(est0 - est1) == sign(true0 - true1)``; triplets missing an ``ok``
    member are left out.

    Returns
    -------
    pandas.DataFrame
        Indexed by (label, ``by``): ``triplets``, ``correct``, ``accuracy``,
        ``accuracy_se`` (binomial, sqrt(p (1 - p) / triplets)) and the 95 % Wilson
        interval ``accuracy_low``, ``accuracy_high``.
    """
    keys = _keys(df)
    by_keys = [by] if by in df else []
    correct = _triplet_correct(df, by_keys, triplet, member)
    if correct.empty:
        empty = pd.DataFrame(columns=list(_ORDER_COLUMNS))
        return empty.rename_axis(keys[0] if len(keys) == 1 else None)
    g = correct.groupby(level=[*keys, *by_keys], sort=True)
    out = pd.DataFrame({"triplets": g.size(), "correct": g.sum()})
    out["accuracy"] = out["correct"] / out["triplets"]
    out["accuracy_se"] = np.sqrt(out["accuracy"] * (1 - out["accuracy"]) / out["triplets"])
    out["accuracy_low"], out["accuracy_high"] = wilson_interval(out["correct"], out["triplets"])
    return _first_seen_order(out, df)


def order_difference(
    df: pd.DataFrame,
    first: str,
    second: str,
    by: str = "K",
    triplet: str = "triplet",
    member: str = "member",
    pooled: bool = False,
) -> pd.DataFrame:
    """Order accuracy of label ``first`` minus that of ``second``, on the same triplets.

    Only triplets both estimators scored completely on the same samples (same
    ``by``, task parameters, ``seed``, ``n_samples`` and ``triplet``) count. The standard error
    is that of a mean of paired differences of the 0/1 outcomes, sd(c1 - c2) /
    sqrt(triplets) with one seed: triplets that both get right (or wrong) cancel,
    so it is usually well below either accuracy's binomial error. The outcomes of
    one triplet under several seeds count as one draw (:func:`mean_se`).

    Parameters
    ----------
    pooled : bool
        One difference over all ``by`` groups instead of one per group.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by`` (when ``df`` has that column and not ``pooled``):
        ``triplets``, ``first``, ``second`` (the two accuracies), ``difference``,
        ``difference_se`` and ``z`` (difference / its standard error).
    """
    if "task" in df and df["task"].nunique() > 1:
        raise ValueError("order_difference takes the rows of one task")
    by_keys = [by] if by in df else []
    correct = _triplet_correct(df, by_keys, triplet, member)
    labels = correct.index.get_level_values("label") if not correct.empty else []
    sides = []
    for name in (first, second):
        if name not in set(labels):
            known = ", ".join(map(str, pd.unique(labels)))
            raise KeyError(f"no complete ok triplets of estimator {name!r}; have: {known}")
        sides.append(correct.xs(name, level="label"))
    both = pd.concat(sides, axis=1, keys=["first", "second"], join="inner")
    if both.empty:
        raise ValueError(f"{first!r} and {second!r} scored no triplet in common")
    return _paired_means(both, [] if pooled else by_keys, "triplets")


def _clustered_se(values: pd.Series, groups: list, units: list) -> pd.Series:
    """Standard error of the mean of ``values`` per group (``groups``: key arrays, none
    for one group), counting the values of one unit (``units``: key arrays; none: each
    value its own) as one draw: sqrt(G / (G - 1) * sum_u (sum_j (v_uj - mean))^2) / N
    over G units and N values, the cluster-robust standard error (sd / sqrt(N) with
    one value per unit); NaN for a group of one unit. Indexed like ``groupby(groups)``,
    or by 0 for one group."""
    values = values.astype(float)
    if not units:
        units = [np.arange(len(values))]
    if groups:
        dev = values - values.groupby(groups, dropna=False).transform("mean")
        sums = dev.groupby([*groups, *units], dropna=False).sum()
        g = (sums**2).groupby(level=list(range(len(groups))), dropna=False)
        count = values.groupby(groups, dropna=False).size()
    else:
        sums = (values - values.mean()).groupby(units, dropna=False).sum()
        g = (sums**2).groupby(lambda _: 0)
        count = pd.Series({0: len(values)})
    draws = g.size()
    square = g.sum()
    out = np.sqrt(draws / (draws - 1) * square) / count.reindex(draws.index)
    return out.where(draws > 1)


def mean_se(rows: pd.DataFrame, value: str, by: Sequence[str] = ()) -> pd.Series:
    """Standard error of the mean of column ``value`` over the ``rows`` of each ``by`` group.

    The rows of one distribution (one instance, :data:`INSTANCE_COLUMNS`: its
    seeds) count as one draw, since their errors share that distribution's own
    (:func:`error_components`): the cluster-robust standard error, sd / sqrt(N)
    with one row per distribution; NaN for a group of one distribution.

    Returns
    -------
    pandas.Series
        Indexed by the ``by`` groups (by 0 when ``by`` is empty).
    """
    by = list(by)
    if rows.empty:
        return pd.Series(dtype=float)
    units = [rows[c] for c in INSTANCE_COLUMNS if c in rows and c not in by]
    return _clustered_se(rows[value], [rows[c] for c in by], units)


def _paired_means(both: pd.DataFrame, by: list[str], count: str) -> pd.DataFrame:
    """Means of the paired columns ``first`` and ``second`` per ``by`` group, their
    difference and its standard error, and z.

    The standard error is that of a mean of the paired differences, the differences
    on one distribution under several seeds (index levels but ``seed`` alike)
    counting as one draw (:func:`_clustered_se`): an estimator's error on one
    distribution recurs across its seeds.
    """
    both = both.assign(difference=both["first"] - both["second"])
    g = both.groupby(level=by, sort=True) if by else both.groupby(lambda _: 0)
    names = [n for n in both.index.names if n is not None]
    units = (
        [both.index.get_level_values(n) for n in names if n not in by and n != "seed"]
        if "seed" in names
        else []
    )
    groups = [both.index.get_level_values(n) for n in by]
    out = pd.DataFrame(
        {
            count: g.size(),
            "first": g["first"].mean(),
            "second": g["second"].mean(),
            "difference": g["difference"].mean(),
            "difference_se": _clustered_se(both["difference"], groups, units),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = out["difference"] / out["difference_se"]
    return out if by else out.reset_index(drop=True)


def delong(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUCs of score vectors on the same items, and their covariance (DeLong et al. 1988).

    Each positive's placement is the share of negatives it outscores (ties count
    one half), each negative's the share of positives that outscore it; the AUC
    is the mean placement, and its covariance is estimated from the spread of
    the placements, ``S10 / m + S01 / n`` for ``m`` positives and ``n`` negatives.

    Parameters
    ----------
    truth : array of bool, shape (N,)
        Class of each item; both classes must be present.
    scores : array, shape (N,) or (k, N)
        One score vector per row, higher meaning "positive".

    Returns
    -------
    auc : ndarray, shape (k,)
    cov : ndarray, shape (k, k)
        Estimated covariance of the AUCs (NaN with fewer than two items of a class).
    """
    from scipy.stats import rankdata

    truth = np.asarray(truth, dtype=bool)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if s.shape[1] != truth.shape[0]:
        raise ValueError(f"scores have {s.shape[1]} items, truth {truth.shape[0]}")
    m, n = int(truth.sum()), int((~truth).sum())
    if m == 0 or n == 0:
        raise ValueError(f"need both classes; got {m} positive and {n} negative items")
    pos, neg = s[:, truth], s[:, ~truth]
    both = rankdata(s, axis=1)  # midranks: ties share their ranks
    # a positive's rank among all items minus its rank among the positives is the
    # number of negatives below it, ties counting one half
    v10 = (both[:, truth] - rankdata(pos, axis=1)) / n
    v01 = 1.0 - (both[:, ~truth] - rankdata(neg, axis=1)) / m
    auc = v10.mean(axis=1)
    k = s.shape[0]
    if m < 2 or n < 2:
        return auc, np.full((k, k), np.nan)
    c10, c01 = v10 - auc[:, None], v01 - auc[:, None]
    cov = c10 @ c10.T / ((m - 1) * m) + c01 @ c01.T / ((n - 1) * n)
    return auc, cov


def delong_difference_se(cov: np.ndarray, i: int = 0, j: int = 1) -> float:
    """Standard error of ``auc[i] - auc[j]`` from :func:`delong`'s covariance of scores
    on the same items (their AUCs are correlated, so it is usually well below either's)."""
    return math.sqrt(max(float(cov[i, i] + cov[j, j] - 2 * cov[i, j]), 0.0))


def separation(dependent: np.ndarray, scores: np.ndarray) -> float:
    """Difference of the two classes' mean scores over their pooled standard deviation.

    The AUC of a test whose scores are normal with that separation is
    ``Phi(separation / sqrt 2)``; unlike an AUC, it keeps telling models apart
    once both separate the classes completely.

    Parameters
    ----------
    dependent : array of bool (or 0/1), shape (m,)
        Class of each score; at least two of each.
    scores : array of float, shape (m,)

    Returns
    -------
    float
        NaN if any score is not finite; +-inf if the classes' means differ and
        neither class varies.
    """
    labels = np.asarray(dependent, dtype=bool)
    values = np.asarray(scores, dtype=np.float64)
    if min(labels.sum(), (~labels).sum()) < 2:
        raise ValueError("separation needs at least two scores of each class")
    if not np.all(np.isfinite(values)):
        return math.nan
    dep, ind = values[labels], values[~labels]
    diff = dep.mean() - ind.mean()
    pooled = np.sqrt(0.5 * (dep.var(ddof=1) + ind.var(ddof=1)))
    if pooled == 0:
        return math.copysign(math.inf, diff) if diff != 0 else 0.0
    return float(diff / pooled)


def _groups(df: pd.DataFrame, label: str, by, trials) -> tuple[list, list]:
    """The ``by`` and trial columns of an AUC table (defaults: ``d``, ``n_samples``)."""
    if label not in df:
        raise KeyError(f"no {label!r} column; AUC tables need a task with dependence labels")
    by = [c for c in ("d", "n_samples") if c in df] if by is None else list(by)
    per = [] if trials is None else [c for c in trials if c in df]
    return by, per


def _mean_over_trials(out: pd.DataFrame, index: list, means: list[str], se: dict[str, str]):
    """Per-trial rows -> one row per ``index`` group: counts summed, ``means``
    averaged, each standard error ``se[mean]`` combined as that of a mean of
    independent trials, sqrt(sum se^2) / trials; ``trials`` counts the trials."""
    if out.empty:  # no ok rows: the columns, no groups
        counts = [c for c in ("count", "positives", "pairs") if c in out]
        return pd.DataFrame(columns=[*index, *counts, *means, *se.values(), "trials"])
    index = index or ["_all"]
    g = out.assign(_all=0).groupby(index, sort=True)
    cols = {c: g[c].sum() for c in ("count", "positives", "pairs") if c in out}
    for c in means:
        cols[c] = g[c].mean()
        if c in se:
            cols[se[c]] = g[[c, se[c]]].apply(lambda t, c=c: se_of_mean(t[c], t[se[c]]))
    cols["trials"] = g[means[0]].count()
    return pd.DataFrame(cols).reset_index().drop(columns="_all", errors="ignore")


def se_of_mean(values: pd.Series, errors: pd.Series) -> float:
    """Standard error of the mean of the defined ``values`` (independent, errors ``errors``);
    NaN if one of them has none."""
    err = errors[values.notna()]
    if err.empty or err.isna().any():
        return float("nan")
    return math.sqrt(float((err**2).sum())) / len(err)


def auc_table(
    df: pd.DataFrame,
    label: str = "dependent",
    by: Sequence[str] | None = None,
    trials: Sequence[str] | None = None,
) -> pd.DataFrame:
    """ROC AUC of the estimate as a score for the binary column ``label``.

    Parameters
    ----------
    by : sequence of str, optional
        Extra grouping columns; default those of ``("d", "n_samples")`` present.
    trials : sequence of str, optional
        Columns naming a trial (``("trial", "seed")``). Given, the AUC is
        computed per trial and averaged over the trials of each group, as the
        InfoNet paper averages its ten trials; otherwise the rows of a group are
        pooled into one AUC.

    Returns
    -------
    pandas.DataFrame
        Indexed by label (and ``by``): ``count``, ``positives``, ``auc`` (NaN when
        a group has only one class), ``auc_se`` (DeLong's standard error, see
        :func:`delong`; for a mean over trials, that of the mean), and with
        ``trials`` also ``trials`` (the trials with both classes, whose AUCs
        are averaged).
    """
    by, per = _groups(df, label, by, trials)
    index = [*_keys(df), *by]
    rows = []
    for key, part in _ok(df).groupby([*index, *per], sort=True):
        truth = part[label].astype(bool).to_numpy()
        auc = se = float("nan")
        if 0 < truth.sum() < len(truth):
            a, cov = delong(truth, part["estimate"].to_numpy())
            auc, se = float(a[0]), math.sqrt(max(float(cov[0, 0]), 0.0))
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, len(part), int(truth.sum()), auc, se))
    out = pd.DataFrame(rows, columns=[*index, *per, "count", "positives", "auc", "auc_se"])
    if trials is not None:
        out = _mean_over_trials(out, index, ["auc"], {"auc": "auc_se"})
    return _first_seen_order(out.set_index(index), df)


def auc_difference(
    df: pd.DataFrame,
    first: str,
    second: str,
    label: str = "dependent",
    by: Sequence[str] | None = None,
    trials: Sequence[str] | None = None,
    match: Sequence[str] = SAMPLE_COLUMNS,
) -> pd.DataFrame:
    """AUC of estimator label ``first`` minus that of ``second``, paired on the same samples.

    Rows of the two labels are matched on the columns of ``match`` present
    (those naming one sample); only samples both scored ``ok`` count. Scored on
    the same samples, the two AUCs are correlated, and DeLong's covariance
    (:func:`delong`) gives the standard error of their difference, usually
    well below what the two separate errors suggest.

    Parameters
    ----------
    by, trials : as in :func:`auc_table`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by`` (if any): ``pairs`` (matched samples), ``first``,
        ``second`` (their AUCs), ``difference``, ``difference_se``, ``z``
        (difference / its standard error), and with ``trials`` also ``trials``.
    """
    by, per = _groups(df, label, by, trials)
    both = _paired(df, first, second, [*by, *per], match, [label])
    groups = both.groupby(level=[*by, *per], sort=True) if by or per else [((), both)]
    rows = []
    for key, part in groups:
        truth = part[label].astype(bool).to_numpy()
        a0 = a1 = se = float("nan")
        if 0 < truth.sum() < len(truth):
            a, cov = delong(truth, part[["estimate", "estimate_second"]].to_numpy().T)
            a0, a1 = float(a[0]), float(a[1])
            se = delong_difference_se(cov)
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, len(part), a0, a1, a0 - a1, se))
    stats = ["first", "second", "difference"]
    out = pd.DataFrame(rows, columns=[*by, *per, "pairs", *stats, "difference_se"])
    if trials is not None:
        out = _mean_over_trials(out, by, stats, {"difference": "difference_se"})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = out["difference"] / out["difference_se"]
    return out.set_index(by) if by else out


def _paired(
    df: pd.DataFrame,
    first: str,
    second: str,
    index: list[str],
    match: Sequence[str],
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """``ok`` rows of labels ``first`` and ``second`` side by side on the samples both
    estimated: ``estimate`` and ``estimate_second`` (plus ``extra`` columns of the
    first), indexed by ``index`` and the ``match`` columns present."""
    keys = [c for c in match if c in df and c not in index]
    ok = _ok(df)
    scored = []
    for name in (first, second):
        part = ok[ok["label"] == name]
        if part.empty:
            known = ", ".join(map(str, pd.unique(ok["label"])))
            raise KeyError(f"no ok rows of estimator {name!r}; have: {known}")
        part = part.set_index([*index, *keys])[["estimate", *extra]]
        if not part.index.is_unique:
            raise ValueError(
                f"rows of {name!r} do not name one sample each by {', '.join(keys) or 'nothing'}"
            )
        scored.append(part)
    second_estimate = scored[1][["estimate"]].rename(columns={"estimate": "estimate_second"})
    both = scored[0].join(second_estimate, how="inner")
    if both.empty:
        raise ValueError(f"{first!r} and {second!r} scored no sample in common")
    return both


def mae_difference(
    df: pd.DataFrame, first: str, second: str, match: Sequence[str] = SAMPLE_COLUMNS
) -> pd.DataFrame:
    """Mean absolute error of label ``first`` minus that of ``second``, on the same samples.

    Rows are matched as in :func:`auc_difference`; only samples both estimated
    (``ok``, finite truth) count. The standard error is that of a mean of
    paired differences, sd(|e1| - |e2|) / sqrt(pairs) with one seed: the samples'
    own difficulty cancels, so it is usually well below either MAE's own error.
    The differences on one distribution under several seeds count as one draw
    (:func:`mean_se`): an estimator's error on a distribution recurs across seeds.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task`` when ``df`` holds several tasks: ``pairs``,
        ``first``, ``second`` (the two MAEs), ``difference``, ``difference_se``
        and ``z`` (difference / its standard error).
    """
    by = _keys(df)[:-1]  # ["task"] when df holds several tasks
    both = _paired(df, first, second, by, match, ["true_mi"])
    both = both[np.isfinite(both["true_mi"].astype(float))]
    if both.empty:
        raise ValueError(f"{first!r} and {second!r} share no sample with a known truth")
    frame = pd.DataFrame(
        {
            "first": (both["estimate"] - both["true_mi"]).abs(),
            "second": (both["estimate_second"] - both["true_mi"]).abs(),
        }
    )
    return _paired_means(frame, by, "pairs")


def _tie_close(values: np.ndarray, tol: float) -> np.ndarray:
    """Ranks of the finite ``values`` (1, 2, ...) in which sorted neighbours less than
    ``tol`` apart share one rank (so a chain of such neighbours is one rank)."""
    order = np.argsort(values, kind="stable")
    step = np.r_[True, np.diff(values[order]) >= tol] if len(values) else np.array([], bool)
    ranks = np.empty(len(values))
    ranks[order] = np.cumsum(step)
    return ranks


def rank_agreement(estimate: np.ndarray, true_mi: np.ndarray) -> dict[str, float]:
    """Spearman rank agreement and the one-constant rescaling of estimates to the truth.

    Sliced MI is systematically below MI, so the paper compares it with the
    truth after multiplying by one constant. The paper does not say how the
    constant is chosen; here it is the least-squares fit through the origin of
    ``estimate ~ c * true_mi``, ``c = sum(e t) / sum(t^2)``, and the estimates
    are rescaled as ``e / c`` (the paper's constants, about 74.7 for d=4 and
    446 for d=9, are ``scale = 1 / c``).

    Parameters
    ----------
    estimate, true_mi : array-like of float
        Paired finite values.

    Returns
    -------
    dict of str to float
        ``count``; ``spearman`` (rho of :func:`scipy.stats.spearmanr`, truths
        within :data:`TRUTH_TIE` of each other tied; NaN with fewer than 2
        distinct values on either side); ``c``; ``scale``
        (``1 / c``); ``rescaled_mae`` (mean ``|e / c - t|``, nats);
        ``rescaled_max_error``; ``rescaled_rel_error`` (mean ``|e / c - t| / |t|``,
        NaN when a truth is 0). Rescaled values are NaN when ``c`` is 0 or
        undefined.
    """
    from scipy.stats import spearmanr

    e = np.asarray(estimate, dtype=float)
    t = np.asarray(true_mi, dtype=float)
    t_ranked = _tie_close(t, TRUTH_TIE) if np.isfinite(t).all() else t
    distinct = len(np.unique(e)) > 1 and len(np.unique(t_ranked)) > 1
    rho = float(spearmanr(e, t_ranked).statistic) if distinct else float("nan")
    tt = float(t @ t)
    c = float(e @ t) / tt if tt > 0 else float("nan")
    nan = float("nan")
    if np.isfinite(c) and c != 0:
        resid = np.abs(e / c - t)
        mae, worst, scale = float(resid.mean()), float(resid.max()), 1.0 / c
        rel = float(np.mean(resid / np.abs(t))) if np.all(t != 0) else nan
    else:
        mae = worst = scale = rel = nan
    return dict(zip(RANK_COLUMNS, (len(e), rho, c, scale, mae, worst, rel), strict=True))


def rank_table(df: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Rank agreement with the truth and the one-constant rescaling (InfoNet Table 5).

    Each group's row is :func:`rank_agreement` of its ok rows with finite
    estimate and truth; rows of every seed count as points.

    Parameters
    ----------
    by : sequence of str, optional
        Extra grouping columns; default those of ``("d", "n_samples")`` present.

    Returns
    -------
    pandas.DataFrame
        Indexed by label (and ``by``): the columns of :func:`rank_agreement`
        (``count``, ``spearman``, ``c``, ``scale``, ``rescaled_mae``,
        ``rescaled_max_error``, ``rescaled_rel_error``).
    """
    by = [c for c in ("d", "n_samples") if c in df] if by is None else list(by)
    ok = _ok(df)
    ok = ok[np.isfinite(ok["true_mi"].astype(float)) & np.isfinite(ok["estimate"].astype(float))]
    rows = []
    for key, part in ok.groupby([*_keys(df), *by], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        stats = rank_agreement(part["estimate"], part["true_mi"])
        rows.append((*key, *stats.values()))
    index = [*_keys(df), *by]
    out = pd.DataFrame(rows, columns=[*index, *RANK_COLUMNS]).set_index(index)
    return _first_seen_order(out, df)


def latency_table(df: pd.DataFrame, size: str = "n_samples") -> pd.DataFrame:
    """Median seconds per estimate per estimator and sample size (InfoNet Table 1).

    Batched estimators record a batch's time divided by its size, so the
    median is the per-distribution cost at that batch size.

    Returns
    -------
    pandas.DataFrame
        Indexed by (label, ``size``): ``count``, ``median_seconds``,
        ``min_seconds``, ``mean_seconds``.
    """
    if size not in df:
        raise KeyError(f"no {size!r} column; latency_table needs sample sizes")
    ok = _ok(df)
    g = ok.groupby([*_keys(df), size], sort=True)["seconds"]
    out = pd.DataFrame(
        {
            "count": g.size(),
            "median_seconds": g.median(),
            "min_seconds": g.min(),
            "mean_seconds": g.mean(),
        }
    )
    return _first_seen_order(out, df)


def _first_seen_order(out: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """Reorder the ``label`` level of ``out`` to the order labels appear in ``df``."""
    if out.empty:
        return out
    order = {lab: i for i, lab in enumerate(pd.unique(df["label"]))}
    pos = out.index.get_level_values("label").map(order)
    return out.iloc[np.lexsort([np.arange(len(out)), pos])]


def task_class(name: str) -> type | None:
    """The registered task class called ``name``; None for a task not installed (or
    not loading) where the rows are read."""
    try:
        import tasks

        return tasks.registry.get_class(str(name))
    except Exception:
        return None


def summary_kind(df: pd.DataFrame, task: str | None = None) -> str:
    """The summary a results frame calls for: its task class's (``task``, else the
    frame's one task), else guessed from columns."""
    names = [task] if task is not None else (pd.unique(df["task"]) if "task" in df else [])
    cls = task_class(names[0]) if len(names) == 1 else None
    if cls is not None:
        return str(cls.summary)
    if "level" in df:
        return "levels"
    if "triplet" in df and "member" in df:
        return "order"
    if "dependent" in df:
        return "auc"
    if "choice" in df:
        return "rank"
    return "error"


def summarize(df: pd.DataFrame, summary: str | None = None) -> dict[str, pd.DataFrame]:
    """The metric tables for a results frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows from :func:`results.load` or :func:`harness.run`.
    summary : str, optional
        ``"error"``, ``"levels"``, ``"order"``, ``"auc"``, ``"rank"`` or
        ``"latency"``; default the task class's ``summary`` attribute, else
        guessed from the meta columns.

    Returns
    -------
    dict of str to DataFrame
        Always ``"errors"`` (:func:`error_table`), plus ``"levels"``, ``"order"``
        (per ``K``, else per ``d``), ``"auc"`` (mean of per-trial AUCs, as in
        the paper), ``"rank"`` (:func:`rank_table`) or
        ``"latency"`` (:func:`latency_table`) where the task calls for it and the
        columns exist, and ``"components"`` (:func:`error_components`) where an
        instance was estimated under several seeds and its estimates are meant to
        equal the truth (not for :data:`SCORE_SUMMARIES`).
    """
    views = {"errors": error_table(df)}
    kind = summary or summary_kind(df)
    if kind == "levels" and "level" in df:
        views["levels"] = level_table(df)
    elif kind == "order" and "triplet" in df and "member" in df:
        views["order"] = order_table(df, by="K" if "K" in df or "d" not in df else "d")
    elif kind == "auc" and "dependent" in df:
        views["auc"] = auc_table(df, trials=TRIAL_COLUMNS)
    elif kind == "rank":
        views["rank"] = rank_table(df)
    elif kind == "latency" and "n_samples" in df:
        views["latency"] = latency_table(df)
    if kind not in SCORE_SUMMARIES and "error" in df:
        split = error_components(df)
        if not split.empty:
            views["components"] = split
    return views


def _wide(table: pd.DataFrame, column: str, scale: float = 1.0) -> pd.DataFrame:
    """``table[column]`` with its last index level (MI level, K, ...) as columns."""
    wide = (table[column] * scale).unstack(level=-1)
    wide = wide.reindex(pd.unique(table.index.droplevel(-1)))  # estimators in run order
    wide.columns = [_col(c) for c in wide.columns]
    return wide


def _col(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value == round(value, 1) else f"{value:g}"
    return str(value)


def paper_tables(views: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The summary views laid out as the papers' tables (estimators x level or K).

    Returns
    -------
    dict of str to DataFrame
        Titled tables: mean error and error variance per MI level (InfoNet Table 2),
        order accuracy in percent per K (Table 3) or d (Table 4), ROC AUC, rank
        agreement and rescaling (Table 5), median seconds per sample size
        (Table 1), then the per-estimator
        errors (MAE, bias, variance, RMSE, median seconds per estimate, outcomes).
    """
    out: dict[str, pd.DataFrame] = {}
    levels = views.get("levels")
    if levels is not None and len(levels):
        out["mean error per MI level (nats)"] = _wide(levels, "mean_error")
        out["error variance per MI level"] = _wide(levels, "error_var")
    order = views.get("order")
    if order is not None and len(order):
        name = order.index.names[-1]
        if name is not None and name != "label":
            out[f"order accuracy (%) per {name}"] = _wide(order, "accuracy", 100.0)
        else:
            out["order accuracy (%)"] = order[["accuracy"]] * 100.0
    auc = views.get("auc")
    if auc is not None and len(auc):
        out["ROC AUC"] = auc
    rank = views.get("rank")
    if rank is not None and len(rank):
        out["rank agreement with the truth and one-constant rescaling"] = rank
    latency = views.get("latency")
    if latency is not None and len(latency):
        out["median seconds per estimate per sample size"] = _wide(latency, "median_seconds")
    errors = views.get("errors")
    if errors is not None:
        out["errors over all instances (nats; seconds per estimate)"] = errors
    split = views.get("components")
    if split is not None and len(split):
        out["error variance, sampling vs systematic (nats^2)"] = split
    return out


def format_summary(views: dict[str, pd.DataFrame]) -> str:
    """Plain-text rendering of :func:`summarize` output as :func:`paper_tables`.

    Every column is shown in one format chosen from all its values (a table laid
    out as a paper's, whose columns are MI levels, K, d or n, in one format
    throughout); see :func:`column_format`. Only the text is rounded: the
    tables keep full precision.
    """
    parts = []
    for title, table in paper_tables(views).items():
        text = _formatted(table, title).to_string() if len(table) else "(empty)"
        parts.append(f"{title}\n{text}")
    return "\n\n".join(parts)


#: Most decimals a fixed-decimal column shows before it turns scientific.
_MAX_DECIMALS = 5


def _formatted(table: pd.DataFrame, title: str) -> pd.DataFrame:
    """``table`` as text, each numeric column in one format (a paper-layout table in one
    format throughout); missing values as ``-``."""
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    one_quantity = all(_is_number(c) for c in table.columns)
    groups = [numeric] if one_quantity else [[c] for c in numeric]
    out = table.astype(object).where(table.notna(), "-")
    for cols in groups:
        # variances and seconds span orders of magnitude: they keep significant digits
        name = title if one_quantity else str(cols[0])
        relative = "var" in name or "seconds" in name
        values = table[cols].to_numpy(dtype=float).ravel()
        spec = column_format(values, 3 if relative else 4, relative)
        for c in cols:
            out[c] = [_text(v, spec) for v in table[c]]
    return out


def _is_number(label: object) -> bool:
    try:
        float(str(label))
    except ValueError:
        return False
    return True


def _text(v: float, spec: str) -> str:
    if pd.isna(v):
        return "-"
    text = format(float(v), spec)
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"


def column_format(
    values: Sequence[float] | np.ndarray, significant: int = 4, relative: bool = False
) -> str:
    """The one format spec (``".4f"``, ``".2e"``...) for a column of ``values``.

    Whole numbers show no decimals. ``relative`` (variances, seconds, which span
    orders of magnitude): decimals for ``significant`` digits of the smallest
    non-zero magnitude, at most ``_MAX_DECIMALS`` and at most ``significant + 2``
    digits of the largest; scientific when that leaves the smallest fewer than
    two. Otherwise (errors, accuracies, counts): ``significant`` digits of the
    largest magnitude, at most four decimals; scientific when the largest is
    below 1e-3. A column that is not all whole numbers is scientific from
    magnitudes of a million up.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    mags = np.abs(finite[finite != 0])
    if not len(mags) or np.all(finite == np.round(finite)):
        return ".0f"
    lo, hi = (math.floor(math.log10(m)) for m in (mags.min(), mags.max()))
    if relative:
        decimals = max(0, min(significant - 1 - lo, significant + 1 - hi, _MAX_DECIMALS))
        sci = lo < 1 - decimals
    else:
        decimals = max(0, min(significant - 1 - hi, 4))
        sci = hi < -3
    return f".{significant - 1}e" if sci or hi >= 6 else f".{decimals}f"
