"""Where and with what a run happened: versions, commit, host, CPU, GPU, threads.

Nothing here imports torch or other heavy packages: versions come from
package metadata and GPU details from ``nvidia-smi`` when it is installed.

Estimators and tasks from outside mi-harness (entry-point plugins, classes
registered or passed at run time) are recorded too, in ``versions["plugins"]``:
per defining module, the distribution and its version and a short sha256 of
the module's source file, so runs of two versions of a plugin tell apart.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "collect",
    "cpu_info",
    "distribution",
    "distribution_version",
    "git_info",
    "gpu_info",
    "plugin_info",
    "plugin_lines",
    "thread_settings",
    "versions",
]

PACKAGES = (
    "mi-harness",
    "numpy",
    "scipy",
    "numba",
    "pandas",
    "scikit-learn",
    "torch",
    "pyarrow",
    "threadpoolctl",
)

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_THREADING_LAYER",
    "CUDA_VISIBLE_DEVICES",
)

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Top-level packages of mi-harness itself: code there is pinned by the git commit.
HARNESS_PACKAGES = frozenset(
    {"estimators", "ground_truth", "harness", "reports", "results", "tasks"}
)

#: Hex digits kept of a plugin module's sha256.
SOURCE_DIGITS = 12


def versions(used: Iterable[Any] = ()) -> dict[str, Any]:
    """Installed versions of the packages results depend on (``None`` if absent).

    Where ``used`` (a run's estimators and task) holds code from outside mi-harness
    (see :func:`plugin_info`), ``"plugins"`` maps each defining module to its
    distribution, version and source hash.
    """
    out: dict[str, Any] = {"python": platform.python_version()}
    for name in PACKAGES:
        out[name] = distribution_version(name)
    if out["mi-harness"] is None:
        from harness import __version__

        out["mi-harness"] = __version__
    plugins = plugin_info(used)
    if plugins:
        out["plugins"] = plugins
    return out


def _module_path(module: Any) -> Path | None:
    file = getattr(module, "__file__", None)
    if not file:
        return None
    try:
        return Path(file).resolve()
    except (OSError, RuntimeError):
        return None


def _is_harness_code(name: str, path: Path | None) -> bool:
    """Whether module ``name`` belongs to mi-harness or to its git checkout (tests,
    benchmarks): the commit and dirty flag pin those already."""
    if name.split(".")[0] in HARNESS_PACKAGES:
        return True
    if path is None or not (REPO_ROOT / ".git").exists():
        return False
    try:
        rel = path.relative_to(REPO_ROOT)
    except ValueError:
        return False
    installed = {"site-packages", "dist-packages", ".venv", "venv"}
    return not any(part in installed for part in rel.parts)


@functools.lru_cache(maxsize=1)
def _top_level_dists() -> dict[str, list[str]]:
    try:
        return dict(metadata.packages_distributions())
    except Exception:  # broken metadata somewhere must not stop a run
        return {}


def distribution(module: str) -> str | None:
    """The installed distribution providing module ``module`` (None: not from one).

    A module a registry loaded a class from through an entry point belongs to
    that entry point's distribution; any other module to the distribution that
    installed its top-level package.
    """
    from harness.registry import _PLUGIN_MODULES

    dist = _PLUGIN_MODULES.get(module)
    if dist is not None:
        return dist
    dists = _top_level_dists().get(module.split(".")[0]) or []
    return sorted(dists)[0] if dists else None


def _source_hash(path: Path | None) -> str | None:
    """First :data:`SOURCE_DIGITS` hex digits of the sha256 of a Python source file."""
    if path is None or path.suffix != ".py":
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:SOURCE_DIGITS]
    except OSError:
        return None


def distribution_version(dist: str | None) -> str | None:
    """The installed version of distribution ``dist`` (None: not installed)."""
    if dist is None:
        return None
    try:
        return metadata.version(dist)
    except (metadata.PackageNotFoundError, ValueError):
        return None


def plugin_info(used: Iterable[Any]) -> dict[str, dict[str, str | None]]:
    """Where the estimator and task code from outside mi-harness comes from.

    Parameters
    ----------
    used : iterable
        The estimators and tasks of a run (objects or classes).

    Returns
    -------
    dict
        Defining module -> ``{"dist": distribution or None, "version": its
        version or None, "sha256": the first 12 hex digits of the module's
        source file's sha256, or None}``, sorted by module; mi-harness's own
        modules (and other code of its git checkout) are left out.
    """
    classes = [o if isinstance(o, type) else type(o) for o in used]
    out: dict[str, dict[str, str | None]] = {}
    for cls in classes:
        name = getattr(cls, "__module__", None)
        if not isinstance(name, str) or name in out:
            continue
        path = _module_path(sys.modules.get(name))
        if _is_harness_code(name, path):
            continue
        dist = distribution(name)
        version = distribution_version(dist)
        out[name] = {"dist": dist, "version": version, "sha256": _source_hash(path)}
    return dict(sorted(out.items()))


def plugin_lines(recorded: Any) -> list[str]:
    """One line per module of a record's ``versions["plugins"]``, e.g.
    ``"my_plugin: my-mi-plugin 0.2.0, source sha256 1a2b3c4d5e6f"`` (for reports)."""
    plugins = recorded.get("plugins") if isinstance(recorded, dict) else None
    if not isinstance(plugins, dict):
        return []
    lines = []
    for module, info in plugins.items():
        info = info if isinstance(info, dict) else {}
        parts = []
        if info.get("dist"):
            parts.append(f"{info['dist']} {info.get('version') or '(version unknown)'}")
        else:
            parts.append("no distribution")
        parts.append(f"source sha256 {info['sha256']}" if info.get("sha256") else "no source file")
        lines.append(f"{module}: {', '.join(parts)}")
    return lines


def _git(*args: str) -> str | None:
    if shutil.which("git") is None:
        return None
    # the source tree's own repository, whatever GIT_DIR & co. the caller has set
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, env=env
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info() -> dict[str, Any]:
    """Commit of the harness source tree and whether it has uncommitted changes."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    # untracked files count (a new plugin module changes what runs); ignored ones do not
    status = _git("status", "--porcelain")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def cpu_info() -> dict[str, Any]:
    """CPU model, logical core count and the cores this process may use."""
    model = platform.processor() or None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "model": model,
        "machine": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
    }


def gpu_info() -> list[dict[str, str]]:
    """NVIDIA GPUs reported by ``nvidia-smi`` (empty when there is none)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        done = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            timeout=15,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in done.stdout.strip().splitlines() if done.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2]})
    return gpus


def thread_settings(worker_threads: int | None = None) -> dict[str, Any]:
    """Thread-related environment variables, the per-worker limit if one is set,
    and the thread counts Numba and torch run the cells with: the limit in
    worker processes, else this process's counts (where loaded: neither is
    imported just to ask)."""
    out: dict[str, Any] = {k: os.environ.get(k) for k in THREAD_ENV}
    out["worker_threads"] = worker_threads
    if worker_threads is not None:
        out["numba_threads"] = out["torch_threads"] = worker_threads
        return out
    torch = sys.modules.get("torch")
    out["torch_threads"] = torch.get_num_threads() if torch is not None else None
    out["numba_threads"] = _numba_threads()
    return out


def _numba_threads() -> int | None:
    """Numba's thread count without starting its threading layer: starting it here
    would reset torch's count and make a later fork() of this process unsafe."""
    numba = sys.modules.get("numba")
    if numba is None:
        return None
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is not None and getattr(parallel, "_is_initialized", False):
        return int(numba.get_num_threads())
    return int(numba.config.NUMBA_NUM_THREADS)


def collect(worker_threads: int | None = None, used: Iterable[Any] = ()) -> dict[str, Any]:
    """Environment fields of a run record (see :data:`results.schema.RUN_FIELDS`).

    ``used``: the run's estimators and task (objects or classes), whose code
    from outside mi-harness ``versions["plugins"]`` records (:func:`plugin_info`).
    """
    git = git_info()
    return {
        "versions": versions(used),
        "git_commit": git["commit"],
        "git_dirty": None if git["dirty"] is None else int(git["dirty"]),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu_info(),
        "gpu": gpu_info(),
        "threads": thread_settings(worker_threads),
    }
