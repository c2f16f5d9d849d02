"""``list [estimators|tasks]``: names, parameters with defaults, docs, availability.

Listing never imports torch. Before importing an estimator or task module, its
source is scanned (``ast``, following the imports it makes at load time within
its own package); a module that would load torch is described from its source
instead: the class docstring and the literal defaults of ``__init__``.
Built-in estimator modules import torch inside methods, so they are imported
and described from their classes (parameters and capabilities).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from harness.registry import Entry, Registry

#: Packages ``list`` must not import.
HEAVY = frozenset({"torch"})


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "list",
        parents=[common],
        help="list estimators and tasks",
        description="List registered estimators and tasks with their parameters and defaults.",
    )
    p.add_argument("what", nargs="?", choices=("estimators", "tasks"), help="only this kind")
    p.set_defaults(func=run)


# -- static look at a module ---------------------------------------------------------


def _module_file(name: str) -> Path | None:
    """Source file of module ``name``, found without running any of its package's code."""
    root, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(root)  # a top-level name: nothing is executed
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for base in spec.submodule_search_locations or ():
        path = Path(base, *rest)
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _load_time_imports(tree: ast.Module, module: str, is_package: bool) -> list[str]:
    """Absolute names imported when ``module`` loads (not inside functions or TYPE_CHECKING)."""
    names: list[str] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1])
                    mod = f"{base}.{node.module}" if node.module else base
                else:
                    mod = node.module or ""
                names.append(mod)
                names.extend(f"{mod}.{a.name}" for a in node.names if a.name != "*")
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return names


def heavy_imports(module: str, _seen: set[str] | None = None) -> set[str]:
    """Packages of :data:`HEAVY` that importing ``module`` would load.

    Follows load-time imports within ``module``'s own top-level package
    (including the ``__init__`` of every parent package); other packages are
    taken as light unless they are themselves in :data:`HEAVY`.
    """
    seen = set() if _seen is None else _seen
    root = module.split(".")[0]
    parts = module.split(".")
    found: set[str] = set()
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for imported in _load_time_imports(tree, name, path.name == "__init__.py"):
            top = imported.split(".")[0]
            if top in HEAVY:
                found.add(top)
            elif top == root and imported not in seen:
                found |= heavy_imports(imported, seen)
    return found


def _literal(node: ast.expr) -> Any:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)
    from harness.interface import _json_form

    return _json_form(value)  # as param_defaults gives it: tuples as lists


def static_describe(target: str) -> dict[str, Any] | None:
    """Docstring line and ``__init__`` defaults of ``"module:Class"``, read from source."""
    module, _, attr = target.partition(":")
    path = _module_file(module)
    if path is None:
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    cls = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == attr.split(".")[-1]),
        None,
    )
    if cls is None:
        return None
    doc = (ast.get_docstring(cls) or "").strip()
    params: dict[str, Any] = {}
    init = next(
        (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
    )
    if init is not None:
        args = init.args
        positional = [*args.posonlyargs, *args.args][1:]  # drop self
        pos_defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for arg, default in zip(positional, pos_defaults, strict=True):
            params[arg.arg] = None if default is None else _literal(default)
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            params[arg.arg] = None if default is None else _literal(default)
    return {"doc": doc.splitlines()[0].strip() if doc else "", "params": params}


# -- descriptions ---------------------------------------------------------------------


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


def _from_class(kind: str, cls: type) -> dict[str, Any]:
    from harness.interface import param_defaults

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
        if getattr(caps, "sliced", False):
            notes.append("sliced MI in more than one dimension")
        if caps.max_dim_x is not None or caps.max_dim_y is not None:
            notes.append(f"max dims {caps.max_dim_x}, {caps.max_dim_y}")
    if kind == "tasks":
        notes.append(f"summary {getattr(cls, 'summary', 'error')}")
    return {
        "doc": _doc_line(cls),
        "params": param_defaults(cls),
        "notes": notes,
        "status": "unavailable: needs " + ", ".join(missing) if missing else "available",
    }


def describe(kind: str) -> list[dict[str, Any]]:
    """One dict per registered ``kind`` ("estimators" or "tasks"): name, doc, params, status."""
    if kind == "estimators":
        import estimators as reg
    else:
        import tasks as reg
    out = []
    with warnings.catch_warnings():  # what they warn about is in the listing's notes
        warnings.simplefilter("ignore")
        entries = reg.registry.entries()
    origins: dict[str, list[str]] = {}
    shadowed: dict[str, list[str]] = {}
    for p in plugins(reg.registry):
        name = p.entry.name
        if p.ignored:
            shadowed.setdefault(name, []).append(
                f"plugin {name!r} from {p.dist or 'an unknown distribution'} "
                f"({p.entry.target}) ignored: the built-in wins"
            )
        else:
            origins[name] = [f"plugin from {p.dist}" if p.dist else "plugin"]
    for name, entry in entries.items():
        item: dict[str, Any] = {"name": name}
        origin = origins.get(name, [])
        ignored = shadowed.get(name, []) if entry.source == "builtin" else []
        module = entry.target.partition(":")[0]
        heavy = set() if name in reg.registry._classes else heavy_imports(module)
        if heavy:
            info = static_describe(entry.target) or {"doc": "", "params": {}}
            missing = _missing(heavy)
            item.update(info)
            item["notes"] = [
                *origin,
                f"imports {', '.join(sorted(heavy))} when loaded (not loaded here)",
                *ignored,
            ]
            item["status"] = "unavailable: needs " + ", ".join(missing) if missing else "available"
            out.append(item)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls = reg.registry.get_class(name)
        except Exception as exc:
            item.update(
                doc="", params={}, notes=[*origin, *ignored], status=f"unavailable: {one_line(exc)}"
            )
            out.append(item)
            continue
        item.update(_from_class(kind, cls))
        item["notes"] = [*origin, *item["notes"], *ignored]
        out.append(item)
    return out


class Plugin(NamedTuple):
    """An entry-point plugin as ``list`` and ``info`` describe it."""

    entry: Entry
    #: ``"my-dist 0.2.0"``, or the name alone when no version is installed (None: unknown)
    dist: str | None
    #: a built-in has the plugin's name and wins
    ignored: bool


def plugins(registry: Registry) -> list[Plugin]:
    """The entry-point plugins of ``registry``, none of them imported: those in use
    (by name), then those a built-in of their name shadows. The registry's warnings
    about them are silenced: the caller describes them."""
    from harness.environment import distribution_version

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        used = [e for e in registry.entries().values() if e.source not in ("builtin", "registered")]
        shadowed = [e for found in registry.shadowed().values() for e in found]
    out = []
    for entry, ignored in [*((e, False) for e in used), *((e, True) for e in shadowed)]:
        version = distribution_version(entry.dist)
        dist = f"{entry.dist} {version}" if version else entry.dist
        out.append(Plugin(entry, dist, ignored))
    return out


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
