"""Safety: where code and weights may come from.

* Plugins load only from installed entry points (``importlib.metadata``),
  never from files lying around, and cannot shadow built-ins.
* InfoNet weights load with ``torch.load(weights_only=True)`` after a sha256
  check against the model card: a corrupted copy is rejected, and a pickle
  that would run code is refused even when its checksum matches.
* No module unpickles files: a static scan of the source tree.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import estimators
import harness.registry as registry_module
from harness.interface import SpecError
from harness.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("estimators", "tasks", "harness", "results", "ground_truth", "reports", "benchmarks")


# -- plugins ---------------------------------------------------------------------


def test_plugins_come_only_from_entry_points(tmp_path, monkeypatch) -> None:
    # a would-be plugin module on the path and in the working directory is ignored
    (tmp_path / "mi_harness_evil.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    seen: list[str] = []

    def fake_entry_points(group: str):
        seen.append(group)
        return [
            EntryPoint("shiny", "json:JSONDecoder", group),  # an installed plugin
            EntryPoint("ksg", "json:JSONEncoder", group),  # tries to shadow a built-in
            EntryPoint("broken", "no_such_module_xyz:Thing", group),
        ]

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    reg = Registry("estimator", "mi_harness.estimators", {"ksg": "estimators.ksg:KSG"})
    assert reg.names() == ["broken", "ksg", "shiny"]
    assert seen == ["mi_harness.estimators"]
    assert reg.get_class("shiny") is json.JSONDecoder
    assert reg.get_class("ksg").__module__ == "estimators.ksg"  # built-ins win
    with pytest.warns(UserWarning, match="plugin 'broken'"):
        with pytest.raises(SpecError, match="installed but failed to load"):
            reg.get_class("broken")
    with pytest.raises(SpecError, match="unknown estimator 'mi_harness_evil'"):
        reg.get_class("mi_harness_evil")


def test_real_registry_reads_its_entry_point_group(monkeypatch) -> None:
    groups: list[str] = []
    monkeypatch.setattr(registry_module, "entry_points", lambda group: groups.append(group) or [])
    reg = Registry("estimator", estimators.registry.group, {})
    assert reg.names() == [] and groups == ["mi_harness.estimators"]


# -- checkpoints -----------------------------------------------------------------

torch = pytest.importorskip("torch")


def _copy_checkpoint(tmp_path: Path) -> Path:
    from estimators.infonet.checkpoint import DEFAULT_CHECKPOINT, card_path

    dst = tmp_path / "copy.pt"
    shutil.copyfile(DEFAULT_CHECKPOINT, dst)
    shutil.copyfile(card_path(DEFAULT_CHECKPOINT), card_path(dst))
    return dst


def test_intact_copy_loads(tmp_path) -> None:
    from estimators.infonet.checkpoint import load_model

    model, card = load_model(_copy_checkpoint(tmp_path))
    assert card["sha256"] == hashlib.sha256((tmp_path / "copy.pt").read_bytes()).hexdigest()
    assert sum(p.numel() for p in model.parameters()) == card["parameters"]


def test_corrupted_checkpoint_is_rejected(tmp_path) -> None:
    from estimators.infonet.checkpoint import ChecksumError, load_model

    path = _copy_checkpoint(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte deep in the tensors
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="corrupt or was replaced"):
        load_model(path)
    est = estimators.make(f"infonet:checkpoint={path},device=cpu")
    x = np.random.default_rng(0).standard_normal(200)
    with pytest.raises(ChecksumError):
        est.estimate(x, x + np.random.default_rng(1).standard_normal(200))


class _Payload:
    """Unpickling this runs code (creates a file)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_code_in_a_checkpoint_is_not_run_even_with_a_matching_checksum(tmp_path) -> None:
    from estimators.infonet.checkpoint import card_path, load_model, sha256_file

    path = _copy_checkpoint(tmp_path)
    marker = tmp_path / "pwned"
    torch.save({"format": 1, "config": {}, "state_dict": {}, "evil": _Payload(str(marker))}, path)
    card = json.loads(card_path(path).read_text())
    card["sha256"] = sha256_file(path)  # the attacker also rewrote the model card
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        load_model(path)
    assert not marker.exists()


# -- no unpickling ---------------------------------------------------------------


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name):
                yield owner.id, node.func.attr, node


def _keyword(node: ast.Call, name: str):
    for kw in node.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def test_no_module_unpickles_files() -> None:
    found = {"torch.load": 0, "np.load": 0}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            where = path.relative_to(ROOT)
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names]
                    mod = getattr(node, "module", None) or ""
                    for bad in ("pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve"):
                        ok = bad not in names and not mod.startswith(bad)
                        assert ok, f"{where} imports {bad}"
            for owner, attr, node in _calls(tree):
                if owner == "torch" and attr == "load":
                    found["torch.load"] += 1
                    assert _keyword(node, "weights_only") is True, f"{where}:{node.lineno}"
                if owner in ("np", "numpy") and attr == "load":
                    found["np.load"] += 1
                    assert _keyword(node, "allow_pickle") is False, f"{where}:{node.lineno}"
                if owner == "yaml" and attr == "load":
                    raise AssertionError(f"{where}:{node.lineno} uses yaml.load")
    # the scan saw the loaders it is meant to guard (checkpoint, training resume, caches)
    assert found["torch.load"] >= 2 and found["np.load"] >= 2


def test_a_checkpoint_rewritten_in_place_is_loaded_again(tmp_path) -> None:
    """The estimator's model cache must not serve the old weights under the new checksum."""
    import os

    import torch

    from estimators.infonet.checkpoint import load_card, load_model, save_model

    path = tmp_path / "m.pt"
    net, card = load_model()
    save_model(net, path, card)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 1))
    y = 0.6 * x + 0.8 * rng.normal(size=(300, 1))
    spec = f"infonet:device=cpu,checkpoint={path}"
    first = estimators.make(spec).estimate(x, y)
    with torch.no_grad():
        for p in net.parameters():  # "retrained" weights
            p.mul_(1.2)
    save_model(net, path, card)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a coarse clock
    est = estimators.make(spec)
    assert est.estimate(x, y) != pytest.approx(first, abs=1e-4)
    assert est.artifacts()["checkpoint_sha256"] == load_card(path)["sha256"]
    assert est.model().card["sha256"] == load_card(path)["sha256"]
