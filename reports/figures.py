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

__all__ = [
    "INSIDE_MAX",
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "Panel",
    "Series",
    "look",
    "plot",
    "shorten",
    "svg_uri",
]

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

#: Marker and line style of each series variant: the runs and settings of one
#: estimator (:func:`reports.series_styles.series_styles`); colours past the palette's
#: end take them further on as well (:func:`look`).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "p", "h", "<", ">")
LINESTYLES = ("-", "--", ":", "-.")

#: How far each round of the palette moves a colour's markers along :data:`MARKERS`:
#: the first four variants of colours ``i`` and ``i + len(PALETTE)`` share no marker.
_ROUND_STEP = 4

#: Most legend entries an axes draws inside itself; a figure with more on any axes, or
#: with an axes where no place for its legend is free of data, gets one legend below
#: its panels instead, so the legend hides no data.
INSIDE_MAX = 6

#: Most columns of a legend below a figure.
_LEGEND_COLUMNS = 6

_RC = {
    "text.parse_math": False,  # a "$" in a run label is text, not mathtext
    "svg.fonttype": "none",  # text stays text: a third of each figure was glyph outlines
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
    ``color`` and ``variant`` pick the colour, marker and line style (:func:`look`).
    ``text``: written beside the first point (a scatter's points named where they
    are), clear of the other points and texts.
    """

    label: str
    x: Sequence[float]
    y: Sequence[float]
    yerr: Sequence[float] | Sequence[Sequence[float]] | None = None
    color: int = 0
    style: str = "line"
    variant: int = 0
    text: str = ""


@dataclass
class Panel:
    """One axes: a title, its series and optionally its y limits (``None`` for a bound
    left to the data)."""

    title: str
    series: list[Series] = field(default_factory=list)
    ylim: tuple[float | None, float | None] | None = None


def look(color: int, variant: int) -> tuple[str, str, str, bool]:
    """The colour, marker, line style and whether the marker is filled of a series of
    colour index ``color`` and ``variant``.

    Colour ``i`` is ``PALETTE[i % len(PALETTE)]``; each round of the palette moves the
    marker :data:`_ROUND_STEP` places on and the line style one, so that colour 8 (blue
    again) is told from colour 0 by its marker and line style. A variant above 0 has
    a hollow marker, so that one drawn over another still shows.
    """
    turn = color // len(PALETTE)
    return (
        PALETTE[color % len(PALETTE)],
        MARKERS[(variant + _ROUND_STEP * turn) % len(MARKERS)],
        LINESTYLES[(variant + turn) % len(LINESTYLES)],
        variant == 0,
    )


def svg_uri(fig) -> str:
    """Render ``fig`` to an SVG ``data:`` URI (base64)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def shorten(text: str, width: int = 48) -> str:
    """``text`` cut in the middle to ``width`` characters, so a label's start and its
    suffix (`` · n=300``, ``[run]``, ``d=128``) both stay readable."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 3
    return text[: width - 1 - tail] + "…" + text[-tail:]


def _legend_label(s: Series) -> str:
    """The label a series has in its legend."""
    label = shorten(s.label, 64)
    if label.startswith("_"):  # matplotlib leaves such labels out of legends
        label = "\u2009" + label
    return label


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
    label = _legend_label(s)
    if s.style == "truth":
        ax.plot(x, y, color="#222222", lw=1.0, ls="-", label=label, zorder=1)
        return
    color, marker, ls, filled = look(s.color, s.variant)
    if s.style == "published":
        mark = "x" if s.color < len(PALETTE) else "+"
        ax.plot(x, y, color=color, lw=1.0, ls="--", marker=mark, ms=4, alpha=0.8, label=label)
        return
    ls = ls if s.style == "line" else "none"
    ms = (3.5 if s.style == "line" else 6.0) + (0.0 if filled else 2.0)
    face = color if filled else "none"
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


#: The legend label of the line y = x.
_DIAGONAL = "truth (y = x)"


def plot(
    panels: Sequence[Panel],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    diagonal: bool = False,
    zero: bool = False,
    width: float = 6.4,
    height: float = 3.8,
    panel_width: float = 4.2,
) -> str:
    """Draw one or more panels side by side and return the SVG data URI.

    Parameters
    ----------
    diagonal : bool
        Draw the line y = x (the truth for estimate-vs-true plots).
    zero : bool
        Draw the line y = 0 (no error, for error-vs-truth plots).
    width, panel_width, height : float
        Inches: the width of a figure of one panel, else of each panel; each panel's height.
    """
    import matplotlib
    from matplotlib.figure import Figure

    n = max(len(panels), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width if cols == 1 else panel_width * cols, height * rows))
        axes = list(fig.subplots(rows, cols, squeeze=False).flat)
        for ax, panel in zip(axes, panels, strict=False):
            if diagonal:
                lo, hi = _range(panel.series)
                ax.plot([lo, hi], [lo, hi], color="#222222", lw=0.9, label=_DIAGONAL)
            if zero:
                ax.axhline(0.0, color="#222222", lw=0.9, zorder=1)
            for s in panel.series:
                _draw(ax, s)
            _decorate(ax, panel, xlabel=xlabel, ylabel=ylabel, logx=logx, logy=logy)
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        fig.tight_layout()
        for ax, panel in zip(axes, panels, strict=False):
            _write_texts(ax, panel.series)
        order = [_DIAGONAL, *(_legend_label(s) for p in panels for s in p.series)]
        _legends(fig, axes[: len(panels)], order)
        return svg_uri(fig)


def _decorate(ax, panel: Panel, *, xlabel: str, ylabel: str, logx: bool, logy: bool) -> None:
    """Margins, scales, limits, axis labels and title of a drawn panel."""
    if any(s.style == "points" for s in panel.series):
        ax.margins(0.1)  # whole markers inside the frame, not cut by it
    if logx:
        xs = [v for ser in panel.series for v in ser.x]
        _log(ax.xaxis, ax.set_xscale, _grid_values(panel.series), _decades(xs))
    if logy:
        _log(ax.yaxis, ax.set_yscale, decades=_decades([v for ser in panel.series for v in ser.y]))
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if panel.title:
        ax.set_title(shorten(panel.title, 60), fontsize=9)


#: Where a point's text may go, in points from the point: beside it, then above or
#: below it, then further off (joined to it by a thin line).
_TEXT_OFFSETS = (
    (7, 0), (-7, 0), (5, 6), (5, -6), (-5, 6), (-5, -6), (0, 10), (0, -10),
    *((dx, dy) for r in (16, 26, 36, 48) for dy in (r, -r) for dx in (8, -8)),
)  # fmt: skip


def _write_texts(ax, series: Sequence[Series]) -> None:
    """Write each series' :attr:`Series.text` beside its first point: at the first of
    :data:`_TEXT_OFFSETS` where it covers no marker, error bar or text already written
    and stays inside the axes (else where it covers the fewest)."""
    points = [
        (float(s.x[0]), float(s.y[0]), s.text)
        for s in series
        if s.text and len(s.x) and np.isfinite(float(s.x[0])) and np.isfinite(float(s.y[0]))
    ]
    if not points:
        return
    frame = ax.get_window_extent()
    taken = _marks(ax)
    for x, y, text in sorted(points, key=lambda p: (p[0], p[1])):
        best = None
        for dx, dy in _TEXT_OFFSETS:
            note = _note(ax, text, (x, y), (dx, dy))
            box = note.get_window_extent().padded(1.0)
            note.remove()
            outside = not (frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1))
            covered = sum(box.overlaps(t) for t in taken) + 2 * outside
            if best is None or covered < best[0]:
                best = (covered, (dx, dy), box)
            if covered == 0:
                break
        _note(ax, text, (x, y), best[1], leader=abs(best[1][1]) > 10)
        taken.append(best[2])


def _note(
    ax, text: str, xy: tuple[float, float], offset: tuple[float, float], leader: bool = False
):
    """``text`` written ``offset`` points from data point ``xy``, on the side the offset
    points to; with a thin ``leader`` line back to the point."""
    dx, dy = offset
    return ax.annotate(
        text, xy, xytext=offset, textcoords="offset points", fontsize=7, color="#333333",
        ha="left" if dx > 0 else "right" if dx < 0 else "center",
        va="bottom" if dy > 0 else "top" if dy < 0 else "center", zorder=4,
        arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.6, "shrinkA": 0,
                    "shrinkB": 3} if leader else None,
    )  # fmt: skip


def _marks(ax, pad: float = 1.5) -> list:
    """Display boxes of what a text must not cover on ``ax``: each marker (``pad``
    pixels around its point) and each error bar."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.transforms import Bbox

    boxes = []
    for artist in ax.get_children():
        if isinstance(artist, Line2D) and artist.get_marker() not in (None, "None", "", " "):
            xy = artist.get_transform().transform(artist.get_xydata())
            half = pad + artist.get_markersize() / 2 * ax.figure.dpi / 72
            boxes.extend(Bbox([[px - half, py - half], [px + half, py + half]]) for px, py in xy)
        elif isinstance(artist, LineCollection):
            for path in artist.get_paths():
                ext = artist.get_transform().transform_path(path).get_extents()
                boxes.append(ext.padded(1.0))
    return [b for b in boxes if np.isfinite(b.get_points()).all()]


def _covers_data(ax, box) -> bool:
    """Whether display box ``box`` covers any line, marker, error bar or text of ``ax``."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    if any(box.overlaps(b) for b in _marks(ax, pad=2.0)):
        return True
    for artist in ax.get_children():
        if isinstance(artist, Line2D) and artist.get_linestyle() not in ("None", "none", ""):
            path = artist.get_transform().transform_path(artist.get_path())
            if path.intersects_bbox(box, filled=False):
                return True
        elif isinstance(artist, LineCollection):
            for path in artist.get_paths():
                if artist.get_transform().transform_path(path).intersects_bbox(box, filled=False):
                    return True
        elif isinstance(artist, Text) and artist.get_visible() and artist.get_text():
            if artist is not ax.title and box.overlaps(artist.get_window_extent()):
                return True
    return False


#: Legend locations tried inside an axes, in this order (the first that covers no data).
_INSIDE_LOCATIONS = (
    "upper left", "upper right", "lower right", "lower left", "upper center",
    "lower center", "center left", "center right", "center",
)  # fmt: skip


def _entries(ax, order: Sequence[str]) -> tuple[list, list[str]]:
    """The legend handles and labels of ``ax`` in the ``order`` of their labels (as the
    series were given; matplotlib lists plain lines before error-bar lines)."""
    pairs = list(zip(*ax.get_legend_handles_labels(), strict=True))
    rank = {label: i for i, label in reversed(list(enumerate(order)))}
    pairs.sort(key=lambda p: rank.get(p[1], len(rank)))
    return [h for h, _ in pairs], [label for _, label in pairs]


def _legends(fig, axes: Sequence, order: Sequence[str] = ()) -> None:
    """Each axes' legend inside it where it has at most :data:`INSIDE_MAX` entries and
    some place there covers no data (line, marker, error bar or text); else one legend
    for all, below them; entries in the ``order`` of their labels. Call after the
    layout, which leaves a figure's own legends out."""
    most = max((len(ax.get_legend_handles_labels()[1]) for ax in axes), default=0)
    if most == 0:
        return
    placed = []
    inside = most <= INSIDE_MAX
    for ax in axes if inside else ():
        handles, labels = _entries(ax, order)
        if not handles:
            continue
        legend = ax.legend(handles, labels, loc="upper left")
        placed.append(legend)
        for loc in _INSIDE_LOCATIONS:
            legend.set_loc(loc)
            if not _covers_data(ax, legend.get_window_extent().padded(2.0)):
                break
        else:
            inside = False
            break
    if not inside:
        for legend in placed:
            legend.remove()
        _legend_below(fig, axes, order)


def _legend_below(fig, axes: Sequence, order: Sequence[str] = ()) -> None:
    """One legend for all ``axes`` (each label once, in the ``order`` of the labels),
    hanging below the figure in as many columns as its width holds; the saved figure
    (``bbox_inches="tight"``) grows to fit."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*_entries(ax, order), strict=True):
            entries.setdefault(label, handle)
    rank = {label: i for i, label in reversed(list(enumerate(order)))}
    entries = dict(sorted(entries.items(), key=lambda e: rank.get(e[0], len(rank))))
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
