"""Task generators with known ground truth, and their registry.

>>> import tasks
>>> task = tasks.make("gmm_levels:per_level=50")
>>> for inst in task.instances(seed=0): ...

Third-party tasks register under the entry-point group ``mi_harness.tasks``.
"""

from __future__ import annotations

from typing import Any

from harness.interface import Instance, Task
from harness.registry import Registry

BUILTINS = {
    "gaussian": "tasks.gaussian:Gaussian",
    "halfcube": "tasks.transformed:HalfCube",
    "asinh": "tasks.transformed:Asinh",
    "additive_noise": "tasks.additive_noise:AdditiveNoise",
    "gmm_levels": "tasks.gmm_levels:GMMLevels",
    "gmm_order": "tasks.gmm_order:GMMOrder",
    "mvn": "tasks.mvn:MVN",
    "highdim_independence": "tasks.highdim_independence:HighDimIndependence",
    "highdim_order": "tasks.highdim_order:HighDimOrder",
    "omniglot_smi": "tasks.omniglot:OmniglotSMI",
    "latency": "tasks.latency:Latency",
}

registry = Registry("task", "mi_harness.tasks", BUILTINS, base=Task)


def make(spec: str | Task, **params: Any) -> Task:
    """Build a task from a spec string such as ``"gmm_levels:per_level=50"``.

    Keywords add parameters (``make("gmm_levels", per_level=5)``); an unknown
    parameter, or one set both in the spec and as a keyword, raises
    :class:`harness.interface.SpecError`.
    """
    return registry.make(spec, **params)


def names() -> list[str]:
    return registry.names()


__all__ = ["Instance", "Task", "make", "names", "registry"]
