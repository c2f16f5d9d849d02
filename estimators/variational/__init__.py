"""Variational (critic-trained) MI estimators sharing one training loop.

Importing this package does not import torch; see
:mod:`estimators.variational.estimators`.
"""

from estimators.variational.estimators import DV, MINE, NWJ, SMILE, InfoNCE

__all__ = ["DV", "MINE", "NWJ", "SMILE", "InfoNCE"]
