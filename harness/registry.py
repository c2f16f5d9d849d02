"""Name -> class registries built from ``name:key=value,...`` spec strings.

Built-ins are ``name -> "module:Class"`` strings imported only when asked for,
so listing names never imports torch. Third-party plugins register through an
entry-point group; one that fails to load is reported as unavailable with a
warning, not a crash, and one named like a built-in is ignored with a warning
(the built-in wins). Those warnings are :class:`PluginWarning`, printed as one
``warning: ...`` line.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from harness.interface import SpecError, get_params, param_defaults

__all__ = [
    "PluginWarning",
    "Registry",
    "did_you_mean",
    "format_spec",
    "parse_spec",
    "parse_value",
]


class PluginWarning(UserWarning):
    """A plugin entry point was ignored or could not be loaded.

    The command line shows it as one ``warning: <message>`` line, without the
    file, line and source line Python's default warning format adds
    (:func:`harness.cli.plugin_warnings_as_lines`); elsewhere it is an ordinary
    warning.
    """


def _warn(message: str, stacklevel: int) -> None:
    """Issue a :class:`PluginWarning` (the command line prints it as one line)."""
    warnings.warn(message, PluginWarning, stacklevel=stacklevel + 1)


#: Module of each class loaded from an entry point -> the distribution providing it
#: (read by :func:`harness.environment.distribution`).
_PLUGIN_MODULES: dict[str, str] = {}


def parse_value(text: str) -> Any:
    """Turn a spec value into a Python literal: bool, None, int, float or str."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:key=value,key=value"`` into ``(name, {key: value})``.

    Examples
    --------
    >>> parse_spec("ksg:k=5,variant=2")
    ('ksg', {'k': 5, 'variant': 2})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"a spec must be a non-empty string like 'ksg:k=5'; got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    params: dict[str, Any] = {}
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key:
                hint = ""
                if not eq and params:  # likely a list split at its commas
                    hint = f" (a list value is written with ';', as in {list(params)[-1]}=a;b)"
                raise SpecError(f"in spec {spec!r}: expected key=value, got {item!r}{hint}")
            if key in params:
                raise SpecError(f"in spec {spec!r}: parameter {key!r} given twice")
            params[key] = parse_value(value)
    return name, params


def format_spec(name: str, params: dict[str, Any]) -> str:
    """Inverse of :func:`parse_spec` for simple values."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={v}" for k, v in params.items())


def did_you_mean(name: str, choices: list[str]) -> str:
    """``" (did you mean 'ksg'?)"`` for a near miss among ``choices``, else ``""``."""
    folded = [c for c in choices if c.lower() == name.lower()]
    close = folded or difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:Class"
    source: str  # "builtin", "registered", or the distribution of a plugin ("plugin": unknown)

    @property
    def dist(self) -> str | None:
        """The distribution of an entry-point plugin (None: built-in, registered or unknown)."""
        return None if self.source in ("builtin", "registered", "plugin") else self.source

    def origin(self) -> str:
        """``"plugin 'x' from distribution 'y' (module:Class)"`` for messages."""
        dist = f" from distribution {self.dist!r}" if self.dist else ""
        return f"plugin {self.name!r}{dist} ({self.target})"


class Registry:
    """A lazily imported name -> class table for one kind of object.

    Parameters
    ----------
    kind : str
        ``"estimator"`` or ``"task"`` (used in messages).
    group : str
        Entry-point group third parties register under.
    builtins : dict
        ``name -> "module:Class"``.
    base : type, optional
        The class every object this registry makes or passes through must be an
        instance of (checked by :meth:`make`).
    """

    def __init__(self, kind: str, group: str, builtins: dict[str, str], base: type | None = None):
        self.kind = kind
        self.group = group
        self.base = base
        self._builtins = dict(builtins)
        self._plugins: dict[str, Entry] | None = None
        self._shadowed: dict[str, list[Entry]] = {}
        self._classes: dict[str, type] = {}
        self._extra: dict[str, type] = {}

    # -- discovery ----------------------------------------------------------
    def _plugin_entries(self) -> dict[str, Entry]:
        if self._plugins is None:
            found: dict[str, Entry] = {}
            shadowed: dict[str, list[Entry]] = {}
            for ep in entry_points(group=self.group):
                dist = getattr(getattr(ep, "dist", None), "name", None) or "plugin"
                entry = Entry(ep.name, ep.value, dist)
                if ep.name in self._builtins:  # built-ins win; a plugin cannot shadow them
                    shadowed.setdefault(ep.name, []).append(entry)
                    continue
                found[ep.name] = entry
            self._plugins, self._shadowed = found, shadowed
            for entries in shadowed.values():
                for entry in entries:
                    _warn(
                        f"{self.kind} {entry.origin()} is ignored: the built-in {self.kind} "
                        f"{entry.name!r} has that name and wins; register the plugin under "
                        "another name",
                        stacklevel=3,
                    )
        return self._plugins

    def shadowed(self) -> dict[str, list[Entry]]:
        """Plugin entry points ignored because a built-in has their name (name -> entries)."""
        self._plugin_entries()
        return {name: list(entries) for name, entries in self._shadowed.items()}

    def entries(self) -> dict[str, Entry]:
        out = {n: Entry(n, t, "builtin") for n, t in self._builtins.items()}
        out.update(self._plugin_entries())
        for n, cls in self._extra.items():
            out[n] = Entry(n, f"{cls.__module__}:{cls.__qualname__}", "registered")
        return dict(sorted(out.items()))

    def names(self) -> list[str]:
        return list(self.entries())

    def register(self, cls: type, name: str | None = None) -> type:
        """Register a class at run time (tests, notebooks)."""
        key = name or getattr(cls, "name", "") or cls.__name__.lower()
        self._extra[key] = cls
        self._classes[key] = cls
        return cls

    def unregister(self, name: str) -> None:
        self._extra.pop(name, None)
        self._classes.pop(name, None)

    # -- lookup ---------------------------------------------------------------
    def _unknown(self, name: str) -> SpecError:
        names = self.names()
        return SpecError(
            f"unknown {self.kind} {name!r}{did_you_mean(name, names)}; "
            f"available: {', '.join(names) or '(none)'}"
        )

    def get_class(self, name: str) -> type:
        """The class registered under ``name`` (imported on first use)."""
        if name in self._classes:
            return self._classes[name]
        entry = self.entries().get(name)
        if entry is None:
            raise self._unknown(name)
        module, _, attr = entry.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # a broken plugin must not take the registry down
            if entry.source == "builtin":
                raise
            why = " ".join(str(exc).split())
            why = f"{type(exc).__name__}: {why}" if why else type(exc).__name__
            _warn(f"{self.kind} {entry.origin()} could not be loaded: {why}", stacklevel=2)
            dist = f" (from {entry.dist!r})" if entry.dist else ""
            raise SpecError(
                f"{self.kind} {name!r}{dist} is installed but failed to load: {why}"
            ) from exc
        if entry.dist is not None:
            _PLUGIN_MODULES[module] = entry.dist
        self._classes[name] = obj
        return obj

    def available(self) -> dict[str, type | Exception]:
        """Every entry mapped to its class, or the exception that stopped it loading."""
        out: dict[str, type | Exception] = {}
        for name in self.names():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[name] = self.get_class(name)
            except Exception as exc:
                out[name] = exc
        return out

    def defaults(self, name: str) -> dict[str, Any]:
        return param_defaults(self.get_class(name))

    def make(self, spec: Any, defaults: dict[str, Any] | None = None, **params: Any) -> Any:
        """Build an object from a spec string, or pass a built object through.

        Parameters
        ----------
        spec : str or object
            ``"name:key=value,..."``, or an object already built (returned as is).
        defaults : dict, optional
            Run-wide settings such as ``{"device": "cuda"}``: each is used where
            the class has that parameter and neither ``spec`` nor ``params`` sets
            it, and skipped elsewhere.
        **params
            Parameters as if written in ``spec``.

        Raises
        ------
        SpecError
            For an unknown name or parameter, a parameter set both in ``spec``
            and as a keyword, keywords with a built object, or an object that
            is not of this registry's kind.
        """
        if not isinstance(spec, str):
            if params:
                raise SpecError(
                    f"parameters ({', '.join(sorted(params))}) can only go with a spec string, "
                    f"not with the {self.kind} object {spec!r}"
                )
            if self.base is not None and not isinstance(spec, self.base):
                raise SpecError(
                    f"{self.kind} must be a spec string like 'name:key=value' or an "
                    f"instance of {self.base.__name__}; got {spec!r}"
                )
            return spec
        name, given = parse_spec(spec)
        twice = sorted(set(given) & set(params))
        if twice:
            raise SpecError(
                f"parameter {', '.join(twice)} set both in the spec {spec!r} and as a keyword"
            )
        params = {**given, **params}
        cls = self.get_class(name)
        valid = param_defaults(cls)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            listing = ", ".join(f"{k}={v!r}" for k, v in valid.items()) or "(none)"
            hint = did_you_mean(unknown[0], list(valid)) if len(unknown) == 1 else ""
            raise SpecError(
                f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                f"for {self.kind} {name!r}{hint}; valid parameters (defaults): {listing}"
            )
        for k, v in (defaults or {}).items():
            if k in valid and k not in params:
                params[k] = v
        obj = cls(**params)
        # each parameter must be readable back (self.k = k): fail here, with the rule
        read_back = getattr(obj, "get_params", None)
        if callable(read_back):
            read_back()
        else:
            get_params(obj)
        check = getattr(obj, "_check_params", None)
        if check is not None:
            check()
        return obj
