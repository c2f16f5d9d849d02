"""``list [estimators|tasks]``: names, parameters with defaults, docs, availability.

Listing imports each estimator and task module (their classes hold the
parameters), but never torch: estimator modules import it inside methods.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "list",
        parents=[common],
        help="list estimators and tasks",
        description="List registered estimators and tasks with their parameters.",
    )
    p.add_argument("what", nargs="?", choices=("estimators", "tasks"), help="only this kind")
    p.set_defaults(func=run)


def _doc_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def _missing(requires: Any) -> list[str]:
    out = []
    for req in sorted(requires or ()):
        try:
            if importlib.util.find_spec(req) is None:
                out.append(req)
        except (ImportError, ValueError):
            pass
    return out


def describe(kind: str) -> list[dict[str, Any]]:
    """One dict per registered ``kind`` ("estimators" or "tasks"): name, doc, params, status."""
    from harness.interface import param_defaults

    if kind == "estimators":
        import estimators as reg
    else:
        import tasks as reg
    out = []
    for name, cls in reg.registry.available().items():
        entry: dict[str, Any] = {"name": name}
        if isinstance(cls, Exception):
            entry.update(doc="", params={}, status=f"unavailable: {type(cls).__name__}: {cls}")
            out.append(entry)
            continue
        entry["doc"] = _doc_line(cls)
        entry["params"] = param_defaults(cls)
        notes = []
        caps = getattr(cls, "capabilities", None)
        missing = _missing(getattr(caps, "requires", ()))
        if caps is not None:
            if caps.requires:
                notes.append("requires " + ", ".join(sorted(caps.requires)))
            if caps.devices != ("cpu",):
                notes.append("devices " + ", ".join(caps.devices))
            if caps.batched:
                notes.append("batched")
            if caps.max_dim_x is not None or caps.max_dim_y is not None:
                notes.append(f"max dims {caps.max_dim_x}, {caps.max_dim_y}")
        if kind == "tasks":
            notes.append(f"summary {getattr(cls, 'summary', 'error')}")
        entry["notes"] = notes
        entry["status"] = "unavailable: needs " + ", ".join(missing) if missing else "available"
        out.append(entry)
    return out


def _render(kind: str, entries: list[dict[str, Any]]) -> str:
    lines = [f"{kind}:"]
    width = max((len(e["name"]) for e in entries), default=0)
    for e in entries:
        head = f"  {e['name']:<{width}}  {e['doc']}".rstrip()
        lines.append(head)
        pad = " " * (width + 4)
        if e["params"]:
            lines.append(pad + "params: " + ", ".join(f"{k}={v!r}" for k, v in e["params"].items()))
        extra = [*e.get("notes", []), e["status"]]
        lines.append(pad + "; ".join(extra))
    if not entries:
        lines.append("  (none)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    kinds = [args.what] if args.what else ["estimators", "tasks"]
    print("\n\n".join(_render(k, describe(k)) for k in kinds))
    return 0
