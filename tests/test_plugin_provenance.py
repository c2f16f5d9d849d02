"""A researcher's own estimator plugin: its version and code are recorded, and its
mistakes (renamed parameters, a missing reason, a clashing or broken entry point)
get clear messages.

The plugin is a real module with a ``.dist-info`` next to it on ``sys.path``, so
entry points and distribution versions come from ``importlib.metadata`` itself.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import estimators
import harness
import tasks
from harness import environment
from harness import registry as registry_module
from harness.cli import main
from harness.interface import Estimator, InputError, SpecError, get_params
from harness.registry import PluginWarning
from reports.data import load_run, provenance
from results import Store

#: the plugin's 'ksg' entry point warns wherever the registry looks (tested below)
pytestmark = pytest.mark.filterwarnings("ignore::harness.registry.PluginWarning")

REPO = Path(__file__).resolve().parent.parent
MODULE = "my_mi_plugin_mod"
DIST = "my-mi-plugin"
TASK = "gaussian:n=60,rhos=0.3;0.6"

SOURCE = '''
import numpy as np

from harness.interface import Estimator


class Weird(Estimator):
    """Correlation MI with a shrink factor and weights ({tag})."""

    name = "weird"

    def __init__(self, shrink: float = 0.05, weights=(1.0, 2.0)):
        self.shrink = shrink
        self.weights = weights

    def _estimate(self, x, y):
        r = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
        return float(-0.5 * np.log1p(-r * r)) * (1 - self.shrink)


class Hidden(Estimator):
    """Stores its parameter under another name."""

    name = "hidden"

    def __init__(self, shrink: float = 0.1):
        self._shrink = shrink

    def _estimate(self, x, y):
        return 0.0


class Binned(Estimator):
    """Needs 100 samples and says no more."""

    name = "binned"

    def min_samples(self):
        return 100

    def _estimate(self, x, y):
        return 0.0


class Explained(Binned):
    """Needs 100 samples and says why."""

    name = "explained"

    def _min_reason(self):
        return "bins=10"


class Shadow(Estimator):
    """Named like the built-in KSG."""

    name = "ksg"

    def _estimate(self, x, y):
        return 0.0
'''

ENTRY_POINTS = """\
[mi_harness.estimators]
weird = {m}:Weird
hidden = {m}:Hidden
binned = {m}:Binned
ksg = {m}:Shadow
broken = {m}_missing:Nothing
"""


#: Classes the registries had loaded before any test here (no plugin among them).
_BEFORE = {reg: dict(reg._classes) for reg in (estimators.registry, tasks.registry)}


def _fresh_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registries that look for entry points again (restored after the test)."""
    for reg, classes in _BEFORE.items():
        monkeypatch.setattr(reg, "_plugins", None)
        monkeypatch.setattr(reg, "_shadowed", {})
        monkeypatch.setattr(reg, "_classes", {k: v for k, v in classes.items()})


@pytest.fixture
def install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], Path]]:
    """``install(version, tag)``: (re)install the plugin distribution at ``version``,
    its module's source marked with ``tag``; returns the directory on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry_module, "_PLUGIN_MODULES", {})

    def _install(version: str, tag: str) -> Path:
        for old in site.glob("*.dist-info"):
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        (site / f"{MODULE}.py").write_text(SOURCE.replace("{tag}", tag))
        info = site / f"{DIST.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(ENTRY_POINTS.format(m=MODULE))
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()
        environment._top_level_dists.cache_clear()
        _fresh_registries(monkeypatch)
        return site

    yield _install
    sys.modules.pop(MODULE, None)
    environment._top_level_dists.cache_clear()


def _quiet_run(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)  # the shadowing 'ksg' entry point
        return harness.run(*args, progress=False, **kwargs)


# -- 1. provenance --------------------------------------------------------------------


def test_two_versions_of_a_plugin_are_told_apart_in_the_run_record(install, tmp_path) -> None:
    db = tmp_path / "r.sqlite"
    records = []
    for version, tag in (("0.1.0", "first"), ("0.2.0", "second, with a fix")):
        site = install(version, tag)
        df = _quiet_run(["weird"], TASK, store=db, run_id=f"v{version}")
        assert (df["status"] == "ok").all()
        records.append(Store(db).get_run(f"v{version}"))
        digest = hashlib.sha256((site / f"{MODULE}.py").read_bytes()).hexdigest()[:12]
        assert records[-1]["versions"]["plugins"][MODULE] == {
            "dist": DIST,
            "version": version,
            "sha256": digest,
        }
        session = Store(db).sessions(f"v{version}")[0]
        assert session["versions"]["plugins"] == records[-1]["versions"]["plugins"]
    first, second = (r["versions"]["plugins"][MODULE] for r in records)
    assert first["version"] != second["version"] and first["sha256"] != second["sha256"]


def test_report_provenance_card_shows_the_plugin_version(install, tmp_path) -> None:
    db = tmp_path / "r.sqlite"
    install("3.1.4", "report")
    _quiet_run(["weird", "ksg"], TASK, store=db, run_id="rep")
    card = provenance(load_run("rep", db))
    text = " ".join(v for pairs in [card["summary"], *card["sessions"]] for _, v in pairs)
    plugin = Store(db).get_run("rep")["versions"]["plugins"]
    assert list(plugin) == [MODULE]  # the built-in ksg is pinned by the commit, not listed
    assert DIST in text and "3.1.4" in text and plugin[MODULE]["sha256"] in text


def test_collect_records_only_code_from_outside_the_harness(install) -> None:
    install("0.3.0", "collect")
    weird = estimators.registry.get_class("weird")
    ksg = estimators.registry.get_class("ksg")
    assert "plugins" not in environment.collect(used=[ksg(), tasks.make("gaussian")])["versions"]
    env = environment.collect(used=[weird, ksg])
    assert env["versions"]["plugins"][MODULE]["version"] == "0.3.0"
    assert environment.plugin_lines(env["versions"]) == [
        f"{MODULE}: {DIST} 0.3.0, source sha256 {env['versions']['plugins'][MODULE]['sha256']}"
    ]
    # a class defined where there is no file (a notebook): recorded, without a hash
    loose = type("Loose", (Estimator,), {"__module__": "notebook_cell_7", "name": "loose"})
    info = environment.plugin_info([loose])
    assert info == {"notebook_cell_7": {"dist": None, "version": None, "sha256": None}}


def test_artifacts_docstring_tells_plugin_authors_what_to_return() -> None:
    doc = Estimator.artifacts.__doc__ or ""
    assert "Plugin authors" in doc and "hash" in doc and "resume" in doc


# -- 2. messages ---------------------------------------------------------------------


def test_a_parameter_stored_under_another_name_is_a_spec_error(install, tmp_path) -> None:
    install("0.1.0", "hidden")
    rule = r"does not store it as self\.shrink \(it has self\._shrink\).*scikit-learn"
    with pytest.raises(SpecError, match=rule):
        estimators.make("hidden")
    cls = estimators.registry.get_class("hidden")
    with pytest.raises(SpecError, match=rule):
        get_params(cls())
    with pytest.raises(SpecError, match=rule):
        _quiet_run([cls(shrink=0.2)], TASK, store=tmp_path / "r.sqlite")
    assert "parameters unreadable" in repr(cls())  # repr, used in messages, does not raise


def test_cli_reports_a_renamed_parameter_in_one_error_line(install, tmp_path, capsys) -> None:
    install("0.1.0", "hidden cli")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        code = main(["run", "-e", "hidden", "--task", TASK, "--store", str(tmp_path / "r.db")])
    err = capsys.readouterr().err
    assert code == 2 and "AttributeError" not in err
    assert err.startswith("error: estimator Hidden: __init__ takes 'shrink' but does not store")


def test_a_tuple_default_is_the_default_after_the_json_round_trip(install, tmp_path) -> None:
    install("0.1.0", "tuple")
    assert estimators.registry.defaults("weird") == {"shrink": 0.05, "weights": [1.0, 2.0]}
    df = _quiet_run(
        ["weird", "weird:shrink=0.1", estimators.make("weird", weights=(3.0, 4.0))],
        TASK,
        store=tmp_path / "r.sqlite",
    )
    assert sorted(df["label"].unique()) == [
        "weird",
        "weird:shrink=0.1",
        "weird:weights=[3.0, 4.0]",
    ]


def test_min_samples_message_without_and_with_a_reason(install) -> None:
    install("0.1.0", "min")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(20), rng.standard_normal(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        binned = estimators.make("binned")
    with pytest.raises(InputError) as info:
        binned.estimate(x, y)
    assert str(info.value) == "need at least 100 samples (binned); got 20"
    explained = sys.modules[MODULE].Explained()
    with pytest.raises(InputError, match=r"^need at least 100 samples \(explained bins=10\); got"):
        explained.estimate(x, y)
    assert "_min_reason" in (Estimator.min_samples.__doc__ or "")


def test_a_plugin_named_like_a_built_in_warns_and_list_says_so(install, monkeypatch) -> None:
    install("0.4.0", "shadow")
    with pytest.warns(PluginWarning) as caught:
        estimators.registry.entries()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert f"'ksg' from distribution '{DIST}'" in messages[0] and "built-in" in messages[0]
    assert "wins" in messages[0]
    assert estimators.registry.get_class("ksg").__module__ == "estimators.ksg"
    from harness.cli.listing import describe

    _fresh_registries(monkeypatch)  # list looks again, without printing the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        listed = {e["name"]: e for e in describe("estimators")}
    notes = " ".join(listed["ksg"]["notes"])
    assert f"plugin 'ksg' from {DIST} 0.4.0" in notes and "the built-in wins" in notes
    assert f"plugin from {DIST} 0.4.0" in listed["weird"]["notes"]


def test_info_and_list_describe_the_same_plugins(install, tmp_path, capsys) -> None:
    """``info`` and ``list`` walk the plugins alike (``harness.cli.listing.plugins``)."""
    install("0.4.1", "info")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both say it in their output instead
        assert main(["info", "--store", str(tmp_path / "r.sqlite")]) == 0
        assert main(["list", "estimators"]) == 0
    out = capsys.readouterr().out.splitlines()
    start = out.index("plugins") + 1
    section = out[start : start + next(i for i, x in enumerate(out[start:]) if x[:1] != " ")]
    dist = f"{DIST} 0.4.1"
    assert section == [
        f"  estimator binned: {dist} ({MODULE}:Binned)",
        f"  estimator broken: {dist} ({MODULE}_missing:Nothing)",
        f"  estimator hidden: {dist} ({MODULE}:Hidden)",
        f"  estimator weird: {dist} ({MODULE}:Weird)",
        f"  estimator ksg: {dist} ({MODULE}:Shadow) ignored: the built-in wins",
    ]
    listed: dict[str, list[str]] = {}  # list: name -> its lines, the last one notes; status
    for line in out[out.index("estimators:") + 1 :]:
        if line[2:3] != " ":
            listed[line.split()[0]] = []
        listed[list(listed)[-1]].append(line.strip())
    notes = {name: lines[-1] for name, lines in listed.items()}
    assert notes["weird"] == f"plugin from {dist}; available"
    assert notes["ksg"] == (
        f"plugin 'ksg' from {dist} ({MODULE}:Shadow) ignored: the built-in wins; available"
    )
    assert notes["broken"].startswith(f"plugin from {dist}; unavailable: SpecError: ")
    assert notes["kde"] == "available"


def test_plugin_warnings_print_as_one_clean_line(capsys) -> None:
    import harness.registry as registry
    from harness.cli import plugin_warnings_as_lines

    before = warnings.formatwarning
    seen = []

    def show(m, c, f, n, file=None, line=None):  # as Python shows a warning
        sys.stderr.write(warnings.formatwarning(m, c, f, n, line))
        # another thread's warning formatted while this one is shown keeps its format
        seen.append(warnings.formatwarning(UserWarning("u"), UserWarning, "f.py", 3, "s"))

    def custom(m, c, f, n, line=None):  # a format someone installed before the command
        return f"custom: {m}\n"

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show  # pytest records warnings instead
        warnings.formatwarning = custom
        try:
            with plugin_warnings_as_lines():
                registry._warn("plugin 'x'\n broke", stacklevel=1)
            assert warnings.formatwarning is custom  # restored when the command ends
            registry._warn("plugin 'y' broke", stacklevel=1)  # outside a command: as any warning
        finally:
            warnings.formatwarning = before
    assert capsys.readouterr().err == "warning: plugin 'x' broke\ncustom: plugin 'y' broke\n"
    assert seen == ["custom: u\n", "custom: u\n"]
    assert warnings.formatwarning is before


def test_cli_prints_a_broken_plugin_as_one_warning_line(install, tmp_path) -> None:
    site = install("0.5.0", "broken")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "-e", "broken", "--task", TASK,
         "--store", str(tmp_path / "r.sqlite")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith(("warning: ", "error: ")) for line in lines), lines
    assert "UserWarning" not in done.stderr and "registry.py" not in done.stderr
    broken = [line for line in lines if "'broken'" in line]
    assert broken == [
        f"warning: estimator plugin 'broken' from distribution '{DIST}' "
        f"({MODULE}_missing:Nothing) could not be loaded: ModuleNotFoundError: "
        f"No module named '{MODULE}_missing'",
        f"error: estimator 'broken' (from '{DIST}') is installed but failed to load: "
        f"ModuleNotFoundError: No module named '{MODULE}_missing'",
    ]
    shadow = [line for line in lines if "'ksg'" in line]
    assert len(shadow) == 1 and shadow[0].startswith("warning: estimator plugin 'ksg' from")


def test_the_base_of_a_sliced_estimator_counts_as_used() -> None:
    """``sliced:base=my_plugin`` runs the plugin's code: provenance must record it."""
    from estimators.ksg import KSG
    from harness.runner import _new_grid, _used_classes

    grid = _new_grid(["sliced:base=ksg,projections=4"], "gaussian:n=200,d=2", 0, None, "cpu")
    assert KSG in _used_classes(grid)
