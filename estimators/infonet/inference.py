"""From 1-D samples to InfoNet estimates: ranks, forward pass, DV read-out.

The one inference path, shared by the ``infonet`` estimator, the training
script's validation and the benchmarks.
"""

from __future__ import annotations

import torch

from estimators.infonet.copula import codes_to_copula, copula_codes
from estimators.infonet.model import CodeTables, InfoNetModel
from estimators.infonet.readout import dv_value

__all__ = ["CACHED_SIZES", "estimate_rows", "split_optimism"]

#: Sample sizes whose code tables a cache keeps (about 12 MB each at n = 2000 and L = 192).
CACHED_SIZES = 8


def estimate_rows(
    net: InfoNetModel,
    a: torch.Tensor,
    b: torch.Tensor,
    readout: str = "exact",
    correction: str = "none",
    generator: torch.Generator | None = None,
    tables: dict[int, CodeTables] | None = None,
) -> torch.Tensor:
    """InfoNet estimates for rows of paired 1-D samples ``a``, ``b`` (B, n); shape (B,).

    The samples are ranked at their own precision (pass float64 data as float64:
    a float32 copy ties values closer than its rounding, e.g. timestamps), then
    the network and read-out work in float32.

    ``correction="split"`` subtracts half of the small-sample optimism
    measured by :func:`split_optimism` (see ``InfoNet``). ``tables`` caches
    :meth:`InfoNetModel.code_tables` by sample size across calls; it is only
    valid while the weights stay the same (pass a fresh dict after training).
    """
    ca, cb = copula_codes(a), copula_codes(b)
    n = a.shape[-1]
    cache = {} if tables is None else tables
    if n not in cache:
        while len(cache) >= CACHED_SIZES:
            cache.pop(next(iter(cache)))
        cache[n] = net.code_tables(n, a.device)
    code_tables = cache[n]
    u, v = codes_to_copula(ca, torch.float32), codes_to_copula(cb, torch.float32)
    value = dv_value(net.forward_codes(ca, cb, code_tables).float(), u, v, readout, generator)
    if correction == "split":
        value = value - 0.5 * split_optimism(net, ca, cb, code_tables, readout, generator)
    return value


def split_optimism(
    net: InfoNetModel,
    ca: torch.Tensor,
    cb: torch.Tensor,
    tables: CodeTables,
    readout: str,
    gen: torch.Generator | None,
) -> torch.Tensor:
    """In-sample minus cross-fitted DV value of tables built from each half sample.

    The halves are the points of even and odd x-rank (ties in x broken by the
    y rank), so the split does not depend on the order of the samples and both
    halves cover the x range.
    """
    order = torch.argsort(ca * (2 * ca.shape[1]) + cb, dim=1, stable=True)
    scale = 2.0 * tables.n
    halves, tabs = [], []
    for idx in (order[:, 0::2], order[:, 1::2]):
        ha, hb = torch.gather(ca, 1, idx), torch.gather(cb, 1, idx)
        halves.append((ha.float() / scale, hb.float() / scale))
        tabs.append(net.forward_codes(ha, hb, tables).float())
    a, b = halves
    table_a, table_b = tabs
    inside = dv_value(table_a, *a, readout, generator=gen) + dv_value(
        table_b, *b, readout, generator=gen
    )
    across = dv_value(table_a, *b, readout, generator=gen) + dv_value(
        table_b, *a, readout, generator=gen
    )
    return 0.5 * (inside - across)
