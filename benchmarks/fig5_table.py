"""Markdown table of the InfoNet Fig. 5 reproduction (``paper_comparisons.sh fig5``).

    python -m benchmarks.fig5_table [benchmarks/results] [--se] [--estimators KSG,MINE-1000]
    python -m benchmarks.fig5_table --versus InfoNet-1000@69be315e KSG

Reads every ``paper_fig5*-*.csv.gz`` export (``paper_comparisons.sh fig5
fig5-std fig5-mine1000 fig5-infonet1000``) and prints ROC AUC per dependence,
recipe, d and n for each estimator, with the paper's estimator names; rows
that record their checkpoint (``artifacts``) are named with its sha256 prefix,
e.g. ``InfoNet-1000@9fc45bfb``, so runs of different models stay apart.
``--se`` adds DeLong's standard error to each AUC; ``--versus A B`` prints the
difference of two estimators' AUCs on the samples both scored, with its paired
standard error (one trial of 50 + 50 pairs per cell leaves AUCs about ±0.05
apart; the paired difference is sharper, the samples being shared).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import results
from harness.metrics import TRIAL_COLUMNS, auc_difference, auc_table
from results.export import artifact_tag

NAMES = {"infonet": "InfoNet", "ksg": "KSG", "mine": "MINE"}


def short_label(label: str, params: dict | None = None) -> str:
    """``infonet:projections=256,...`` -> ``InfoNet-256``; ``mine:steps=100`` -> ``MINE-100``.

    ``params`` (a row's full ``estimator_params``) supplies values the label
    leaves out because they are defaults.
    """
    name, _, text = label.partition(":")
    opts = {k: str(v) for k, v in (params or {}).items() if v is not None}
    opts.update(p.split("=", 1) for p in text.split(",") if "=" in p)
    short = NAMES.get(name, name)
    count = opts.get("projections") or opts.get("steps")
    if str(opts.get("standardize", "")).lower() == "true":
        count = "std"
    return f"{short}-{count}" if count else short


CELL = ["dependence", "recipe", "d", "n"]


def fig5_rows(folder: Path) -> pd.DataFrame:
    """Every ok row of the fig5 exports with its cell (dependence, recipe, d, n) and the
    paper's estimator name in ``label``; a sample scored by the same estimator in two
    files (the KSG beside InfoNet-1000 repeats the main grid's) is kept once."""
    frames = []
    for path in sorted(folder.glob("paper_fig5*-*.csv.gz")):
        df = results.load(path)
        df = df[df["status"] == "ok"]
        first = df.drop_duplicates("label").set_index("label")
        files = first["artifacts"] if "artifacts" in first else pd.Series(dtype=object)
        names = {
            lab: short_label(lab, json.loads(first.at[lab, "estimator_params"]))
            + artifact_tag(files.get(lab))
            for lab in first.index
        }
        recipe = "notebook" if path.name.endswith("-notebook.csv.gz") else "paper"
        frames.append(
            df.assign(label=df["label"].map(names), recipe=recipe, n=df["n_samples"].astype(int))
        )
    if not frames:
        return pd.DataFrame(columns=[*CELL, "label"])
    rows = pd.concat(frames, ignore_index=True)
    rows["d"] = rows["d"].astype(int)
    sample = [c for c in ("instance_id", "seed") if c in rows]
    return rows.drop_duplicates([*CELL, "label", *sample]).reset_index(drop=True)


def fig5_frame(folder: Path) -> pd.DataFrame:
    """AUC rows (dependence, recipe, d, n, estimator, auc, auc_se, trials) from the fig5
    exports: per cell the mean AUC over its trials (seeds) and that mean's standard error."""
    rows = fig5_rows(folder)
    if rows.empty:
        return pd.DataFrame(columns=[*CELL, "estimator", "auc", "auc_se", "trials"])
    out = [
        auc_table(part, by=[], trials=TRIAL_COLUMNS)
        .reset_index()
        .assign(**dict(zip(CELL, key, strict=True)))
        for key, part in rows.groupby(CELL, sort=True)
    ]
    frame = pd.concat(out, ignore_index=True).rename(columns={"label": "estimator"})
    return frame[[*CELL, "estimator", "auc", "auc_se", "trials"]]


def paired_frame(folder: Path, first: str, second: str) -> pd.DataFrame:
    """Per cell: AUC of ``first`` minus ``second`` (paper names, e.g. ``KSG``) on the
    samples both scored, with its paired standard error (``auc_difference``), averaged
    over the trials both scored."""
    rows = fig5_rows(folder)
    out = []
    for key, part in rows.groupby(CELL, sort=True):
        if not {first, second} <= set(part["label"]):
            continue
        diff = auc_difference(part, first, second, by=[], trials=TRIAL_COLUMNS)
        out.append(diff.assign(**dict(zip(CELL, key, strict=True))))
    if not out:
        raise SystemExit(f"no cell has both {first!r} and {second!r}")
    return pd.concat(out, ignore_index=True)


def _grid(frame: pd.DataFrame, cell: Callable[[pd.DataFrame], str]) -> str:
    """Markdown rows (dependence, recipe, d) x columns n; ``cell`` writes one cell's rows."""
    sizes = sorted(frame["n"].unique())
    lines = [
        "| dependence | recipe | d | " + " | ".join(f"n = {n}" for n in sizes) + " |",
        "|---|---|---:|" + "---|" * len(sizes),
    ]
    for (dep, recipe, d), part in frame.groupby(["dependence", "recipe", "d"], sort=True):
        cells = [cell(part[part["n"] == n]) for n in sizes]
        lines.append(f"| {dep} | {recipe} | {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_markdown(frame: pd.DataFrame, first: str, second: str) -> str:
    """One row per (dependence, recipe, d); per n 'difference ± se'."""

    def cell(at: pd.DataFrame) -> str:
        if at.empty:
            return "–"
        return f"{at['difference'].iloc[0]:+.2f} ± {at['difference_se'].iloc[0]:.2f}"

    title = f"AUC of {first} minus AUC of {second} on the same samples ± paired standard error"
    return f"{title}\n\n" + _grid(frame, cell)


def markdown(frame: pd.DataFrame, se: bool = False, order: list[str] | None = None) -> str:
    """One row per (dependence, recipe, d); one column per n, 'a / b / c' per estimator
    (``order``, default all sorted by name; with ``se``, each as 'auc ± standard error')."""
    order = order or sorted(frame["estimator"].unique())

    def cell(at: pd.DataFrame) -> str:
        at = at.set_index("estimator")
        return " / ".join(_auc_text(at, e, se) for e in order)

    text = f"AUC ({' / '.join(order)})\n\n" + _grid(frame, cell)
    return text + _trials_note(frame)


def _trials_note(frame: pd.DataFrame) -> str:
    """A line naming the cells averaged over more than one trial ("" if none)."""
    more = frame[frame["trials"] > 1]
    if more.empty:
        return ""
    parts = [
        f"{r.estimator} {r.dependence} ({r.recipe}) d = {r.d} n = {r.n}: {r.trials}"
        for r in more.itertuples()
    ]
    return "\n\nMean over trials (one trial elsewhere): " + "; ".join(parts) + "."


def _auc_text(at: pd.DataFrame, estimator: str, se: bool) -> str:
    if estimator not in at.index:
        return "–"
    text = f"{at.at[estimator, 'auc']:.2f}"
    return f"{text} ± {at.at[estimator, 'auc_se']:.2f}" if se else text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fig5_table", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--se", action="store_true", help="print each AUC with its standard error")
    parser.add_argument(
        "--estimators", metavar="A,B,...",
        help="only these estimators (names as printed, e.g. KSG,MINE-1000), in this order",
    )  # fmt: skip
    parser.add_argument(
        "--versus", nargs=2, metavar=("FIRST", "SECOND"),
        help="instead, the paired AUC difference FIRST - SECOND per cell (e.g. KSG MINE-1000)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.versus:
        print(paired_markdown(paired_frame(args.folder, *args.versus), *args.versus))
        return 0
    frame = fig5_frame(args.folder)
    if frame.empty:
        print(f"no paper_fig5*-*.csv.gz in {args.folder}", file=sys.stderr)
        return 1
    order = args.estimators.split(",") if args.estimators else None
    if order:
        unknown = sorted(set(order) - set(frame["estimator"]))
        if unknown:
            known = ", ".join(sorted(frame["estimator"].unique()))
            print(f"no rows of {', '.join(unknown)}; have: {known}", file=sys.stderr)
            return 2
        frame = frame[frame["estimator"].isin(order)]
    print(markdown(frame, se=args.se, order=order))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
