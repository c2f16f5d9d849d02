"""The report in a real browser: headless Chromium draws it without console errors,
the screenshot is not blank, and the rendered DOM holds the stored numbers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_report import Page

import harness
import reports
from harness import metrics

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM = next((p for p in map(shutil.which, BROWSERS) if p), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not on PATH (Debian/Ubuntu: apt-get install -y chromium)",
)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("browser")
    df = harness.run(
        ["ksg", "kde", "ksg:k=500"],
        "gaussian:n=200,rhos=0.3;0.6;0.9",
        seeds=[0],
        store=tmp / "runs.sqlite",
        progress=False,
        run_id="browser-run",
    )
    out = tmp / "report.html"
    reports.build_report("browser-run", store=tmp / "runs.sqlite", output=out)
    return out, df


def test_page_draws_without_console_errors(report, tmp_path: Path) -> None:
    from PIL import Image

    path, _ = report
    shot = tmp_path / "shot.png"
    done = _chromium(
        tmp_path / "profile",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        path.as_uri(),
    )
    assert shot.exists(), done.stderr[-2000:]
    # the page has no script: any console line is an error, a CSP block or a failed load
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape == (2000, 1280)
    assert img.std() > 10  # text, tables and figures, not a blank page
    assert (img < 128).mean() > 0.005  # some dark ink
    assert (img > 250).mean() > 0.3  # mostly light background: the stylesheet applied


def test_rendered_dom_holds_stored_numbers(report, tmp_path: Path) -> None:
    path, df = report
    done = _chromium(tmp_path / "profile", "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    page = Page(done.stdout)
    got = page.cells("task-gaussian-errors")
    want = metrics.error_table(df)
    for lab, row in want.iterrows():
        heads = {"mae": "MAE", "rmse": "RMSE", "median_seconds": "median seconds"}
        for col in ("cells", "ok", "failed", "mae", "bias", "rmse", "median_seconds"):
            value = float(row[col])
            # ksg beside ksg:k=500 spells its k (reports.labels._spelled_siblings)
            shown = got[({"ksg": "ksg:k=5"}.get(lab, lab), heads.get(col, col))][1]
            if np.isnan(value):
                assert shown is None
            else:
                assert shown == pytest.approx(value, rel=1e-12, abs=1e-15), (lab, col)
    assert got[("ksg:k=500", "failed")][1] == 3
    fails = page.tables["failures"]
    assert len(fails["rows"]) == 3
    imgs = [a for t, a in page.tags if t == "img"]
    assert len(imgs) >= 2 and all(a["src"].startswith("data:image/svg+xml") for a in imgs)
