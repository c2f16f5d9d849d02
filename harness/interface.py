"""The contracts every part of mi-harness builds on.

This module imports nothing else from the project (only NumPy and the standard
library), so estimators, tasks, the runner and the report can all depend on it
without import cycles.

* :class:`Estimator` -- base class for MI estimators (``estimate`` in nats).
* :class:`Task` -- base class for task generators yielding :class:`Instance`.
* :func:`validate_samples` -- the one input validator every estimator uses.
* :class:`SpecError`, :class:`InputError` -- the two user-facing error types.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "Capabilities",
    "Estimator",
    "InputError",
    "Instance",
    "SpecError",
    "Task",
    "device_used",
    "get_params",
    "param_defaults",
    "validate_samples",
]


class SpecError(ValueError):
    """A spec string, name or parameter is unknown or has an invalid value."""


class InputError(ValueError):
    """Samples given to an estimator are unusable (NaN, wrong shape, ...)."""


def get_params(obj: Any) -> dict[str, Any]:
    """Constructor parameters of ``obj``, read back from same-named attributes.

    Like scikit-learn's ``get_params``: every keyword of ``__init__`` is stored
    unchanged on the instance under the same name.

    Raises
    ------
    SpecError
        If a keyword of ``__init__`` has no attribute of that name (stored
        under another name, e.g. ``self._shrink = shrink``).
    """
    sig = inspect.signature(type(obj).__init__)
    out: dict[str, Any] = {}
    for name, p in sig.parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        try:
            out[name] = getattr(obj, name)
        except AttributeError:
            raise SpecError(_not_stored(obj, name)) from None
    return out


def _not_stored(obj: Any, name: str) -> str:
    """Why :func:`get_params` cannot read parameter ``name`` of ``obj`` back."""
    cls = type(obj).__name__
    kind = "estimator" if isinstance(obj, Estimator) else "task" if isinstance(obj, Task) else ""
    found = [
        a
        for a in (f"_{name}", f"__{name}", f"_{cls}__{name}", f"{name}_")
        if a in getattr(obj, "__dict__", {})
    ]
    seen = f" (it has self.{found[0]})" if found else ""
    return (
        f"{kind + ' ' if kind else ''}{cls}: __init__ takes {name!r} but does not store it as "
        f"self.{name}{seen}; store each __init__ parameter unchanged under its own name "
        f"(self.{name} = {name}), as scikit-learn does: the harness reads the parameters back "
        "from those attributes to label, store and rebuild it (work on values or derived "
        "attributes belongs in _check_params, prepare or _estimate)"
    )


def _json_form(value: Any) -> Any:
    """``value`` with tuples as lists, in lists and dicts too: the form a parameter
    has after the store's JSON round trip."""
    if isinstance(value, dict):
        return {k: _json_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_form(v) for v in value]
    return value


def param_defaults(cls: type) -> dict[str, Any]:
    """Constructor keywords of ``cls`` and their defaults (without instantiating).

    Sequence defaults are given as lists (``weights=(1.0, 2.0)`` as
    ``[1.0, 2.0]``), the form the parameters take once stored as JSON, so a
    default compares equal to the parameter read back from a run.
    """
    sig = inspect.signature(cls.__init__)
    return {
        name: (None if p.default is inspect.Parameter.empty else _json_form(p.default))
        for name, p in sig.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _spec_repr(obj: Any) -> str:
    """``name:key=value,...`` of an estimator or task (never raises: used in messages)."""
    name = getattr(obj, "name", "") or type(obj).__name__
    try:
        params = obj.get_params()
    except Exception:
        return f"<{name} (parameters unreadable)>"
    args = ",".join(f"{k}={v}" for k, v in params.items())
    return f"{name}:{args}" if args else name


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------


#: dtype kinds that would convert to float64 with a loss the caller would not expect.
_REFUSED_KINDS = {
    "c": "complex values (MI estimators take real samples)",
    "M": "datetimes (convert them to numbers, e.g. seconds, first)",
    "m": "timedeltas (convert them to numbers, e.g. seconds, first)",
    "U": "strings",
    "S": "bytes",
}

#: Integers above this lose precision as float64 (distinct values could merge).
_EXACT_INT = 2**53


def _as_2d(a: Any, label: str) -> np.ndarray:
    if a is None:
        raise InputError(f"{label} is None; pass an array of samples, shape (n,) or (n, d)")
    if np.ma.isMaskedArray(a) and np.ma.getmaskarray(a).any():
        raise InputError(
            f"{label} is a masked array with {int(np.ma.count_masked(a))} masked entries; "
            "drop the rows they belong to first"
        )
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported
    if torch is not None and isinstance(a, torch.Tensor):
        a = a.numpy(force=True)  # its values, also when it needs grad or lives on a GPU
    try:
        raw = np.asanyarray(a)  # once: a list is not converted twice
    except (TypeError, ValueError) as exc:  # e.g. ragged rows
        raise InputError(f"{label} must be numeric; could not convert: {exc}") from None
    if raw.dtype.kind in _REFUSED_KINDS:
        raise InputError(f"{label} holds {_REFUSED_KINDS[raw.dtype.kind]}; got dtype {raw.dtype}")
    if raw.dtype.kind in "iu" and raw.size and max(int(raw.max()), -int(raw.min())) > _EXACT_INT:
        raise InputError(
            f"{label} holds integers beyond 2**53, which float64 cannot represent exactly; "
            "subtract an offset or rescale first"
        )
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{label} must be numeric; could not convert: {exc}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise InputError(
            f"{label} must be 1-D (n,) or 2-D (n, d); got an array with shape {arr.shape}"
        )
    if arr.shape[1] == 0:
        raise InputError(f"{label} has no columns (shape {arr.shape})")
    return arr


#: Largest |value| :func:`validate_samples` accepts: squares of larger values overflow float64.
MAX_ABS_VALUE = 1e150

#: Smallest largest-|value| of a column :func:`validate_samples` accepts: squares of
#: smaller values underflow to 0, so the column's variance would be 0 or denormal.
MIN_ABS_VALUE = 1e-150


def validate_samples(
    x: Any,
    y: Any,
    *,
    min_samples: int = 2,
    reason: str = "",
    allow_constant: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Check and coerce a pair of samples to float64 arrays of shape (n, d).

    Parameters
    ----------
    x, y : array_like
        Samples of X and Y; 1-D input is treated as one column.
    min_samples : int
        Smallest acceptable n (e.g. ``k + 1`` for KSG).
    reason : str
        Why ``min_samples`` is needed, quoted in the error (e.g. ``"k=5"``).
    allow_constant : bool
        Accept columns with a single distinct value.

    Returns
    -------
    x, y : ndarray of shape (n, dx), (n, dy)

    Raises
    ------
    InputError
        One clear message naming the first problem found.
    """
    xa = _as_2d(x, "x")
    ya = _as_2d(y, "y")
    if xa.shape[0] != ya.shape[0]:
        raise InputError(
            f"x and y must have the same number of samples; got {xa.shape[0]} and {ya.shape[0]}"
        )
    n = xa.shape[0]
    if n < min_samples:
        why = f" ({reason})" if reason else ""
        wide = [f"{lab} has shape {a.shape}" for lab, a in (("x", xa), ("y", ya)) if a.shape[1] > n]
        hint = (
            f"; {' and '.join(wide)}: samples are rows (transpose if the columns are samples)"
            if wide
            else ""
        )
        raise InputError(f"need at least {min_samples} samples{why}; got {n}{hint}")
    for label, arr in (("x", xa), ("y", ya)):
        finite = np.isfinite(arr)
        if not finite.all():
            bad = np.argwhere(~finite)[0]
            kind = "NaN" if np.isnan(arr[tuple(bad)]) else "inf"
            raise InputError(
                f"{label} contains {kind} (first at row {bad[0]}, column {bad[1]}); "
                "remove or impute non-finite values"
            )
        peak = float(np.max(np.abs(arr))) if arr.size else 0.0
        if peak > MAX_ABS_VALUE:
            raise InputError(
                f"{label} holds values up to {peak:.3g} in magnitude, beyond {MAX_ABS_VALUE:g} "
                "where variances overflow float64; rescale the data (MI is scale-invariant)"
            )
        col_peak = np.max(np.abs(arr), axis=0)
        tiny = np.flatnonzero((col_peak > 0) & (col_peak < MIN_ABS_VALUE))
        if tiny.size:
            c = int(tiny[0])
            raise InputError(
                f"{label} column {c} holds values only up to {col_peak[c]:.3g} in magnitude, "
                f"below {MIN_ABS_VALUE:g} where variances underflow float64; rescale the data "
                "(MI is scale-invariant)"
            )
        if not allow_constant:
            const = np.flatnonzero(np.ptp(arr, axis=0) == 0)
            if const.size:
                raise InputError(
                    f"{label} column {int(const[0])} is constant; MI with a constant is 0 "
                    "and the estimator is undefined there"
                )
    return xa, ya


# --------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    """What an estimator can do; read by the runner, the CLI and reports."""

    max_dim_x: int | None = None  # None: any dimension
    max_dim_y: int | None = None
    devices: tuple[str, ...] = ("cpu",)
    batched: bool = False  # estimate_batch is faster than a loop
    differentiable: bool = False
    sliced: bool = False  # on multi-dimensional x or y it estimates sliced MI, not the MI
    requires: frozenset[str] = field(default_factory=frozenset)  # e.g. {"torch"}


class Estimator:
    """Base class for MI estimators.

    Subclasses set the class attributes ``name`` and ``capabilities``, take
    plain keyword parameters in ``__init__`` (each stored unchanged under its
    own name, ``self.k = k``, no work done: :func:`get_params` reads them back),
    validate them in :meth:`_check_params`, and implement :meth:`_estimate`
    on validated float64 arrays (batched ones also :meth:`_estimate_batch`).
    Optional hooks: :meth:`min_samples` (with :meth:`_min_reason` for its
    message), :meth:`prepare` and :meth:`artifacts`. Estimates are in nats.
    The public :meth:`estimate` and :meth:`estimate_batch` are the base
    class's: they validate, check the result, and the runner calls
    ``estimate_batch(..., allow_nonfinite=True)``, so an override of them must
    keep that signature.
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    # -- parameters ---------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return get_params(self)

    @property
    def params(self) -> dict[str, Any]:
        """JSON-serialisable parameters, as shown in reports."""
        return self.get_params()

    def _check_params(self) -> None:
        """Raise :class:`SpecError` for invalid parameter values (override)."""

    def artifacts(self) -> dict[str, str]:
        """Identities of files the estimates depend on beyond the parameters.

        For example the sha256 of trained weights. The runner records them
        with each run (the report header shows them) and refuses to resume a
        run after they changed, so one run never mixes two models. Estimators
        that load nothing return ``{}``.

        Plugin authors can return whatever should pin a run to one version of
        their estimator, e.g. ``{"weights": sha256_of_file(path)}``, a hash of
        a model directory or of their own code, or the version of a package
        whose results matter: the run environment already records each
        plugin's distribution version and a hash of the module defining the
        class, but only this hook makes a resume refuse a change. Keep it
        cheap and deterministic (it runs once per session, before any cell);
        values are strings.
        """
        return {}

    def base_estimator(self) -> Estimator | None:
        """The estimator this one wraps and computes its estimates with (``sliced``'s
        base), or None (the default) for an estimator that computes its own.

        The harness reads it where the wrapped estimator decides: which device
        a run's ``--device`` and the CUDA check concern, where Dask sends the
        cells, and whose code provenance records.
        """
        return None

    def prepare(self) -> None:
        """Load what the estimates need (weights, imports) before any is timed.

        The runner calls it once per chunk of cells, outside the timed calls,
        so a cell's seconds are the estimate's own (a per-cell ``timeout``
        still limits it: a prepare() past it times out the cells waiting on
        it). Estimators that load nothing keep this no-op.
        """

    def min_samples(self) -> int:
        """Smallest sample size the estimator accepts (override; default 2).

        Fewer samples raise :class:`InputError` ``need at least N samples
        (<name> <reason>); got n``, the reason coming from :meth:`_min_reason`
        when it is overridden, else just the estimator's name.
        """
        return 2

    def supports(self, dim_x: int, dim_y: int) -> bool:
        c = self.capabilities
        return (c.max_dim_x is None or dim_x <= c.max_dim_x) and (
            c.max_dim_y is None or dim_y <= c.max_dim_y
        )

    @property
    def requires(self) -> frozenset[str]:
        return self.capabilities.requires

    # -- estimation ---------------------------------------------------------
    def _validate(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        why = self._min_reason()
        reason = " ".join(part for part in (self.name, why) if part)
        xa, ya = validate_samples(x, y, min_samples=self.min_samples(), reason=reason)
        if not self.supports(xa.shape[1], ya.shape[1]):
            raise InputError(
                f"{self.name} does not support dim_x={xa.shape[1]}, dim_y={ya.shape[1]} "
                f"(max {self.capabilities.max_dim_x}, {self.capabilities.max_dim_y})"
            )
        return xa, ya

    def _min_reason(self) -> str:
        """Optional: why :meth:`min_samples` is what it is, for the error message
        (``"k=5"`` for KSG); ``""`` (the default) leaves only the estimator's name."""
        return ""

    def estimate(self, x: Any, y: Any) -> float:
        """Estimate I(X; Y) in nats from paired samples ``x`` (n, dx), ``y`` (n, dy)."""
        xa, ya = self._validate(x, y)
        value = float(self._estimate(xa, ya))
        if not np.isfinite(value):
            raise FloatingPointError(f"{self.name} produced a non-finite estimate ({value})")
        return value

    def estimate_batch(
        self, xs: Iterable[Any], ys: Iterable[Any], *, allow_nonfinite: bool = False
    ) -> np.ndarray:
        """Estimate MI for many sample pairs (validated first, all of them).

        A non-finite estimate raises FloatingPointError unless ``allow_nonfinite``
        (the runner's choice: it fails only those cells, not their batch).
        """
        xs, ys = list(xs), list(ys)  # an iterator is read once
        if len(xs) != len(ys):
            raise InputError(f"xs and ys must have the same length; got {len(xs)} and {len(ys)}")
        pairs = [self._validate(x, y) for x, y in zip(xs, ys, strict=True)]
        values = np.asarray(self._estimate_batch(pairs), dtype=np.float64)
        if values.shape != (len(pairs),):
            raise ValueError(
                f"{self.name} returned estimates of shape {values.shape} for {len(pairs)} samples"
            )
        if not allow_nonfinite and not np.all(np.isfinite(values)):
            raise FloatingPointError(f"{self.name} produced a non-finite estimate")
        return values

    def _estimate_batch(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Estimates for validated pairs; batched estimators override this."""
        return np.array([self._estimate(x, y) for x, y in pairs], dtype=np.float64)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return _spec_repr(self)


# --------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """One sample pair with its ground truth.

    ``meta`` holds the task's labels for this instance (MI level, K, rho, d,
    triplet id, dependence label, ...); each key becomes a result column.
    """

    instance_id: str
    x: np.ndarray
    y: np.ndarray
    true_mi: float
    true_mi_se: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)


class Task:
    """Base class for task generators.

    Subclasses set ``name`` and ``summary`` (which view :mod:`harness.metrics`
    gives: ``"error"``, ``"levels"``, ``"order"``, ``"auc"``, ...), take plain
    keyword parameters (always including ``n``, the sample size), and
    implement :meth:`n_instances` and :meth:`instance`. The same parameters and
    seed give the same samples and truth on any machine.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = "error"
    #: Meta columns that set an instance's distribution family apart from its MI
    #: (``mvn``: ``d``, ``transform``, ``sparse``). Rows that differ in one are not
    #: comparable point by point: the report draws an "error" task that has facets
    #: as error against the truth, one panel per setting present.
    facets: ClassVar[tuple[str, ...]] = ()

    def get_params(self) -> dict[str, Any]:
        return get_params(self)

    @property
    def params(self) -> dict[str, Any]:
        return self.get_params()

    def _check_params(self) -> None:
        """Raise :class:`SpecError` for invalid parameter values (override)."""

    def n_instances(self) -> int:
        raise NotImplementedError

    def instance(self, index: int, seed: int) -> Instance:
        """Generate instance ``index`` for sample seed ``seed``."""
        raise NotImplementedError

    def instances(self, seed: int) -> Iterator[Instance]:
        self._check_params()
        for i in range(self.n_instances()):
            yield self.instance(i, seed)

    def rng(self, index: int, seed: int) -> np.random.Generator:
        """Generator for instance ``index`` under ``seed``: a SeedSequence leaf."""
        return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(index,)))

    def __repr__(self) -> str:
        return _spec_repr(self)


def device_used(est: Estimator) -> str:
    """Device an estimate ran on: ``est.device_`` if set, else its ``device`` param.

    ``"auto"`` resolves to ``"cuda"`` only when torch is already loaded and sees a GPU
    (torch is never imported here just to ask).
    """
    dev = getattr(est, "device_", None)
    if dev:
        return str(dev)
    dev = getattr(est, "device", None)
    if dev and dev != "auto":
        return str(dev)
    torch = sys.modules.get("torch")
    if dev == "auto" and torch is not None and torch.cuda.is_available():
        return "cuda"
    return "cpu"
