"""Where and with what a run happened: versions, commit, host, CPU, GPU, threads.

Nothing here imports torch or other heavy packages: versions come from
package metadata and GPU details from ``nvidia-smi`` when it is installed.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["collect", "cpu_info", "git_info", "gpu_info", "thread_settings", "versions"]

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


def versions() -> dict[str, str | None]:
    """Installed versions of the packages results depend on (``None`` if absent)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out["mi-harness"] is None:
        from harness import __version__

        out["mi-harness"] = __version__
    return out


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


def collect(worker_threads: int | None = None) -> dict[str, Any]:
    """Environment fields of a run record (see :data:`results.schema.RUN_FIELDS`)."""
    git = git_info()
    return {
        "versions": versions(),
        "git_commit": git["commit"],
        "git_dirty": None if git["dirty"] is None else int(git["dirty"]),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu_info(),
        "gpu": gpu_info(),
        "threads": thread_settings(worker_threads),
    }
