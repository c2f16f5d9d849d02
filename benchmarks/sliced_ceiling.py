"""What limits sliced estimators on the Gaussian high-dimensional tasks?

    python -m benchmarks.sliced_ceiling order --out benchmarks/results/sliced_ceiling.csv
    python -m benchmarks.sliced_ceiling independence --out benchmarks/results/sliced_auc.csv
    python -m benchmarks.sliced_ceiling slice-noise --out benchmarks/results/slice_noise.csv
    python -m benchmarks.sliced_ceiling slice-noise --estimator infonet:grid=64 --estimator infonet
    python -m benchmarks.sliced_ceiling efficiency --sizes 50 --estimator infonet \
        --estimator infonet:checkpoint=benchmarks/candidates/infonet-shipped-b87d749c.pt \
        --estimator infonet:checkpoint=benchmarks/candidates/infonet-s30b-step110400.pt \
        --estimator ksg --estimator plugin --out benchmarks/results/slice_efficiency.csv
    python -m benchmarks.sliced_ceiling pooling --sizes 50 --estimator infonet:grid=64 \
        --estimator plugin --out benchmarks/results/slice_pooling.csv
    python -m benchmarks.sliced_ceiling composition --sizes 50 --estimator infonet \
        --out benchmarks/results/slice_composition.csv
    python -m benchmarks.sliced_ceiling symmetries --sizes 50 --per-class 24 \
        --estimator infonet:batch_size=1000 --out benchmarks/results/slice_symmetries.csv
    python -m benchmarks.sliced_ceiling draws --sizes 50 \
        --out benchmarks/results/slice_draw_ceiling.csv
    python -m benchmarks.sliced_ceiling omniglot --out benchmarks/results/omniglot_slices.csv

Every slice (theta^T X, phi^T Y) of a Gaussian pair is a bivariate Gaussian,
so its MI is exactly -1/2 ln(1 - r^2) with r the slice correlation.

``order``: averaging that over the directions the ``sliced`` wrapper (and
``infonet``) would use gives the exact sliced MI each estimator is trying to
estimate. Ordering the ``highdim_order`` triplets by it, rather than by an
estimate, gives the order accuracy of a perfect 1-D estimator with no sampling
noise: the ceiling of any sliced estimator on the task, for each number of
projections. CSV columns: recipe, d, projections, triplets, accuracy.

``independence``: on ``highdim_independence`` samples, the Gaussian plug-in
sliced estimator (each slice's MI from its sample correlation, 1000
projections) as the test score. It knows the data are Gaussian, so it is a
near-best case for a sliced test at each n: where its ROC AUC is near 1 the
sliced construction is not what holds an estimator back. CSV columns:
dependence, recipe, d, n, trials, projections, auc.

``slice-noise``: one slice at a time. A sliced test at d = 128 adds up slices
that each carry about 0.002 nats, so it rests on how much a 1-D estimate moves
with no dependence at all, and whether it moves with the statistic that
carries a Gaussian slice's dependence (the squared rank correlation). For each
estimator and n: mean, sd and excess kurtosis of the estimate over ``draws``
independent Gaussian pairs, its correlation there with the squared Spearman
correlation, and the ROC AUC (DeLong standard error) of rho (``--rho``, 0.2) against
rho = 0 on ``draws`` of each. CSV columns: estimator, n, draws, null_mean,
null_sd, null_kurtosis, corr_rank2, auc, auc_se, and each estimator's AUC minus the
first one's on the same draws with its paired (DeLong) standard error,
auc_vs_first and auc_vs_first_se (empty for the first): the way to compare two
checkpoints, whose AUCs differ by less than either's own error. ``--estimator
SPEC`` (repeatable; default ``infonet``, ``ksg`` and ``plugin``) and
``--sizes`` pick the rows.

``efficiency``: a sliced test compares the mean of many slice estimates, and
the slices of one sample are close to independent, so what one slice adds is
its shift under dependence over its spread under independence (mean over
sd, d'). For each estimator and n, on ``draws`` independent and ``draws``
rho-correlated (``--rho``, 0.1) Gaussian pairs: that d', the squared
Spearman correlation's d' on the same draws (the statistic that carries a
Gaussian slice's dependence), their squared ratio (efficiency: the rank
statistic's slices one slice of the estimator is worth; 0 for a d' <= 0)
and the excess kurtosis of the estimate under independence (rare large
values widen the sd). CSV columns: estimator, n, draws, rho, shift_sd,
rank2_shift_sd, efficiency, null_kurtosis.

``pooling``: a sliced estimate is the mean of its slice estimates; how much of
a sliced test's shortfall is a few heavy-tailed slices? On the samples of one
``highdim_independence`` cell (``--dependence``, ``--d``, ``--sizes``; task
seed 0, 1000 projections) the slice estimates of each ``--estimator`` (default
``infonet`` and ``plugin``) are pooled by their mean, their median and means
without each sample's largest 1, 5 and 10 %. CSV columns: estimator,
dependence, d, n, projections, pooling, auc, auc_se, auc_vs_mean,
auc_vs_mean_se (paired, DeLong).

``composition``: on the same cell's slices, how much of the sliced mean
follows each slice's squared Spearman correlation (the statistic that carries
a Gaussian slice's dependence) and how much is the estimator's own remainder,
and how well each part, and the mean squared Spearman correlation itself,
tells the classes apart (AUC and separation; ``--projections`` slices per
sample). CSV columns: estimator, dependence, d, n, projections, fit_r2,
independent_slice_sd, then auc_ and separation_ of mean, rank2_part,
remainder and rank2.

``draws``: the ceiling of a sliced test on one cell (``--dependence``, ``--d``,
``--sizes``; paper recipe, one trial per task seed ``0 .. --task-seeds - 1``)
under each seed ``0 .. --direction-seeds - 1`` of the ``--projections``
directions, drawn as ``infonet:seed=S`` draws them: the AUC of the sliced mean
of the Gaussian plug-in and of the squared Spearman correlation (slice
estimators whose only noise is the slice's sample correlation), beside KSG's
on the full vectors of the same samples. CSV columns: dependence, d, n,
projections, task_seed, direction_seed, plugin_auc, rank2_auc, ksg_auc.

``symmetries``: a slice's MI is unchanged by flipping the sign of either side or
swapping the two, a trained 1-D estimator only nearly so. Does averaging each
slice's estimate over the eight symmetries of the square (test-time
augmentation, eight forward passes per slice) help a sliced test as much as
more slices would? On the first ``--per-class`` samples of each class of one
cell (``--dependence``, ``--d``, ``--sizes``), with the harness's directions
(seed 0) and a second set (seed 1), for each ``--estimator`` (a registry spec;
default ``infonet``): the plain sliced mean, with each slice's u and v swapped
too, over all eight symmetries, with the second directions, and with both
direction sets. CSV columns: estimator, dependence, d, n, projections, samples,
score, passes (forward passes per slice of the first set), auc, auc_se,
separation, auc_vs_mean, auc_vs_mean_se (paired, DeLong) and
independent_slice_corr (where a score adds one set of slice estimates to the
plain one: their correlation per slice over the independent samples).

``omniglot``: the exact slice correlations of ``omniglot_smi`` from the
images' moments (:mod:`benchmarks.omniglot_slices`) at d = 4 on the shared
subsets: the task's 10 default alphabet choices, all 70 choices of 4 of the 8
alphabets, and 10 choices with ``min_chars=2`` (wider truths): per choice the
truth sum ln n_i, the mean over 1000 slices of -1/2 ln(1 - r^2) (the Gaussian
part of the sliced MI, no sampling noise) and of |r|, its direction-free limit in
many dimensions, and per configuration the Spearman correlation of each of the
two with the truth. ``--task`` replaces the three configurations with one
``omniglot_smi`` spec. CSV columns: task, choice, alphabets, chars, truth,
gaussian_smi, mean_abs_r, limit_smi, spearman, spearman_limit.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import estimators
import tasks
from benchmarks._common import csv_line
from benchmarks.omniglot_slices import gaussian_slice_mi
from estimators.sliced import random_directions
from harness.cli.arguments import int_list_arg
from harness.metrics import (
    TRIAL_COLUMNS,
    auc_table,
    delong,
    delong_difference_se,
    rank_agreement,
    separation,
)
from tasks.highdim_independence import PAIRS_PER_CLASS
from tasks.highdim_order import DIMS, RECIPES, HighDimOrder

PROJECTIONS = (100, 1000, 1500, 20000)


def exact_sliced_mi(cov: np.ndarray, d: int, px: np.ndarray, py: np.ndarray) -> float:
    """Mean over direction pairs ``(px[i], py[i])`` of the exact MI of the projected
    Gaussian pair; ``cov`` is the (2d, 2d) covariance of (X, Y)."""
    sxx, sxy, syy = cov[:d, :d], cov[:d, d:], cov[d:, d:]
    num = np.einsum("pi,ij,pj->p", px, sxy, py)
    vx = np.einsum("pi,ij,pj->p", px, sxx, px)
    vy = np.einsum("pi,ij,pj->p", py, syy, py)
    r2 = num**2 / (vx * vy)
    return float(np.mean(-0.5 * np.log1p(-r2)))


def plugin_slice_mi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """-1/2 ln(1 - r^2) per slice, r the sample correlation of ``a[i]`` and ``b[i]``
    (projected samples, shape (slices, n))."""
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return -0.5 * np.log1p(-(r**2))


def squared_rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Spearman correlation of each row pair of ``a`` and ``b`` (m, n): the
    statistic that carries a Gaussian slice's dependence (ties take midranks)."""
    from scipy.stats import rankdata

    n = a.shape[1]
    ra, rb = (rankdata(z, axis=1) - (n + 1) / 2 for z in (a, b))
    return (ra * rb).sum(axis=1) ** 2 / ((ra**2).sum(axis=1) * (rb**2).sum(axis=1))


def plugin_sliced_mi(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> float:
    """Mean over direction pairs of :func:`plugin_slice_mi` of the projected samples
    ``x @ px[i]`` and ``y @ py[i]`` (the Gaussian plug-in sliced MI)."""
    return float(np.mean(plugin_slice_mi(px @ x.T, py @ y.T)))


#: ``omniglot_smi`` configurations of the ``omniglot`` part.
OMNIGLOT_CASES = ("omniglot_smi:d=4", "omniglot_smi:d=4,choices=70", "omniglot_smi:d=4,min_chars=2")

#: (dependence, recipe) pairs of the Fig. 5 table in docs/highdim.md.
INDEPENDENCE_CASES = (
    ("one_feature", "paper"),
    ("independent_coords", "paper"),
    ("two_features", "paper"),
    ("two_features", "notebook"),
)


def independence_auc(
    dependence: str,
    recipe: str,
    d: int,
    n: int,
    trials: int = 2,
    projections: int = 1000,
    seed: int = 0,
) -> float:
    """ROC AUC of :func:`plugin_sliced_mi` as the score on ``highdim_independence``,
    averaged over trials as the harness summary does."""
    task = tasks.make(
        f"highdim_independence:dependence={dependence},d={d},n={n},trials={trials},recipe={recipe}"
    )
    rng = np.random.default_rng(seed)
    px, py = random_directions(projections, d, rng), random_directions(projections, d, rng)
    rows = [
        {
            "label": "plugin",
            "status": "ok",
            "estimate": plugin_sliced_mi(inst.x, inst.y, px, py),
            "dependent": inst.meta["dependent"],
            "trial": inst.meta["trial"],
            "seed": seed,
        }
        for inst in task.instances(seed)
    ]
    table = auc_table(pd.DataFrame(rows), by=[], trials=TRIAL_COLUMNS)
    return float(table["auc"].iloc[0])


def _slice_draws(n: int, draws: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``draws`` independent and ``draws`` rho-correlated standard Gaussian pairs of
    size ``n``, each (draws, n, 2)."""
    rng = np.random.default_rng(seed)
    null = rng.standard_normal((draws, n, 2))
    dep = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], size=(draws, n))
    return null, dep


def _slice_scores(spec: str, *samples: np.ndarray) -> list[np.ndarray]:
    """The estimates of ``spec`` (a registry spec or ``"plugin"``) on each (draws, n, 2)
    array of 1-D pairs."""
    if spec == "plugin":  # each draw is a 1-D pair, its own only slice
        return [plugin_slice_mi(z[..., 0], z[..., 1]) for z in samples]
    est = estimators.make(spec)
    return [np.asarray(est.estimate_batch(list(z[..., :1]), list(z[..., 1:]))) for z in samples]


def slice_efficiency(spec: str, n: int, draws: int = 2000, rho: float = 0.1, seed: int = 0) -> dict:
    """How far one slice of ``spec`` moves a sliced mean, against the squared rank
    correlation on the same draws (see the module docstring's ``efficiency``)."""
    from scipy.stats import kurtosis

    null, dep = _slice_draws(n, draws, rho, seed)
    score = _slice_scores(spec, null, dep)
    rank2 = [squared_rank_correlation(z[..., 0], z[..., 1]) for z in (null, dep)]

    def shift_sd(pair: list[np.ndarray]) -> float:
        return float((pair[1].mean() - pair[0].mean()) / pair[0].std(ddof=1))

    mine, reference = shift_sd(score), shift_sd(rank2)
    return {
        "estimator": spec,
        "n": n,
        "draws": draws,
        "rho": rho,
        "shift_sd": mine,
        "rank2_shift_sd": reference,
        "efficiency": (mine / reference) ** 2 if mine > 0 else 0.0,
        "null_kurtosis": float(kurtosis(score[0])),
    }


def slice_noise(
    spec: str,
    n: int,
    draws: int = 2000,
    rho: float = 0.2,
    seed: int = 0,
    first: np.ndarray | None = None,
) -> dict:
    """How a 1-D estimator (registry ``spec``, or ``"plugin"`` for :func:`plugin_slice_mi`)
    behaves on independent Gaussian pairs of size ``n``, and how
    well it tells ``rho`` from 0 (see the module docstring).

    The row's ``scores`` (the estimates on the null draws, then the dependent ones) can
    be passed back as ``first`` for another estimator on the same ``n``, ``draws``,
    ``rho`` and ``seed``: its row then has ``auc_vs_first``, its AUC minus the first
    one's on the same draws, with the paired DeLong standard error (the CSV columns of
    the same names)."""
    from scipy.stats import kurtosis

    null, dep = _slice_draws(n, draws, rho, seed)
    score = _slice_scores(spec, null, dep)
    rank2 = squared_rank_correlation(null[..., 0], null[..., 1])
    truth = np.r_[np.zeros(draws, bool), np.ones(draws, bool)]
    scores = np.r_[score[0], score[1]]
    both = scores if first is None else np.vstack([scores, first])
    auc, cov_auc = delong(truth, both)
    row = {
        "estimator": spec,
        "n": n,
        "draws": draws,
        "null_mean": float(score[0].mean()),
        "null_sd": float(score[0].std(ddof=1)),
        "null_kurtosis": float(kurtosis(score[0])),
        "corr_rank2": float(np.corrcoef(score[0], rank2)[0, 1]),
        "auc": float(auc[0]),
        "auc_se": float(np.sqrt(cov_auc[0, 0])),
        "auc_vs_first": float("nan"),
        "auc_vs_first_se": float("nan"),
        "scores": scores,
    }
    if first is not None:
        row["auc_vs_first"] = float(auc[0] - auc[1])
        row["auc_vs_first_se"] = delong_difference_se(cov_auc)
    return row


#: Fractions of each sample's largest slice estimates ``pooled_aucs`` drops before averaging.
TRIMS = (0.01, 0.05, 0.1)


def _cell_task(dependence: str, d: int, n: int) -> tasks.Task:
    """One trial of a ``highdim_independence`` cell, paper recipe."""
    return tasks.make(
        f"highdim_independence:dependence={dependence},d={d},n={n},trials=1,recipe=paper"
    )


def _slice_estimates(est: estimators.Estimator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``est``'s estimate of each slice (row) of projected samples ``a``, ``b``."""
    return np.asarray(est.estimate_batch(list(a[..., None]), list(b[..., None])))


def _cell_row(spec: str, dependence: str, d: int, n: int, projections: int) -> dict:
    """The columns that name an estimator's row on one cell."""
    return {"estimator": spec, "dependence": dependence, "d": d, "n": n, "projections": projections}


def cell_slices(
    spec: str, dependence: str, d: int, n: int, projections: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every slice estimate of one ``highdim_independence`` cell (paper recipe, one
    trial, task seed ``seed``), each sample cut into the ``projections`` slices the
    ``sliced`` wrapper and ``infonet`` use (direction seed 0), by the 1-D estimator
    ``spec`` (or ``"plugin"``, :func:`plugin_slice_mi`).

    Returns
    -------
    estimates, rank2 : ndarray of shape (samples, projections)
        The slice estimates and the slices' squared Spearman correlations.
    dependent : ndarray of shape (samples,), bool
    """
    from estimators.sliced import slices

    est = None if spec == "plugin" else estimators.make(spec)
    per_slice, rank2, labels = [], [], []
    for inst in _cell_task(dependence, d, n).instances(seed):
        a, b = slices(inst.x, inst.y, projections, 0)
        per_slice.append(plugin_slice_mi(a, b) if est is None else _slice_estimates(est, a, b))
        rank2.append(squared_rank_correlation(a, b))
        labels.append(bool(inst.meta["dependent"]))
    return np.array(per_slice), np.array(rank2), np.array(labels)


def draw_ceiling(
    dependence: str,
    d: int,
    n: int,
    projections: int = 1000,
    task_seeds: Sequence[int] = (0,),
    direction_seeds: Sequence[int] = range(10),
) -> Iterator[dict]:
    """How high a sliced test can get on one ``highdim_independence`` cell (paper
    recipe, one trial per task seed), draw by draw: for each task seed KSG's AUC on
    the full vectors, and for each seed of the directions (as ``infonet:seed=S`` and
    ``sliced:seed=S`` draw them) the AUC of the sliced mean of the Gaussian plug-in
    and of the squared Spearman correlation, slice estimators with no noise of their
    own beyond the slice's sample correlation."""
    from estimators.sliced import slices

    def auc(scores: list[float]) -> float:
        return float(delong(labels, np.asarray(scores))[0][0])

    ksg = estimators.make("ksg")
    for task_seed in task_seeds:
        samples = list(_cell_task(dependence, d, n).instances(task_seed))
        labels = np.array([bool(inst.meta["dependent"]) for inst in samples])
        ksg_auc = auc([ksg.estimate(inst.x, inst.y) for inst in samples])
        for seed in direction_seeds:
            plugin, rank2 = [], []
            for inst in samples:
                a, b = slices(inst.x, inst.y, projections, seed)
                plugin.append(plugin_slice_mi(a, b).mean())
                rank2.append(squared_rank_correlation(a, b).mean())
            yield {
                "dependence": dependence,
                "d": d,
                "n": n,
                "projections": projections,
                "task_seed": task_seed,
                "direction_seed": seed,
                "plugin_auc": round(auc(plugin), 4),
                "rank2_auc": round(auc(rank2), 4),
                "ksg_auc": round(ksg_auc, 4),
            }


def slice_composition(
    spec: str, dependence: str, d: int, n: int, projections: int = 1000, seed: int = 0
) -> dict:
    """How much of a sliced test's score follows the slices' own correlations.

    On one cell's slices (:func:`cell_slices`), each slice estimate is split
    into the part that a quadratic in the slice's squared Spearman correlation
    explains (least squares over every slice of the cell; no labels used) and
    the remainder. The row gives the share of the slice estimates' variance the
    quadratic explains (``fit_r2``), their sd over the independent samples'
    slices, and for the sliced mean, its two parts and, for reference, the mean
    squared Spearman correlation itself: the ROC AUC of each as the dependence
    score and the separation of the classes (:func:`harness.metrics.separation`).
    """
    raw, r2, labels = cell_slices(spec, dependence, d, n, projections, seed)
    design = np.stack([np.ones(r2.size), r2.ravel(), r2.ravel() ** 2], axis=1)
    coef, *_ = np.linalg.lstsq(design, raw.ravel(), rcond=None)
    fitted = (design @ coef).reshape(raw.shape)
    row = {
        **_cell_row(spec, dependence, d, n, projections),
        "fit_r2": float(1 - np.var(raw - fitted) / np.var(raw)),
        "independent_slice_sd": float(raw[~labels].std(ddof=1)),
    }
    scores = {
        "mean": raw.mean(axis=1),
        "rank2_part": fitted.mean(axis=1),
        "remainder": (raw - fitted).mean(axis=1),
        "rank2": r2.mean(axis=1),
    }
    aucs, _ = delong(labels, np.array(list(scores.values())))
    for (name, score), auc in zip(scores.items(), aucs, strict=True):
        row[f"auc_{name}"] = float(auc)
        row[f"separation_{name}"] = separation(labels, score)
    return row


def pooled_aucs(
    spec: str,
    dependence: str,
    d: int,
    n: int,
    projections: int = 1000,
    seed: int = 0,
    trims: tuple[float, ...] = TRIMS,
) -> list[dict]:
    """How the test score of a sliced estimator depends on how it pools its slices.

    On the ``highdim_independence`` samples of one cell (paper recipe, one trial,
    task seed ``seed``), each sample is cut into the ``projections`` slices the
    ``sliced`` wrapper and ``infonet`` use (direction seed 0) and the 1-D estimator
    ``spec`` (or ``"plugin"``, :func:`plugin_slice_mi`) estimates every slice. The
    slice estimates are then pooled by their mean (sliced MI, what the harness
    reports), their median, and means without each sample's largest ``trims``
    fraction. One row per pooling: its ROC AUC as the dependence score, with
    DeLong's standard error, and its AUC minus the mean's with the paired error.
    """
    per_slice, _, labels = cell_slices(spec, dependence, d, n, projections, seed)
    values = np.sort(per_slice, axis=1)
    pooled = {"mean": values.mean(axis=1), "median": np.median(values, axis=1)}
    for frac in trims:
        keep = projections - int(round(frac * projections))
        pooled[f"mean without top {frac:g}"] = values[:, :keep].mean(axis=1)
    auc, cov = delong(labels, np.array(list(pooled.values())))
    rows = []
    for i, name in enumerate(pooled):
        rows.append(
            {
                **_cell_row(spec, dependence, d, n, projections),
                "pooling": name,
                "auc": float(auc[i]),
                "auc_se": float(np.sqrt(cov[i, i])),
                "auc_vs_mean": float(auc[i] - auc[0]),
                "auc_vs_mean_se": delong_difference_se(cov, i, 0),
            }
        )
    return rows


#: The eight symmetries of the square, as (sign of u, sign of v, swap u and v): each
#: maps a slice to one with the same MI.
SQUARE_SYMMETRIES = tuple(
    (su, sv, swap) for swap in (False, True) for su in (1, -1) for sv in (1, -1)
)


def symmetry_scores(
    spec: str,
    dependence: str,
    d: int,
    n: int,
    projections: int = 1000,
    per_class: int = PAIRS_PER_CLASS,
    seed: int = 0,
) -> list[dict[str, object]]:
    """Averaging each slice over the symmetries of the square against more slices.

    A slice's MI is unchanged by flipping either side's sign or swapping the two;
    a trained estimator is only nearly invariant, so averaging a slice's estimate
    over the eight (:data:`SQUARE_SYMMETRIES`) is test-time augmentation. On the
    first ``per_class`` dependent and independent samples of one
    ``highdim_independence`` cell (paper recipe, one trial, task seed ``seed``),
    each sample is cut with the ``projections`` directions of seed 0 (the
    harness's) and of seed 1.

    Parameters
    ----------
    spec : str
        Registry spec of the 1-D estimator (``"infonet:batch_size=1000"``).
    dependence, d, n : str, int, int
        The cell.
    projections : int
        Slices per sample and direction set.
    per_class : int
        Samples of each class, 2 to 50 (all of the trial's).
    seed : int
        Task seed of the samples.

    Returns
    -------
    list of dict
        One row per score (the plain sliced mean; with each slice's u and v
        swapped too; over all eight symmetries; with the seed-1 directions; with
        both direction sets): forward passes per slice of the seed-0 set, ROC AUC
        with DeLong's standard error, separation, AUC minus the plain mean's with
        the paired error and, where the score adds one set of slice estimates to
        the plain one, the correlation of the two per slice over the independent
        samples.
    """
    from estimators.sliced import slices

    if not 2 <= per_class <= PAIRS_PER_CLASS:
        raise ValueError(f"per_class must be 2 to {PAIRS_PER_CLASS}; got {per_class}")
    est = estimators.make(spec)
    insts = list(_cell_task(dependence, d, n).instances(seed))
    chosen = [i for i in insts if i.meta["dependent"]][:per_class]
    chosen += [i for i in insts if not i.meta["dependent"]][:per_class]
    labels = np.array([bool(i.meta["dependent"]) for i in chosen])
    sym = np.empty((len(chosen), len(SQUARE_SYMMETRIES), projections))
    other = np.empty((len(chosen), projections))
    for k, inst in enumerate(chosen):
        a, b = slices(inst.x, inst.y, projections, 0)
        for j, (su, sv, swap) in enumerate(SQUARE_SYMMETRIES):
            sym[k, j] = _slice_estimates(est, *((sv * b, su * a) if swap else (su * a, sv * b)))
        other[k] = _slice_estimates(est, *slices(inst.x, inst.y, projections, 1))
    plain = sym[:, SQUARE_SYMMETRIES.index((1, 1, False))]
    swapped = sym[:, SQUARE_SYMMETRIES.index((1, 1, True))]
    ind = ~labels

    def corr(extra: np.ndarray) -> float:
        return float(np.corrcoef(plain[ind].ravel(), extra[ind].ravel())[0, 1])

    scores = {  # name: (score, passes per slice, per-slice correlation with the plain one)
        "sliced mean": (plain.mean(axis=1), 1, np.nan),
        "with u and v swapped": ((plain.mean(axis=1) + swapped.mean(axis=1)) / 2, 2, corr(swapped)),
        "all 8 symmetries": (sym.mean(axis=(1, 2)), 8, np.nan),
        "directions of seed 1": (other.mean(axis=1), 1, np.nan),
        "both direction sets": ((plain.mean(axis=1) + other.mean(axis=1)) / 2, 2, corr(other)),
    }
    auc, cov = delong(labels, np.array([v[0] for v in scores.values()]))
    rows = []
    for i, (name, (score, passes, slice_corr)) in enumerate(scores.items()):
        rows.append(
            {
                **_cell_row(spec, dependence, d, n, projections),
                "samples": len(chosen),
                "score": name,
                "passes": passes,
                "auc": float(auc[i]),
                "auc_se": float(np.sqrt(cov[i, i])),
                "separation": separation(labels, score),
                "auc_vs_mean": float(auc[i] - auc[0]),
                "auc_vs_mean_se": delong_difference_se(cov, i, 0),
                "independent_slice_corr": slice_corr,
            }
        )
    return rows


def member_covariances(model, d: int) -> list[np.ndarray]:
    """Covariances of (X, Y) and (X, Y') of one triplet."""
    cov = model.covariance()
    return [cov[np.ix_(idx, idx)] for idx in (np.r_[0:d, d : 2 * d], np.r_[0:d, 2 * d : 3 * d])]


def ceiling(recipe: str, per_d: int, projections=PROJECTIONS, seed: int = 0) -> list[dict]:
    """Order accuracy of the exact sliced MI per dimension and projection count.

    The directions are those of :func:`estimators.sliced.slices` with ``seed``
    (the same for both members of a triplet, as in a harness run).
    """
    task = HighDimOrder(per_d=per_d, recipe=recipe)
    rows = []
    for di, d in enumerate(DIMS):
        hits = {p: 0 for p in projections}
        for j in range(per_d):
            model = task.model(j * len(DIMS) + di)
            truth = model.mi()
            covs = member_covariances(model, d)
            for p in projections:
                rng = np.random.default_rng(seed)
                px, py = random_directions(p, d, rng), random_directions(p, d, rng)
                smi = [exact_sliced_mi(c, d, px, py) for c in covs]
                hits[p] += (smi[0] > smi[1]) == (truth[0] > truth[1])
        for p in projections:
            rows.append(
                {
                    "recipe": recipe,
                    "d": d,
                    "projections": p,
                    "triplets": per_d,
                    "accuracy": hits[p] / per_d,
                }
            )
    return rows


def _csv(value: object) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4f}"
    return str(value)


def _part_rows(args: argparse.Namespace) -> Iterator[dict]:
    """The CSV rows of the part ``args.part`` asks for, in order."""
    sizes = args.sizes
    if args.part == "order":
        for recipe in RECIPES:
            yield from ceiling(recipe, args.per_d)
    elif args.part == "slice-noise":
        first: dict[int, np.ndarray] = {}  # the first estimator's scores per n
        for spec in args.estimator or ["infonet", "ksg", "plugin"]:
            for n in sizes:
                row = slice_noise(spec, n, args.draws, args.rho, first=first.get(n))
                first.setdefault(n, row.pop("scores"))
                yield row
    elif args.part == "efficiency":
        for spec in args.estimator or ["infonet", "ksg", "plugin"]:
            for n in sizes:
                yield slice_efficiency(spec, n, args.draws, args.rho)
    elif args.part == "pooling":
        for spec in args.estimator or ["infonet", "plugin"]:
            for n in sizes:
                yield from pooled_aucs(spec, args.dependence, args.d, n)
    elif args.part == "draws":
        for n in sizes:
            yield from draw_ceiling(
                args.dependence, args.d, n, args.projections,
                range(args.task_seeds), range(args.direction_seeds),
            )  # fmt: skip
    elif args.part == "composition":
        for spec in args.estimator or ["infonet", "plugin"]:
            for n in sizes:
                yield slice_composition(spec, args.dependence, args.d, n, args.projections)
    elif args.part == "symmetries":
        for spec in args.estimator or ["infonet"]:
            for n in sizes:
                yield from symmetry_scores(
                    spec, args.dependence, args.d, n, args.projections, args.per_class
                )
    elif args.part == "omniglot":
        for spec in [args.task] if args.task else OMNIGLOT_CASES:
            rows = gaussian_slice_mi(tasks.make(spec))
            truth = [r["truth"] for r in rows]
            rho = {
                name: rank_agreement(np.array([r[column] for r in rows]), np.array(truth))[
                    "spearman"
                ]
                for name, column in (("spearman", "gaussian_smi"), ("spearman_limit", "limit_smi"))
            }
            for row in rows:
                # values of order 1e-4: four significant digits, not four decimals
                small = {k: f"{row[k]:.4g}" for k in ("gaussian_smi", "mean_abs_r", "limit_smi")}
                yield {"task": spec, **row, **small, **rho}
    else:
        for dependence, recipe in INDEPENDENCE_CASES:
            for d in (16, 128):
                for n in (50, 100, 200, 300, 1000):
                    yield {
                        "dependence": dependence,
                        "recipe": recipe,
                        "d": d,
                        "n": n,
                        "trials": args.trials,
                        "projections": 1000,
                        "auc": independence_auc(dependence, recipe, d, n, args.trials),
                    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "part",
        choices=[
            "order",
            "independence",
            "slice-noise",
            "efficiency",
            "pooling",
            "composition",
            "draws",
            "symmetries",
            "omniglot",
        ],
    )
    p.add_argument("--per-d", type=int, default=100, help="order: triplets per d")
    p.add_argument("--trials", type=int, default=2, help="independence: trials per cell")
    p.add_argument(
        "--draws", type=int, default=2000, help="slice-noise, efficiency: samples per rho"
    )
    p.add_argument(
        "--rho",
        type=float,
        default=None,
        help="slice-noise, efficiency: the dependent draws' correlation (default 0.2 and 0.1; "
        "0.06 is about a d = 128 slice's)",
    )
    p.add_argument(
        "--estimator",
        action="append",
        default=None,
        help="slice-noise, efficiency, pooling, composition: a registry spec or 'plugin'; "
        "symmetries: a registry spec (repeatable; default infonet, ksg, plugin for slice-noise "
        "and efficiency, infonet for symmetries, infonet and plugin for the others)",
    )
    p.add_argument(
        "--sizes",
        type=int_list_arg,
        default="50,100,300",
        help="slice-noise, efficiency, pooling, composition, draws, symmetries: sample sizes",
    )
    p.add_argument(
        "--dependence",
        default="independent_coords",
        help="pooling, composition, draws, symmetries: the cell's",
    )
    p.add_argument(
        "--d",
        type=int,
        default=128,
        help="pooling, composition, draws, symmetries: the cell's dimension",
    )
    p.add_argument(
        "--projections",
        type=int,
        default=1000,
        help="composition, draws, symmetries: slices per sample",
    )
    p.add_argument(
        "--per-class",
        type=int,
        default=PAIRS_PER_CLASS,
        help=f"symmetries: samples of each class, 2 to {PAIRS_PER_CLASS} (all)",
    )
    p.add_argument("--task-seeds", type=int, default=3, help="draws: task seeds 0 .. N-1")
    p.add_argument(
        "--direction-seeds", type=int, default=10, help="draws: direction seeds 0 .. N-1"
    )
    p.add_argument("--task", default=None, help="omniglot: one omniglot_smi spec")
    p.add_argument("--out", default=None, help="also write the CSV here")
    args = p.parse_args(argv)
    if args.rho is None:
        args.rho = 0.1 if args.part == "efficiency" else 0.2
    lines: list[str] = []
    for row in _part_rows(args):
        if not lines:
            lines.append(csv_line(row))
            print(lines[-1], flush=True)
        lines.append(csv_line([_csv(v) for v in row.values()]))
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
