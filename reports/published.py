"""Published figures from the InfoNet paper (Hu et al., ICML 2024), for side-by-side tables.

Numbers are transcribed from the arXiv text (``infonet_arxiv.txt``), whose
tables extract cleanly; the ICML text garbles some rows of Tables 2 and 3
(KDE / MINE-500 mean errors, MINE-10 accuracies). Values are as printed,
including the KDE mean error of -0.350 at level 0.3 (probably -0.035), which
carries a note (:attr:`PublishedRow.notes`) the report shows as a † beside it.

Each row names the registry estimator it corresponds to and the parameters its
name fixes (``MINE-500`` is ``mine`` with ``steps=500``); a row without an
estimator (``Energy Distance``) is shown but never matched to ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PublishedRow", "PublishedTable", "TABLES", "match", "table"]

PAPER = "InfoNet (Hu et al., ICML 2024)"


@dataclass(frozen=True)
class PublishedRow:
    """One row of a published table: its printed name, values by column key, and a
    note on any value we doubt (by column key), shown as a footnote beside it."""

    name: str
    estimator: str | None
    params: dict[str, Any]
    values: dict[float, float]
    notes: dict[float, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedTable:
    """A published table: which quantity, over which column key, in which unit."""

    key: str
    caption: str
    column: str  # the meaning of the column keys: "n", "level", "K", "d"
    unit: str
    rows: tuple[PublishedRow, ...] = field(default_factory=tuple)


def _row(
    name: str,
    est: str | None,
    params: dict[str, Any],
    cols,
    vals,
    notes: dict[float, str] | None = None,
) -> PublishedRow:
    if len(cols) != len(vals):
        raise ValueError(f"{name}: {len(cols)} columns but {len(vals)} values")
    if notes and not set(notes) <= set(cols):
        raise ValueError(f"{name}: notes on columns it has not: {sorted(set(notes) - set(cols))}")
    values = dict(zip(cols, vals, strict=True))
    return PublishedRow(name, est, dict(params), values, dict(notes or {}))


#: The note on a printed value that is probably a typo (Table 2, KDE at level 0.3).
KDE_LEVEL_03 = "as printed in the paper; probably −0.035"


_N = (200, 500, 1000, 2000, 5000)
_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_K = tuple(range(1, 11))
_D = tuple(range(2, 11))

# Table 1: seconds per distribution (RTX 4090 + Threadripper PRO 5975WX); MINE with
# batch 100, lr 1e-3; "Ours-16" estimates 16 distributions in one batch (per distribution).
LATENCY = PublishedTable(
    "latency",
    f"{PAPER}, Table 1: seconds per estimate on GMMs vs sequence length n",
    "n",
    "s",
    (
        _row("KSG-1", "ksg", {"k": 1}, _N, (0.009, 0.024, 0.049, 0.098, 0.249)),
        _row("KSG-5", "ksg", {"k": 5}, _N, (0.010, 0.025, 0.049, 0.102, 0.253)),
        _row("KDE", "kde", {}, _N, (0.004, 0.021, 0.083, 0.32, 1.801)),
        _row("MINE-2000", "mine", {"steps": 2000}, _N, (3.350, 3.455, 3.607, 3.930, 4.157)),
        _row("MINE-500", "mine", {"steps": 500}, _N, (0.821, 0.864, 0.908, 0.991, 1.235)),
        _row("MINE-10", "mine", {"steps": 10}, _N, (0.017, 0.017, 0.019, 0.021, 0.027)),
        _row("Ours-1", "infonet", {"batch_size": 1}, _N, (0.010, 0.010, 0.011, 0.011, 0.013)),
        _row("Ours-16", "infonet", {"batch_size": 16}, _N, (0.001, 0.002, 0.002, 0.002, 0.003)),
    ),
)

# Table 2: error mean and variance per MI level (1000 GMMs per level, n = 2000).
LEVEL_MEAN = PublishedTable(
    "level_mean",
    f"{PAPER}, Table 2: mean error per MI level",
    "level",
    "nats",
    (
        _row("KSG", "ksg", {}, _LEVELS,
             (0.001, 0.001, 0.004, 0.006, 0.008, 0.009, 0.012, 0.015, 0.016, 0.014)),
        _row("KDE", "kde", {}, _LEVELS,
             (0.005, 0.010, -0.003, -0.350, -0.071, -0.109, -0.155, -0.199, -0.239, -0.292),
             {0.3: KDE_LEVEL_03}),
        _row("MINE-500", "mine", {"steps": 500}, _LEVELS,
             (-0.003, -0.058, -0.116, -0.173, -0.228, -0.294, -0.344, -0.399, -0.431, -0.485)),
        _row("MINE-100", "mine", {"steps": 100}, _LEVELS,
             (-0.008, -0.092, -0.173, -0.251, -0.336, -0.420, -0.504, -0.584, -0.658, -0.742)),
        _row("InfoNet", "infonet", {}, _LEVELS,
             (0.010, 0.004, 0.008, -0.024, -0.040, -0.063, -0.082, -0.101, -0.124, -0.138)),
    ),
)  # fmt: skip

LEVEL_VAR = PublishedTable(
    "level_var",
    f"{PAPER}, Table 2: error variance per MI level",
    "level",
    "nats²",
    (
        _row("KSG", "ksg", {}, _LEVELS,
             (2e-4, 3e-4, 4e-4, 5e-4, 6e-4, 8e-4, 9e-4, 9e-4, 1e-3, 1e-3)),
        _row("KDE", "kde", {}, _LEVELS,
             (0.010, 0.005, 0.001, 0.003, 0.004, 0.005, 0.010, 0.012, 0.014, 0.019)),
        _row("MINE-500", "mine", {"steps": 500}, _LEVELS,
             (4e-5, 0.001, 0.004, 0.008, 0.013, 0.018, 0.027, 0.039, 0.052, 0.060)),
        _row("MINE-100", "mine", {"steps": 100}, _LEVELS,
             (4e-5, 5e-4, 0.002, 0.005, 0.009, 0.012, 0.017, 0.025, 0.033, 0.040)),
        _row("InfoNet", "infonet", {}, _LEVELS,
             (1e-5, 1e-4, 3e-4, 8e-4, 0.001, 0.002, 0.004, 0.005, 0.007, 0.009)),
    ),
)  # fmt: skip

# Table 3: order accuracy (%) of MI(x;y) vs MI(x;y') over 2000 triplets per K.
ORDER_K = PublishedTable(
    "order_K",
    f"{PAPER}, Table 3: order accuracy (%) per number of GMM components K",
    "K",
    "%",
    (
        _row("KSG", "ksg", {}, _K, (98.7, 99.0, 98.2, 98.0, 97.9, 97.7, 97.6, 97.5, 97.0, 97.3)),
        _row("KDE", "kde", {}, _K, (97.4, 97.7, 97.9, 97.5, 97.9, 97.8, 97.0, 97.4, 97.4, 97.4)),
        _row("MINE-500", "mine", {"steps": 500}, _K,
             (98.5, 91.2, 90.8, 87.2, 84.5, 83.7, 81.2, 79.6, 81.3, 78.1)),
        _row("MINE-100", "mine", {"steps": 100}, _K,
             (94.6, 77.1, 75.4, 71.6, 67.5, 69.4, 66.5, 66.3, 68.7, 66.4)),
        _row("MINE-10", "mine", {"steps": 10}, _K,
             (60.9, 56.1, 55.1, 54.3, 52.4, 54.9, 53.7, 50.4, 53.1, 52.5)),
        _row("InfoNet", "infonet", {}, _K,
             (99.8, 99.5, 99.0, 99.2, 99.1, 99.2, 99.0, 99.2, 99.3, 99.5)),
    ),
)  # fmt: skip

# Table 4 (appendix A.6): order accuracy (%) on d-dimensional Gaussians; InfoNet-N
# averages N random projections (sliced MI), MINE-N trains N steps.
ORDER_D = PublishedTable(
    "order_d",
    f"{PAPER}, Table 4: order accuracy (%) on Gaussians per dimension d",
    "d",
    "%",
    (
        _row("KSG", "ksg", {}, _D, (94.4, 95.5, 91.8, 92, 94.1, 93.6, 94.1, 94.1, 94.2)),
        _row("Energy Distance", None, {}, _D,
             (49.6, 51.2, 52.2, 51.5, 52.5, 49.6, 48.7, 50.2, 51.3)),
        _row("MINE-100", "mine", {"steps": 100}, _D,
             (78.5, 82.1, 86.7, 84.7, 88.4, 89.8, 90.1, 90.4, 90)),
        _row("MINE-1000", "mine", {"steps": 1000}, _D,
             (93.6, 93.9, 94.4, 94.3, 91.6, 91.7, 89.5, 91, 90.3)),
        _row("MINE-5000", "mine", {"steps": 5000}, _D,
             (96.2, 97, 97, 96.2, 94.9, 94.2, 93.2, 92.8, 93)),
        _row("InfoNet-100", "infonet", {"projections": 100}, _D,
             (93.7, 94.6, 94.4, 95.7, 93.3, 95.8, 95.8, 95.4, 93.8)),
        _row("InfoNet-500", "infonet", {"projections": 500}, _D,
             (94.9, 93.7, 95.7, 95.8, 97.1, 96.4, 97.2, 97.8, 96.8)),
        _row("InfoNet-1500", "infonet", {"projections": 1500}, _D,
             (97.7, 96.4, 96.2, 97.9, 97.4, 98.1, 98.2, 97.3, 98.3)),
    ),
)  # fmt: skip

# Table 5 (appendix A.8): SpatialMultiOmniglot, ground-truth MI, InfoNet sliced MI and
# sliced MI times one constant, for seven alphabet choices (columns 1..7).
_V = tuple(range(1, 8))
OMNIGLOT = {
    4: {
        "truth": (11.69, 12.16, 13.21, 13.51, 14.19, 14.28, 15.41),
        "smi": (0.164, 0.167, 0.177, 0.178, 0.189, 0.190, 0.199),
        "scaled": (12.25, 12.47, 13.22, 13.30, 14.12, 14.20, 14.87),
    },
    9: {
        "truth": (26.96, 29.76, 30.01, 30.11, 30.87, 31.14, 32.12),
        "smi": (0.061, 0.067, 0.068, 0.068, 0.069, 0.070, 0.072),
        "scaled": (27.20, 29.88, 30.33, 30.33, 30.78, 31.22, 32.11),
    },
}
OMNIGLOT_CAPTION = f"{PAPER}, Table 5: Omniglot sliced MI vs ground truth, d = 4 and 9"

TABLES: dict[str, PublishedTable] = {
    t.key: t for t in (LATENCY, LEVEL_MEAN, LEVEL_VAR, ORDER_K, ORDER_D)
}


def table(key: str) -> PublishedTable:
    """The published table ``key`` (one of :data:`TABLES`)."""
    return TABLES[key]


def match(key: str, estimator: str, params: dict[str, Any]) -> PublishedRow | None:
    """The row of table ``key`` for our estimator ``estimator`` with full ``params``.

    A row matches when its estimator is ``estimator`` and every parameter its
    name fixes equals ours; of several matches the most specific wins.
    """
    best: PublishedRow | None = None
    for row in TABLES[key].rows:
        if row.estimator != estimator:
            continue
        if all(params.get(k) == v for k, v in row.params.items()):
            if best is None or len(row.params) > len(best.params):
                best = row
    return best
