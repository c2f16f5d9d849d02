"""Markdown table of the InfoNet Fig. 5 reproduction (``paper_comparisons.sh fig5``).

    python -m benchmarks.fig5_table [benchmarks/results]

Reads every ``paper_fig5*-*.csv.gz`` export (``paper_comparisons.sh fig5
fig5-std fig5-mine1000 fig5-infonet1000``) and prints ROC AUC per dependence,
recipe, d and n for each estimator, with the paper's estimator names; rows
that record their checkpoint (``artifacts``) are named with its sha256 prefix,
e.g. ``InfoNet-1000@9fc45bfb``, so runs of different models stay apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

import results
from harness.metrics import auc_table

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


def checkpoint_tag(artifacts: object) -> str:
    """``@`` and the first 8 hex digits of a row's ``checkpoint_sha256``; ``""`` if none."""
    if not isinstance(artifacts, str) or not artifacts:
        return ""
    sha = json.loads(artifacts).get("checkpoint_sha256")
    return f"@{sha[:8]}" if sha else ""


def fig5_frame(folder: Path) -> pd.DataFrame:
    """AUC rows (dependence, recipe, d, n, estimator, auc) from the fig5 exports."""
    rows = []
    for path in sorted(folder.glob("paper_fig5*-*.csv.gz")):
        df = results.load(path)
        recipe = "notebook" if path.name.endswith("-notebook.csv.gz") else "paper"
        auc = auc_table(df).reset_index()
        first = df.drop_duplicates("label").set_index("label")
        params = first["estimator_params"]
        files = first["artifacts"] if "artifacts" in first else pd.Series(dtype=object)
        for rec in auc.itertuples():
            rows.append(
                {
                    "dependence": df["dependence"].iloc[0],
                    "recipe": recipe,
                    "d": int(rec.d),
                    "n": int(rec.n_samples),
                    "estimator": short_label(rec.label, json.loads(params[rec.label]))
                    + checkpoint_tag(files.get(rec.label)),
                    "auc": float(rec.auc),
                }
            )
    # KSG runs beside InfoNet-1000 repeat the KSG of the main grid on the same samples
    return pd.DataFrame(rows).drop_duplicates(["dependence", "recipe", "d", "n", "estimator"])


def markdown(frame: pd.DataFrame) -> str:
    """One row per (dependence, recipe, d); one column per n, 'a / b / c' per estimator."""
    order = sorted(frame["estimator"].unique())
    sizes = sorted(frame["n"].unique())
    lines = [
        "| dependence | recipe | d | " + " | ".join(f"n = {n}" for n in sizes) + " |",
        "|---|---|---:|" + "---|" * len(sizes),
    ]
    for (dep, recipe, d), part in frame.groupby(["dependence", "recipe", "d"], sort=True):
        cells = []
        for n in sizes:
            at = part[part["n"] == n].set_index("estimator")["auc"]
            cells.append(" / ".join(f"{at[e]:.2f}" if e in at else "–" for e in order))
        lines.append(f"| {dep} | {recipe} | {d} | " + " | ".join(cells) + " |")
    return f"AUC ({' / '.join(order)})\n\n" + "\n".join(lines)


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).parent / "results"
    frame = fig5_frame(folder)
    if frame.empty:
        print(f"no paper_fig5*-*.csv.gz in {folder}", file=sys.stderr)
        return 1
    print(markdown(frame))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
