"""Figures as self-contained SVG data URIs (matplotlib's object API; pyplot is never used).

Figures are built on :class:`matplotlib.figure.Figure` directly, so no GUI
backend is selected, nothing is shown and no global pyplot state changes. Text
is drawn as paths, so the SVG holds no text from run labels, and the page
embeds it as ``<img src="data:image/svg+xml;base64,...">``.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["INSIDE_MAX", "LINESTYLES", "MARKERS", "PALETTE", "Panel", "Series", "plot", "svg_uri"]

#: Okabe-Ito colours, safe for colour-blind readers, ordered so that the first ones
#: are far apart in hue (blue, orange, bluish green, reddish purple); yellow, faint on
#: white, comes last.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)

#: Marker and line style of each series variant: the runs of one estimator
#: (:func:`reports.series_styles.series_styles`).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.")

#: Most legend entries an axes draws inside itself; a figure with more on any axes
#: gets one legend below its panels instead, so the legend hides no data.
INSIDE_MAX = 6

#: Most columns of a legend below a figure.
_LEGEND_COLUMNS = 6

_RC = {
    "text.parse_math": False,  # a "$" in a run label is text, not mathtext
    "svg.fonttype": "path",
    "svg.hashsalt": "mi-harness-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#888888",
    "legend.frameon": False,
    "legend.fontsize": 8,
}


@dataclass
class Series:
    """One line or point set: ``x``, ``y``, optional ``yerr``: symmetric (one value per
    point) or ``(below, above)`` (two sequences, as :meth:`matplotlib.axes.Axes.errorbar`).

    ``style``: ``"line"`` (markers joined), ``"points"`` (markers only),
    ``"published"`` (dashed, x markers) or ``"truth"`` (thin black line).
    ``color`` indexes :data:`PALETTE`; ``variant`` picks the marker
    (:data:`MARKERS`) and the line style (:data:`LINESTYLES`) of a line or points.
    """

    label: str
    x: Sequence[float]
    y: Sequence[float]
    yerr: Sequence[float] | Sequence[Sequence[float]] | None = None
    color: int = 0
    style: str = "line"
    variant: int = 0


@dataclass
class Panel:
    """One axes: a title and its series."""

    title: str
    series: list[Series] = field(default_factory=list)


def svg_uri(fig) -> str:
    """Render ``fig`` to an SVG ``data:`` URI (base64)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _short(text: str, width: int = 48) -> str:
    """``text`` cut in the middle to ``width`` characters, so a label's start and its
    suffix (`` · n=300``, ``[run]``, ``d=128``) both stay readable."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 3
    return text[: width - 1 - tail] + "…" + text[-tail:]


def _draw(ax, s: Series) -> None:
    x = np.asarray(s.x, dtype=float)
    y = np.asarray(s.y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if s.yerr is not None:
        err = np.asarray(s.yerr, dtype=float)
        # error bars cannot be negative; rounding can leave -1e-14 where a bound meets y
        err = np.clip(np.where(np.isfinite(err), err, 0.0), 0.0, None)[..., keep]
    else:
        err = None
    x, y = x[keep], y[keep]
    if not len(x):
        return
    label = _short(s.label, 64)
    if label.startswith("_"):  # matplotlib leaves such labels out of legends
        label = "\u2009" + label
    if s.style == "truth":
        ax.plot(x, y, color="#222222", lw=1.0, ls="-", label=label, zorder=1)
        return
    color = PALETTE[s.color % len(PALETTE)]
    if s.style == "published":
        ax.plot(x, y, color=color, lw=1.0, ls="--", marker="x", ms=4, alpha=0.8, label=label)
        return
    ls = LINESTYLES[s.variant % len(LINESTYLES)] if s.style == "line" else "none"
    marker = MARKERS[s.variant % len(MARKERS)]
    ms = (3.5 if s.style == "line" else 6.0) + (2.0 if s.variant else 0.0)
    # later runs' markers hollow, so one drawn over another still shows
    face = color if s.variant == 0 else "none"
    if err is not None:
        ax.errorbar(
            x, y, yerr=err, color=color, lw=1.3, ls=ls, marker=marker, ms=ms, mfc=face,
            capsize=2, elinewidth=0.9, label=label, zorder=3,
        )  # fmt: skip
    else:
        ax.plot(
            x, y, color=color, lw=1.3, ls=ls, marker=marker, ms=ms, mfc=face, label=label,
            zorder=3,
        )  # fmt: skip


def plot(
    panels: Sequence[Panel],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    diagonal: bool = False,
    width: float = 6.4,
    height: float = 3.8,
) -> str:
    """Draw one or more panels side by side and return the SVG data URI.

    Parameters
    ----------
    diagonal : bool
        Draw the line y = x (the truth for estimate-vs-true plots).
    """
    import matplotlib
    from matplotlib.figure import Figure

    n = max(len(panels), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width if cols == 1 else 4.2 * cols, height * rows))
        axes = list(fig.subplots(rows, cols, squeeze=False).flat)
        for ax, panel in zip(axes, panels, strict=False):
            if diagonal:
                lo, hi = _range(panel.series)
                ax.plot([lo, hi], [lo, hi], color="#222222", lw=0.9, label="truth (y = x)")
            for s in panel.series:
                _draw(ax, s)
            _decorate(ax, panel, xlabel=xlabel, ylabel=ylabel, logx=logx, logy=logy)
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        _legends(fig, axes[: len(panels)])
        return svg_uri(fig)


def _decorate(ax, panel: Panel, *, xlabel: str, ylabel: str, logx: bool, logy: bool) -> None:
    """Margins, scales, axis labels and title of a drawn panel."""
    if any(s.style == "points" for s in panel.series):
        ax.margins(0.1)  # whole markers inside the frame, not cut by it
    if logx:
        xs = [v for ser in panel.series for v in ser.x]
        _log(ax.xaxis, ax.set_xscale, _grid_values(panel.series), _decades(xs))
    if logy:
        _log(ax.yaxis, ax.set_yscale, decades=_decades([v for ser in panel.series for v in ser.y]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if panel.title:
        ax.set_title(_short(panel.title, 60), fontsize=9)


def _legends(fig, axes: Sequence) -> None:
    """Lay ``fig`` out with its legends: each axes' inside it, where it hides the least
    data, while no axes has more than :data:`INSIDE_MAX` entries; else one below all."""
    most = max((len(ax.get_legend_handles_labels()[1]) for ax in axes), default=0)
    inside = most <= INSIDE_MAX
    if inside:
        for ax in axes:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best")
    fig.tight_layout()
    if not inside:  # after the layout, which leaves a figure's own legends out
        _legend_below(fig, axes)


def _legend_below(fig, axes: Sequence) -> None:
    """One legend for all ``axes`` (each label once), hanging below the figure in as many
    columns as its width holds; the saved figure (``bbox_inches="tight"``) grows to fit."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    width = fig.get_window_extent().width
    ncols = min(len(entries), _LEGEND_COLUMNS)
    while True:
        legend = fig.legend(
            list(entries.values()), list(entries), loc="upper center",
            bbox_to_anchor=(0.5, 0.0), ncols=ncols, borderaxespad=0.2,
        )  # fmt: skip
        if ncols == 1 or legend.get_window_extent().width <= width:
            return
        legend.remove()
        ncols -= 1


def _grid_values(series: Sequence[Series], most: int = 8) -> list[float] | None:
    """The x values of line plots over a few sizes (n = 50, 100, 200, 300), to tick at
    them; ``None`` for scatter plots or many values."""
    if any(s.style == "points" for s in series):
        return None
    xs = sorted({float(v) for s in series for v in s.x if np.isfinite(float(v)) and v > 0})
    return xs if 0 < len(xs) <= most else None


#: Decades a log axis may span and still be ticked at 1, 2 and 5 of each (wider:
#: at the powers of ten only, so the labels do not run into each other).
_DECADES_WITH_SUBTICKS = 3.0


def _decades(values: Sequence[float | None]) -> float:
    """Decades spanned by the positive finite ``values`` (0 with fewer than two)."""
    pos = [float(v) for v in values if v is not None and np.isfinite(float(v)) and float(v) > 0]
    return math.log10(max(pos) / min(pos)) if len(pos) > 1 else 0.0


def _log(axis, set_scale, ticks: Sequence[float] | None = None, decades: float = 0.0) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    set_scale("log")
    subs = (1.0, 2.0, 5.0) if decades <= _DECADES_WITH_SUBTICKS else (1.0,)
    axis.set_major_locator(FixedLocator(ticks) if ticks else LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _range(series: Sequence[Series]) -> tuple[float, float]:
    vals = [
        float(v) for s in series for v in (*s.x, *s.y) if v is not None and np.isfinite(float(v))
    ]
    if not vals:
        return 0.0, 1.0
    return min(vals), max(vals)
