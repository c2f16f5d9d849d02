"""Registries: spec strings, clear errors, run-time registration, entry-point plugins."""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import fake_plugins as fp
import numpy as np
import pytest

import estimators
import harness
import tasks
from harness import registry as registry_module
from harness.interface import SpecError
from harness.registry import Registry, format_spec, parse_spec


def _entry_points(*eps: EntryPoint):
    def fake(group: str):
        return [ep for ep in eps if ep.group == group]

    return fake


def _ep(name: str, value: str, group: str = "mi_harness.estimators") -> EntryPoint:
    return EntryPoint(name=name, value=value, group=group)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch):
    """Pretend two estimator plugins and one task plugin are installed."""
    found = _entry_points(
        _ep("ep_corr", "fake_plugins:FakeCorr"),
        _ep("ep_broken", "fake_plugins_missing_module:Nothing"),
        _ep("ksg", "fake_plugins:FakeFail"),  # cannot shadow the built-in
        _ep("ep_gauss", "fake_plugins:FakeGauss", group="mi_harness.tasks"),
    )
    monkeypatch.setattr(registry_module, "entry_points", found)
    for reg in (estimators.registry, tasks.registry):
        monkeypatch.setattr(reg, "_plugins", None)
        monkeypatch.setattr(reg, "_classes", dict(reg._classes))
    yield


def test_parse_and_format_spec() -> None:
    assert parse_spec("ksg:k=5,variant=2") == ("ksg", {"k": 5, "variant": 2})
    assert parse_spec(" kde : bandwidth=silverman , leave_one_out=true") == (
        "kde",
        {"bandwidth": "silverman", "leave_one_out": True},
    )
    assert parse_spec("x:a=1e-3,b=none,c=no") == ("x", {"a": 0.001, "b": None, "c": False})
    assert format_spec(*parse_spec("ksg:k=5,variant=2")) == "ksg:k=5,variant=2"
    for bad, match in (
        ("ksg:k", "expected key=value"),
        ("ksg:k=1,k=2", "given twice"),
        ("", "non-empty"),
    ):
        with pytest.raises(SpecError, match=match):
            parse_spec(bad)


def test_make_builds_with_params_and_unknowns_list_what_exists() -> None:
    est = estimators.make("ksg:k=3")
    assert type(est).__name__ == "KSG" and est.k == 3 and est.variant == 1
    with pytest.raises(SpecError) as info:
        estimators.make("ksgg")
    msg = str(info.value)
    assert msg.startswith("unknown estimator 'ksgg' (did you mean 'ksg'?); available: ")
    assert all(name in msg for name in ("infonet", "kde", "ksg"))
    with pytest.raises(SpecError, match=r"unknown parameter kk for estimator 'ksg'.*k=5"):
        estimators.make("ksg:kk=3")
    with pytest.raises(SpecError, match=r"projection .*\(did you mean 'projections'\?\)"):
        estimators.make("infonet:projection=5")
    with pytest.raises(SpecError, match=r"gauss' \(did you mean 'gaussian'\?\); available: "):
        tasks.make("gauss")
    with pytest.raises(SpecError, match=r"^unknown estimator 'zzz'; available: "):  # no near miss
        estimators.make("zzz")


def test_register_at_run_time_and_unregister() -> None:
    reg = Registry("estimator", "mi_harness.none", {})
    reg.register(fp.FakeCorr)
    assert reg.names() == ["fake_corr"]
    assert reg.make("fake_corr:shrink=0.25").shrink == 0.25
    assert reg.defaults("fake_corr") == {"shrink": 0.0}
    reg.unregister("fake_corr")
    with pytest.raises(SpecError, match=r"available: \(none\)"):
        reg.make("fake_corr")


def test_entry_point_plugins_load_lazily_and_run(plugins, tmp_path: Path) -> None:
    entries = estimators.registry.entries()
    assert entries["ep_corr"].source == "plugin"
    assert entries["ksg"].source == "builtin"  # a plugin cannot shadow a built-in
    est = estimators.make("ep_corr:shrink=0.5")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300)
    y = 0.6 * x + 0.8 * rng.standard_normal(300)
    assert est.estimate(x, y) == pytest.approx(0.5 * fp.corr_mi(x[:, None], y[:, None]), rel=1e-12)
    assert "ep_gauss" in tasks.names()
    db = tmp_path / "r.sqlite"
    df = harness.run(["ep_corr"], "ep_gauss", store=db, run_id="p", progress=False)
    assert (df["status"] == "ok").all() and len(df) == 3
    assert set(df["estimator"]) == {"ep_corr"} and set(df["task"]) == {"ep_gauss"}
    assert harness.run(resume="p", store=db, progress=False).equals(df)  # found again by name


def test_broken_plugin_is_unavailable_not_a_crash(plugins) -> None:
    with pytest.warns(UserWarning, match="ep_broken"):
        with pytest.raises(SpecError, match="installed but failed to load"):
            estimators.make("ep_broken")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = estimators.registry.available()
    assert isinstance(found["ep_broken"], Exception)
    assert found["ep_corr"] is fp.FakeCorr


def test_keyword_parameters_are_checked_like_spec_parameters() -> None:
    assert estimators.make("ksg", k=3).k == 3
    assert tasks.make("gmm_levels", per_level=4).per_level == 4
    with pytest.raises(SpecError, match=r"unknown parameter kk for estimator 'ksg' \(did you mean"):
        estimators.make("ksg", kk=3)
    with pytest.raises(SpecError, match="unknown parameter bandwith for estimator 'kde'"):
        estimators.make("kde", bandwith=0.3)
    with pytest.raises(
        SpecError, match="parameter k set both in the spec 'ksg:k=3' and as a keyword"
    ):
        estimators.make("ksg:k=3", k=7)
    est = estimators.make("ksg")
    assert estimators.make(est) is est
    with pytest.raises(SpecError, match=r"parameters \(k\) can only go with a spec string, not"):
        estimators.make(est, k=3)
    for bad in (None, 3, b"ksg"):
        with pytest.raises(SpecError, match="must be a spec string like 'name:key=value' or an"):
            estimators.make(bad)
    with pytest.raises(SpecError, match="instance of Task"):
        tasks.make(est)


def test_run_wide_defaults_apply_only_where_the_class_has_the_parameter() -> None:
    reg = estimators.registry
    assert reg.make("ksg", defaults={"device": "cpu"}).k == 5  # no device parameter: skipped
    assert reg.make("mine", defaults={"device": "cpu"}).device == "cpu"
    assert reg.make("mine:device=auto", defaults={"device": "cpu"}).device == "auto"


def test_spec_messages_point_at_the_likely_slip() -> None:
    with pytest.raises(SpecError, match=r"unknown estimator 'KSG' \(did you mean 'ksg'\?\)"):
        estimators.make("KSG")
    with pytest.raises(
        SpecError, match=r"got '0.5' \(a list value is written with ';', as in rhos=a;b"
    ):
        tasks.make("gaussian:rhos=0.2,0.5")
    with pytest.raises(SpecError, match=r"^sliced: base='foo': unknown estimator 'foo'"):
        estimators.make("sliced:base=foo")
