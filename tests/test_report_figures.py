"""The report's figures: every series told apart, legends off the data, the speed
scatter's points named with their error bars on an honest axis, errors against the
truth where estimate against truth hides them, and the variance split in one format."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from harness import metrics
from reports import estimator_views, figures, task_views
from reports import published as pub
from reports.figures import PALETTE, Panel, Series, plot


@pytest.fixture
def drawn(monkeypatch):
    """What the views draw: ``drawn["panels"]`` (the panels of each :func:`plot` call)
    and ``drawn["figures"]`` (the laid-out matplotlib figures)."""
    out: dict[str, list] = {"panels": [], "figures": []}
    real = figures.plot

    def record(panels, **kw):
        out["panels"].append(list(panels))
        return real(panels, **kw)

    monkeypatch.setattr(task_views, "plot", record)
    monkeypatch.setattr(estimator_views, "plot", record)
    monkeypatch.setattr(figures, "svg_uri", lambda fig: out["figures"].append(fig) or "")
    return out


def _row(label: str, **cols) -> dict:
    return {"run_id": "r", "label": label, "estimator": label.split(":")[0],
            "estimator_params": "{}", "status": "ok", "message": None, "device": "cpu",
            "seconds": 0.01, "dim_x": 1, "dim_y": 1, **cols}  # fmt: skip


# -- series told apart ---------------------------------------------------------------


def test_auc_lines_of_one_estimator_differ_by_dimension_and_recipe(drawn) -> None:
    """fig5: ksg at d = 16 and d = 128, recipe paper and notebook, were four lines of
    one colour, marker and line style."""
    rng = np.random.default_rng(0)
    rows = []
    for dep_type in ("one_feature", "two_features"):
        for d, recipe in ((16, "paper"), (128, "paper"), (16, "notebook"), (128, "notebook")):
            for n in (50, 100):
                for i in range(20):
                    for lab in ("ksg", "mine"):
                        dep = i % 2
                        rows.append(_row(lab, task="highdim_independence", task_params="{}",
                                         instance_index=i, seed=0, n_samples=n, d=d,
                                         recipe=recipe, dependence=dep_type, dependent=dep,
                                         true_mi=np.nan, error=np.nan,
                                         estimate=dep * 0.5 + rng.uniform(0, 1)))  # fmt: skip
    blocks = task_views.VIEWS["auc"](pd.DataFrame(rows), {}, "hi")
    assert "hi-auc-figure" in [getattr(b, "id", None) for b in blocks]
    (panels,) = drawn["panels"]
    assert [p.title for p in panels] == ["one_feature", "two_features"]
    for panel in panels:
        assert len({(s.color, s.variant) for s in panel.series}) == 8  # each its own look
        looks = {s.label: figures.look(s.color, s.variant) for s in panel.series}
        assert len(set(looks.values())) == 8
        ksg = [looks[f"ksg · d={d} · recipe={r}"] for r in ("paper", "notebook") for d in (16, 128)]
        assert {colour for colour, *_ in ksg} == {PALETTE[0]}  # one estimator, one colour
        assert {(marker, ls) for _, marker, ls, _ in ksg} == {
            ("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."),
        }  # fmt: skip
    # a setting keeps its look in every panel
    first, second = ({s.label: (s.color, s.variant) for s in p.series} for p in panels)
    assert first == second


def test_colours_past_the_palette_change_marker_and_line_style() -> None:
    """With nine labels ksg (colour 0) and the ninth (colour 8) were both plain blue
    circles on solid lines."""
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    for colour in (0, 8, 16):
        figures._draw(ax, Series("x", [0, 1], [0, 1], color=colour))
    assert [line.get_color() for line in ax.lines] == [PALETTE[0]] * 3
    assert [line.get_marker() for line in ax.lines] == ["o", "v", "p"]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--", ":"]
    # three rounds of the palette, four variants each: no two series look alike
    looks = {figures.look(c, v) for c in range(3 * len(PALETTE)) for v in range(4)}
    assert len(looks) == 3 * len(PALETTE) * 4


def _data_boxes(ax) -> list:
    """Display boxes of every marker (its size around its point) and error bar of ``ax``."""
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import Bbox

    boxes = []
    for line in ax.lines:
        if line.get_marker() not in ("None", None, ""):
            half = line.get_markersize() / 2 * ax.figure.dpi / 72
            for px, py in line.get_transform().transform(line.get_xydata()):
                boxes.append(Bbox([[px - half, py - half], [px + half, py + half]]))
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            transform = coll.get_transform()
            boxes.extend(transform.transform_path(p).get_extents() for p in coll.get_paths())
    return boxes


def test_a_legend_that_would_cover_error_bars_goes_below(drawn) -> None:
    """gmm_order: MINE's 95 % intervals span the whole axis at every K, and the inside
    legend sat on them and on the published MINE-500 line."""
    ks = list(range(1, 11))
    series = [
        Series("ksg", ks, [98.0] * 10, [[1.0] * 10, [1.0] * 10], color=0),
        Series("mine", ks, [100.0] * 10, [[28.0] * 10, [0.0] * 10], color=2),
        Series("published MINE-500", ks, [98.5 - 2 * k for k in range(10)], color=2,
               style="published"),
    ]  # fmt: skip
    plot([Panel("", series)], xlabel="K", ylabel="order accuracy (%)")
    (fig,) = drawn["figures"]
    (ax,) = fig.axes
    assert ax.get_legend() is None
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["ksg", "mine", "published MINE-500"]
    assert not legend.get_window_extent().overlaps(ax.get_window_extent())


# -- accuracy vs speed ---------------------------------------------------------------


CHECKPOINTS = ("benchmarks/candidates/infonet-s21-step93600.pt", ".devcarry/s24t/best.pt",
               ".devcarry/s24n-final.pt", ".devcarry/s24n/best.pt")  # fmt: skip


def _gaussian_rows() -> pd.DataFrame:
    """ksg, kde and four InfoNet checkpoints on 4 instances x 2 seeds; the checkpoints
    all but tie, as they did in the levels report."""
    rows = []
    labels = {"ksg": (0.001, 0.02), "kde": (0.02, 0.03)}
    labels |= {f"infonet:checkpoint={c}": (0.012, 0.025 + 0.0002 * i)
               for i, c in enumerate(CHECKPOINTS)}  # fmt: skip
    for lab, (seconds, mae) in labels.items():
        for i, truth in enumerate((0.1, 0.4, 0.8, 1.2)):
            for seed, wobble in ((0, -0.01), (1, 0.01)):
                err = mae * (1 + 0.5 * (i % 2)) * (1 if i < 2 else -1) + wobble
                rows.append(_row(lab, task="gaussian", task_params='{"n":2000}',
                                 instance_index=i, seed=seed, n_samples=2000, true_mi=truth,
                                 estimate=truth + err, error=err, seconds=seconds))  # fmt: skip
    return pd.DataFrame(rows)


def test_scatter_points_are_named_where_they_are(drawn) -> None:
    from matplotlib.text import Text

    df = _gaussian_rows()
    fig_block = estimator_views.speed_accuracy(df, "g", "curves")
    assert fig_block is not None
    (fig,) = drawn["figures"]
    (ax,) = fig.axes
    # the texts' own boxes, without their leader lines
    texts = {t.get_text(): Text.get_window_extent(t) for t in ax.texts}
    assert set(texts) == {"ksg", "kde", "infonet:checkpoint=infonet-s21-step93600.pt",
                          "infonet:checkpoint=s24t/best.pt", "infonet:checkpoint=s24n-final.pt",
                          "infonet:checkpoint=s24n/best.pt"}  # fmt: skip
    boxes = list(texts.values())
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])  # four near-ties, no overlap
        assert not any(a.overlaps(mark) for mark in _data_boxes(ax))


def test_scatter_bars_are_standard_errors_on_an_axis_from_zero(drawn) -> None:
    df = _gaussian_rows()
    estimator_views.speed_accuracy(df, "g", "curves")
    ((panel,),) = drawn["panels"]
    ksg = next(s for s in panel.series if s.label == "ksg")
    # |error| of ksg: per instance the seeds give mae·f ± 0.01; counting each instance
    # once, SE = sqrt(G/(G-1) Σ (Σ_seeds (|e| - mean))²) / N
    ok = df[df["label"] == "ksg"]
    abs_err = ok["error"].abs().to_numpy().reshape(4, 2)
    sums = (abs_err - abs_err.mean()).sum(axis=1)
    se = math.sqrt(4 / 3 * (sums**2).sum()) / 8
    assert ksg.y == [pytest.approx(abs_err.mean())]
    assert np.asarray(ksg.yerr, dtype=float).ravel() == pytest.approx([se, se])
    (fig,) = drawn["figures"]
    assert fig.axes[0].get_ylim()[0] == 0.0  # the MAE axis starts at zero


def test_scatter_of_close_scores_keeps_a_minimum_span(drawn) -> None:
    """AUCs of 0.955 and 0.96 within their errors must not fill the plot."""
    rng = np.random.default_rng(1)
    rows = []
    for lab, seconds in (("ksg", 0.004), ("kde", 0.02)):
        for i in range(200):
            dep = i % 2
            rows.append(_row(lab, task="highdim_independence", task_params="{}",
                             instance_index=i, seed=0, n_samples=100, d=16,
                             dependence="one_feature", dependent=dep, true_mi=np.nan,
                             error=np.nan, seconds=seconds,
                             estimate=dep * 1.7 + rng.normal()))  # fmt: skip
    df = pd.DataFrame(rows)
    estimator_views.speed_accuracy(df, "h", "auc")
    ((panel,),) = drawn["panels"]
    scores = [s.y[0] for s in panel.series]
    assert 0.85 < min(scores) and max(scores) - min(scores) < 0.05
    low, high = drawn["figures"][0].axes[0].get_ylim()
    assert high - low >= 0.1 and high <= 1.0 + 0.1


def test_order_accuracy_bars_are_wilson_intervals(drawn) -> None:
    rows = []
    for trip in range(8):
        wrong = trip in (1, 3)  # 6 of 8 triplets right
        for member, true in ((0, 0.5), (1, 0.3)):
            est = 0.8 - true if wrong else true
            rows.append(_row("ksg", task="gmm_order", task_params="{}", K=2, triplet=trip,
                             member=member, instance_index=2 * trip + member, seed=0,
                             n_samples=200, true_mi=true, estimate=est,
                             error=est - true))  # fmt: skip
    estimator_views.speed_accuracy(pd.DataFrame(rows), "o", "order")
    ((panel,),) = drawn["panels"]
    (ksg,) = panel.series
    assert ksg.y == [pytest.approx(75.0)]
    # Wilson 95 % for 6 of 8: [40.93 %, 92.85 %]
    assert np.asarray(ksg.yerr, dtype=float).ravel() == pytest.approx(
        [75.0 - 40.9275, 92.8521 - 75.0], abs=1e-3
    )


def test_mean_se_counts_the_seeds_of_one_distribution_as_one_draw() -> None:
    rows = pd.DataFrame({"label": "a", "instance_index": [0, 0, 1, 1], "v": [1.0, 3.0, 5.0, 7.0]})
    # mean 4; instance sums of deviations -4 and 4: sqrt(2/1 · 32) / 4 = 2
    assert metrics.mean_se(rows, "v", ["label"])["a"] == pytest.approx(2.0)
    # one row per instance: sd / sqrt(n)
    single = rows.assign(instance_index=[0, 1, 2, 3])
    expected = np.std([1, 3, 5, 7], ddof=1) / 2
    assert metrics.mean_se(single, "v", ["label"])["a"] == pytest.approx(expected)
    assert math.isnan(metrics.mean_se(rows[:2], "v", ["label"])["a"])  # one instance


# -- error against the truth ---------------------------------------------------------


def _level_rows() -> pd.DataFrame:
    """ksg off by +0.01 at every level, kde by -0.3 x level; 3 instances x 2 seeds."""
    rows = []
    for lab, bias in (("ksg", lambda lv: 0.01), ("kde", lambda lv: -0.3 * lv)):
        for lv in (0.0, 0.3, 0.6, 0.9):
            for i in range(3):
                for seed in (0, 1):
                    truth = lv + 0.002 * i
                    err = bias(lv) + 0.004 * (i - 1) + 0.002 * (2 * seed - 1)
                    rows.append(_row(lab, estimator_params=json.dumps({"k": 5}) if lab == "ksg"
                                     else "{}", task="gmm_levels", task_params="{}",
                                     level=lv, instance_index=int(10 * lv) * 3 + i, seed=seed,
                                     n_samples=2000, true_mi=truth, estimate=truth + err,
                                     error=err))  # fmt: skip
    return pd.DataFrame(rows)


def test_levels_plot_mean_error_per_level_with_the_published_rows(drawn) -> None:
    """Table 2 as a figure: ksg 0.01 off and kde far off are told apart from zero and
    from each other, the paper's rows dashed, a close-up where kde swamps the scale."""
    info = {"ksg": ("ksg", {"k": 5}), "kde": ("kde", {})}
    blocks = task_views.VIEWS["levels"](_level_rows(), info, "lv")
    ids = [getattr(b, "id", None) for b in blocks]
    assert "lv-error-vs-level" in ids and "lv-estimate-vs-true" not in ids
    (panels,) = drawn["panels"]
    assert [p.title for p in panels] == ["all estimators", "close-up around zero"]
    series = {s.label: s for s in panels[0].series}
    ksg, kde = series["ksg"], series["kde"]
    assert np.asarray(ksg.y) == pytest.approx([0.01] * 4)
    assert np.asarray(kde.y) == pytest.approx([0.0, -0.09, -0.18, -0.27])
    # the series sit at the levels, shifted apart by the same step
    assert np.asarray(kde.x) - np.asarray(ksg.x) == pytest.approx([0.008] * 4)
    # ± one standard error, the seeds of an instance one draw: instance means -0.004, 0,
    # 0.004 around 0.01 -> sqrt(3/2 · (4 · 0.004²) · 2) / 6
    se = math.sqrt(1.5 * 2 * (2 * 0.004) ** 2) / 6
    assert np.asarray(ksg.yerr) == pytest.approx([se] * 4)
    published = series["published KSG"]
    assert published.style == "published" and published.color == ksg.color
    assert list(published.y) == list(pub.LEVEL_MEAN.rows[0].values.values())
    assert {"published KSG", "published KDE"} <= set(series)
    low, high = panels[1].ylim
    assert low < 0 < 0.01 + se < high < 0.05  # ksg's 0.01 fills the close-up
    # a zero line in each panel
    (fig,) = drawn["figures"]
    for ax in fig.axes:
        assert any(list(line.get_ydata()) == [0, 0] for line in ax.lines)


def test_gaussian_curves_plot_mean_error_with_standard_errors(drawn) -> None:
    df = _gaussian_rows()
    blocks = task_views.VIEWS["curves"](df, {}, "g")
    assert [getattr(b, "id", None) for b in blocks] == ["g-error-vs-truth", "g-estimates"]
    ((panel,),) = drawn["panels"]
    ksg = next(s for s in panel.series if s.label.startswith("ksg — "))
    # per instance: the mean error over the two seeds, ± sd / sqrt(2) = 0.01
    assert np.asarray(ksg.y) == pytest.approx([0.02, 0.03, -0.02, -0.03])
    assert np.asarray(ksg.yerr) == pytest.approx([0.01] * 4)
    assert re.fullmatch(r"ksg — MAE 0\.0\d{3}, [\d.]+ ms", ksg.label)


# -- tables --------------------------------------------------------------------------


def test_the_variance_split_writes_sampling_and_systematic_alike() -> None:
    """Once "sampling var 0.00032" beside "systematic var 3.02e-04": two parts of one
    variance, now in one format."""
    rows = []
    # instance means a·(-1.5, -0.5, 0.5, 1.5) and seeds ± d: sampling var 2d², systematic
    # var(means) - d² = a²·5/3 - d²
    for lab, d, systematic in (("ksg", 0.0126, 3.0e-4), ("kde", 0.0105, -1.36e-5)):
        a = math.sqrt((systematic + d * d) * 3 / 5)
        for i, m in enumerate((-1.5, -0.5, 0.5, 1.5)):
            for seed, sign in ((0, -1), (1, 1)):
                err = a * m + sign * d
                rows.append(_row(lab, task="gaussian", task_params="{}", instance_index=i,
                                 seed=seed, n_samples=2000, true_mi=0.5, estimate=0.5 + err,
                                 error=err))  # fmt: skip
    table = estimator_views.error_components_table(pd.DataFrame(rows), "g")
    table.harmonize()
    text = {
        (row.head, col): cell.text
        for row in table.rows
        for col, cell in zip(table.columns, row.cells, strict=True)
    }
    assert [text[lab, "sampling var"] for lab in ("ksg", "kde")] == ["3.18e-04", "2.21e-04"]
    assert [text[lab, "systematic var"] for lab in ("ksg", "kde")] == ["3.00e-04", "-1.36e-05"]
