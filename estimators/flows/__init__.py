"""Difference-of-entropies MI estimators: NDoE (one BNAF flow) and DoE (Gaussian).

Only NumPy and the harness are imported here; torch loads when a flow is trained.
"""

from estimators.flows.doe import DoE
from estimators.flows.ndoe import NDoE

__all__ = ["DoE", "NDoE"]
