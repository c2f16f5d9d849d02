"""Gaussian pairs seen through a strictly monotone map (Czyż et al. 2023).

Applying an invertible map to each coordinate of X and of Y leaves I(X; Y)
unchanged, so these tasks share the Gaussian task's truth and samples; only
the marginals become heavy-tailed (half-cube) or light-tailed (asinh).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tasks.gaussian import Gaussian

__all__ = ["Asinh", "HalfCube"]


class HalfCube(Gaussian):
    """The :class:`~tasks.gaussian.Gaussian` sweep through h(t) = |t|^{3/2} sign(t).

    Same parameters, truth and instance ids as ``gaussian``; for a given seed
    the samples are exactly h of the Gaussian task's samples.
    """

    name: ClassVar[str] = "halfcube"

    @staticmethod
    def transform(t: np.ndarray) -> np.ndarray:
        """h(t) = |t|^{3/2} sign(t)."""
        return np.sign(t) * np.abs(t) ** 1.5


class Asinh(Gaussian):
    """The :class:`~tasks.gaussian.Gaussian` sweep through asinh.

    Same parameters, truth and instance ids as ``gaussian``; for a given seed
    the samples are exactly asinh of the Gaussian task's samples.
    """

    name: ClassVar[str] = "asinh"

    @staticmethod
    def transform(t: np.ndarray) -> np.ndarray:
        """asinh(t)."""
        return np.arcsinh(t)
