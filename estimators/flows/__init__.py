"""Difference-of-entropies MI estimators: NDoE (one flow), two separate BNAFs, DoE.

Only NumPy and the harness are imported here; torch loads when a flow is trained.
"""

from estimators.flows.doe import DoE
from estimators.flows.ndoe import NDoE, SeparateBNAF

__all__ = ["DoE", "NDoE", "SeparateBNAF"]
