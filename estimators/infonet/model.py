"""The InfoNet network: samples on the copula square -> L x L critic table.

Perceiver-IO shape (Hu et al., ICML 2024, Fig. 3), sizes configurable:

1. each pair (u_t, v_t) becomes a token (Fourier features + MLP);
2. M learnable latents (plus, with ``size_features``, a learned function of
   ln n, so the network knows how many samples it sees, and with
   ``moment_features`` the sample's low-order cosine moments of the copula)
   cross-attend to the tokens, then pass through self-attention layers (a
   summary of the whole joint distribution);
3. query generator: one query per x-grid node attends over the samples with
   keys from x and values from y (what y looks like near that x);
4. decoder: those L queries cross-attend to the latents; each becomes a row
   embedding, and the table is rows x column embeddings of the y-grid nodes;
5. a fixed Gaussian blur smooths the table (paper appendix A.8, method 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class InfoNetConfig:
    """Sizes of an InfoNet model (all integers except ``blur_sigma``)."""

    dim: int = 96  # D: token / latent width
    latents: int = 64  # M
    grid: int = 96  # L: look-up table resolution
    self_layers: int = 3
    heads: int = 4
    mlp_hidden: int = 192
    frequencies: int = 8  # Fourier features per coordinate
    blur_size: int = 5
    blur_sigma: float = 1.0  # in grid cells; 0 disables the blur
    size_features: int = 0  # powers of log(n / 1000) added to the latents; 0: none
    moment_features: int = 0  # K: cosine moments of orders 1..K added to the latents; 0: none

    def to_dict(self) -> dict:
        return asdict(self)


def fourier_features(u: torch.Tensor, frequencies: int) -> torch.Tensor:
    """(..., n) in [0, 1] -> (..., n, 1 + 2F) features."""
    freqs = math.pi * torch.arange(1, frequencies + 1, device=u.device, dtype=u.dtype)
    angles = u.unsqueeze(-1) * freqs
    return torch.cat([2 * u.unsqueeze(-1) - 1, torch.sin(angles), torch.cos(angles)], dim=-1)


def size_features(n: int, count: int, dtype: torch.dtype, device) -> torch.Tensor:
    """(count,) powers t, t^2, ... of t = ln(n / 1000): the sample size as the network sees it."""
    t = math.log(n / 1000.0)
    return torch.tensor([t ** (i + 1) for i in range(count)], dtype=dtype, device=device)


def cosine_basis(u: torch.Tensor, count: int) -> torch.Tensor:
    """(..., n) in [0, 1] -> (..., n, count) values cos(k pi u), k = 1..count."""
    k = torch.arange(1, count + 1, device=u.device, dtype=u.dtype)
    return torch.cos(math.pi * u.unsqueeze(-1) * k)


def cosine_moments(bu: torch.Tensor, bv: torch.Tensor) -> torch.Tensor:
    """Cosine moments of a copula sample from its bases ``bu``, ``bv`` (B, n, K): (B, 2 K^2).

    a_kl = (2 / n) sum_t cos(k pi u_t) cos(l pi v_t) are the coefficients of a
    cosine-series estimate of the copula density (a_11 is close to Spearman's
    rho); each is about N(0, 1 / n) under independence, so the
    features are the a_kl themselves and tanh(sqrt(n) a_kl / 3), their
    standardised size squashed into (-1, 1): how far from independence the
    sample is, in the units a test would use. Rank-based, so they keep the
    estimate's invariance to monotone maps and to the sample order.
    """
    n = bu.shape[-2]
    a = (torch.einsum("...nk,...nl->...kl", bu, bv) * (2.0 / n)).flatten(-2)
    return torch.cat([a, torch.tanh(a * (math.sqrt(n) / 3.0))], dim=-1)


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, d = t.shape
        return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def attend(self, q: torch.Tensor, kp: torch.Tensor, vp: torch.Tensor) -> torch.Tensor:
        """Attention of queries ``q`` over already projected keys ``kp`` and values ``vp``."""
        b, nq, d = q.shape
        att = F.scaled_dot_product_attention(
            self._split(self.q(q)), self._split(kp), self._split(vp)
        )
        return self.out(att.transpose(1, 2).reshape(b, nq, d))

    def weights(self, q: torch.Tensor, kp: torch.Tensor) -> torch.Tensor:
        """Attention weights (heads, nq, nk) of unbatched queries ``q`` over keys ``kp``."""
        qs, ks = self._split(self.q(q)[None]), self._split(kp[None])
        scores = qs @ ks.transpose(-1, -2) / math.sqrt(qs.shape[-1])
        return torch.softmax(scores, dim=-1)[0]

    def mix(self, weights: torch.Tensor, vp: torch.Tensor) -> torch.Tensor:
        """:meth:`attend` given its ``weights`` (heads, nq, n), shared by all B rows of
        the projected values ``vp`` (B, n, D): one matrix product per head."""
        b, n, d = vp.shape
        h = self.heads
        # (B, n, h, dh) -> (h, n, B * dh), so each head is a single GEMM over the batch
        v = vp.view(b, n, h, d // h).permute(2, 1, 0, 3).reshape(h, n, b * (d // h))
        att = torch.bmm(weights.to(vp.dtype), v)  # (h, nq, B * dh)
        nq = att.shape[1]
        att = att.view(h, nq, b, d // h).permute(2, 1, 0, 3).reshape(b, nq, d)
        return self.out(att)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.attend(q, self.k(k), self.v(v))


class Block(nn.Module):
    """Pre-norm attention block; self-attention when no keys/values are given."""

    def __init__(self, dim: int, heads: int, hidden: int, cross: bool):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_k = nn.LayerNorm(dim) if cross else None
        self.norm_v = nn.LayerNorm(dim) if cross else None
        self.attn = Attention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = _mlp(dim, hidden, dim)

    def project(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised and projected keys and values of a cross-attention block.

        When keys and values are the same tensor, its layer-norm statistics are
        computed once and both norms' affine maps are folded into one fused
        key-value projection (the same function, one matrix product).
        """
        if v is not k:
            return self.attn.k(self.norm_k(k)), self.attn.v(self.norm_v(v))
        d = k.shape[-1]
        parts = [(self.norm_k, self.attn.k), (self.norm_v, self.attn.v)]
        weight = torch.cat([lin.weight * norm.weight for norm, lin in parts])
        bias = torch.cat([lin.bias + lin.weight @ norm.bias for norm, lin in parts])
        kv = F.linear(F.layer_norm(k, (d,), eps=self.norm_k.eps), weight, bias)
        return kv[..., :d], kv[..., d:]

    def _finish(self, q: torch.Tensor, mixed: torch.Tensor) -> torch.Tensor:
        h = q + mixed
        return h + self.mlp(self.norm_mlp(h))

    def attend(self, q: torch.Tensor, kp: torch.Tensor, vp: torch.Tensor) -> torch.Tensor:
        """The block on queries ``q`` given :meth:`project`-ed keys and values."""
        return self._finish(q, self.attn.attend(self.norm_q(q), kp, vp))

    def attend_fixed(
        self, q: torch.Tensor, weights: torch.Tensor, vp: torch.Tensor
    ) -> torch.Tensor:
        """:meth:`attend` for unbatched queries ``q`` (nq, D) whose attention ``weights``
        (from :meth:`weights`) are the same for every row of ``vp`` (B, n, D)."""
        return self._finish(q, self.attn.mix(weights, vp))

    def weights(self, q: torch.Tensor, kp: torch.Tensor) -> torch.Tensor:
        """Attention weights (heads, nq, nk) of unbatched queries ``q`` over projected keys."""
        return self.attn.weights(self.norm_q(q), kp)

    def forward(
        self, q: torch.Tensor, k: torch.Tensor | None = None, v: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.norm_k is None:
            qn = self.norm_q(q)
            return self.attend(q, self.attn.k(qn), self.attn.v(qn))
        k = q if k is None else k
        v = k if v is None else v
        return self.attend(q, *self.project(k, v))


def gaussian_taps(size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian weights on ``size`` integer offsets centred on zero."""
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-0.5 * (r / sigma) ** 2)
    return g / g.sum()


def blur_along(t: torch.Tensor, weights: Sequence[float], dim: int) -> torch.Tensor:
    """``t`` convolved along ``dim`` with the odd-length kernel ``weights``, borders
    replicated: a weighted sum of shifted copies."""
    pad = len(weights) // 2
    size = t.shape[dim]
    idx = torch.arange(-pad, size + pad, device=t.device).clamp(0, size - 1)
    padded = t.index_select(dim, idx)
    return sum(w * padded.narrow(dim, k, size) for k, w in enumerate(weights))


def blur_table(table: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """Tables (B, L, L) blurred by the 2-D kernel ``outer(weights, weights)``, borders
    replicated. The kernel is separable, so this is two 1-D passes."""
    return blur_along(blur_along(table, weights, 1), weights, 2)


class InfoNetModel(nn.Module):
    """Maps copula samples ``u, v`` (B, n) to a critic table (B, L, L)."""

    def __init__(self, config: InfoNetConfig | None = None):
        super().__init__()
        cfg = config or InfoNetConfig()
        self.config = cfg
        d, f = cfg.dim, 1 + 2 * cfg.frequencies
        self.pair_embed = _mlp(2 * f, d, d)
        self.latents = nn.Parameter(torch.randn(cfg.latents, d) * 0.02)
        self.encode = Block(d, cfg.heads, cfg.mlp_hidden, cross=True)
        self.process = nn.ModuleList(
            Block(d, cfg.heads, cfg.mlp_hidden, cross=False) for _ in range(cfg.self_layers)
        )
        self.x_embed = _mlp(f, d, d)
        self.y_embed = _mlp(f, d, d)
        self.row_query = _mlp(f, d, d)
        self.query_gen = Block(d, cfg.heads, cfg.mlp_hidden, cross=True)
        self.decode = Block(d, cfg.heads, cfg.mlp_hidden, cross=True)
        self.row_head = _mlp(d, d, d)
        self.col_embed = _mlp(f, d, d)
        self.bias = nn.Parameter(torch.zeros(()))
        if cfg.size_features > 0:
            # zero at start, so a model grown from one without it computes the same tables
            self.size_embed = nn.Linear(cfg.size_features, d)
            nn.init.zeros_(self.size_embed.weight)
            nn.init.zeros_(self.size_embed.bias)
        else:
            self.size_embed = None
        if cfg.moment_features > 0:
            # zero at start for the same reason
            self.moment_embed = nn.Linear(2 * cfg.moment_features**2, d)
            nn.init.zeros_(self.moment_embed.weight)
            nn.init.zeros_(self.moment_embed.bias)
        else:
            self.moment_embed = None
        grid = torch.linspace(0.0, 1.0, cfg.grid)
        self.register_buffer("grid_nodes", grid, persistent=False)
        self.blur_weights: tuple[float, ...] | None = None
        if cfg.blur_sigma > 0 and cfg.blur_size > 1:
            self.blur_weights = tuple(gaussian_taps(cfg.blur_size, cfg.blur_sigma).tolist())

    def with_grid(self, grid: int) -> InfoNetModel:
        """A copy with an ``grid`` x ``grid`` table and the same weights.

        No weight depends on L (the nodes enter as positions in [0, 1]), so the
        copy samples the same critic at other nodes; the blur stays
        ``blur_sigma`` nodes wide, so a finer grid also blurs less.
        """
        other = InfoNetModel(replace(self.config, grid=int(grid)))
        other.load_state_dict(self.state_dict())
        return other.train(self.training)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Critic tables (B, L, L) for copula samples ``u``, ``v`` (B, n) in [0, 1]."""
        f = self.config.frequencies
        fu, fv = fourier_features(u, f), fourier_features(v, f)
        tokens = self.pair_embed(torch.cat([fu, fv], dim=-1))
        kx, vy = self.query_gen.project(self.x_embed(fu), self.y_embed(fv))
        queries = self._row_queries(u.dtype).expand(u.shape[0], -1, -1)
        moments = None
        if self.moment_embed is not None:
            k = self.config.moment_features
            moments = cosine_moments(cosine_basis(u, k), cosine_basis(v, k))
        return self._table(tokens, self.query_gen.attend(queries, kx, vy), moments)

    def _grid_features(self, dtype: torch.dtype) -> torch.Tensor:
        return fourier_features(self.grid_nodes.to(dtype), self.config.frequencies)

    def _row_queries(self, dtype: torch.dtype) -> torch.Tensor:
        """The query generator's L queries, one per x-grid node (L, D)."""
        return self.row_query(self._grid_features(dtype))

    def code_tables(self, n: int, device: torch.device | str = "cpu") -> CodeTables:
        """Every per-sample quantity that depends on one coordinate only, for sample size ``n``.

        Copula values are ``c / (2n)`` with integer codes ``c`` in 1..2n-1 (see
        :func:`~estimators.infonet.copula.copula_codes`), so the first layer of
        the pair embedding and the query generator's keys (from x) and values
        (from y) take at most 2n - 1 distinct values. Computing them once per
        ``n`` and gathering by code gives the same tables as :meth:`forward`
        with less than half of its per-sample work. Without ties the x codes
        are always the n odd codes, so the row queries' attention weights over
        them are the same for every sample and are computed here too. Valid
        until the weights change.
        """
        dtype = self.latents.dtype
        grid = torch.arange(1, 2 * n, device=device).to(dtype) / (2.0 * n)
        feats = fourier_features(grid, self.config.frequencies)
        first = self.pair_embed[0]
        width = feats.shape[-1]
        embed_x = feats @ first.weight[:, :width].T + first.bias
        embed_y = feats @ first.weight[:, width:].T
        kx, vy = self.query_gen.project(self.x_embed(feats), self.y_embed(feats))
        rows = self._row_queries(dtype).to(device)
        weights = self.query_gen.weights(rows, kx[0::2])  # codes 1, 3, ..., 2n - 1
        basis = None
        if self.moment_embed is not None:
            basis = cosine_basis(grid, self.config.moment_features)
        return CodeTables(n, embed_x, embed_y, kx, vy, weights, basis)

    def forward_codes(self, cu: torch.Tensor, cv: torch.Tensor, tables: CodeTables) -> torch.Tensor:
        """:meth:`forward` at copula values ``cu / 2n``, ``cv / 2n`` through :meth:`code_tables`.

        ``cu``, ``cv`` (B, m) are integer codes in 1..2n-1 for the tables' ``n``
        (m may be smaller than n, e.g. for a subsample keeping its full-sample ranks).
        """
        iu, iv = cu - 1, cv - 1
        hidden = self.pair_embed[1](tables.embed_x[iu] + tables.embed_y[iv])
        tokens = self.pair_embed[2](hidden)
        moments = None
        if tables.basis is not None:
            moments = cosine_moments(tables.basis[iu], tables.basis[iv])
        return self._table(tokens, self._coded_rows(iu, iv, tables), moments)

    def _coded_rows(self, iu: torch.Tensor, iv: torch.Tensor, tables: CodeTables) -> torch.Tensor:
        """The query generator's output (B, L, D) for code indices ``iu``, ``iv`` (B, m)."""
        queries = self._row_queries(tables.embed_x.dtype)
        b, m = iu.shape
        rows = torch.empty(b, *queries.shape, dtype=queries.dtype, device=iu.device)
        # rows whose x codes are exactly the n odd codes: a full sample without x ties
        x_rank = iu.div(2, rounding_mode="floor")
        fixed = torch.zeros(b, dtype=torch.bool, device=iu.device)
        if m == tables.n:
            hits = torch.zeros(b, m, dtype=torch.int32, device=iu.device)
            hits.scatter_add_(1, x_rank, torch.ones_like(x_rank, dtype=torch.int32))
            fixed = (iu % 2 == 0).all(dim=1) & (hits == 1).all(dim=1)
        if bool(fixed.any()):
            # values in x-rank order, so column r of the weights meets the sample of x rank r
            rank, ivf = x_rank[fixed], iv[fixed]
            by_x = torch.empty_like(ivf).scatter_(1, rank, ivf)
            rows[fixed] = self.query_gen.attend_fixed(
                queries, tables.row_weights, tables.values_y[by_x]
            )
        rest = ~fixed
        if bool(rest.any()):
            iu_rest, iv_rest = iu[rest], iv[rest]
            rows[rest] = self.query_gen.attend(
                queries.expand(iu_rest.shape[0], -1, -1),
                tables.keys_x[iu_rest],
                tables.values_y[iv_rest],
            )
        return rows

    def _table(
        self, tokens: torch.Tensor, rows: torch.Tensor, moments: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Tables from the sample tokens (B, n, D), the query generator's rows (B, L, D)
        and, with ``moment_features``, the sample's :func:`cosine_moments` (B, 2 K^2)."""
        cfg = self.config
        b, n = tokens.shape[0], tokens.shape[1]
        lat = self.latents
        if self.size_embed is not None:
            feats = size_features(n, cfg.size_features, lat.dtype, lat.device)
            lat = lat + self.size_embed(feats)
        lat = lat.expand(b, -1, -1)
        if self.moment_embed is not None:
            lat = lat + self.moment_embed(moments).unsqueeze(1)
        lat = self.encode(lat, tokens)
        for block in self.process:
            lat = block(lat)
        rows = self.row_head(self.decode(rows, lat))
        cols = self.col_embed(self._grid_features(tokens.dtype))
        if self.blur_weights is not None:
            # the table is rows x cols (+ a constant), so blurring its two axes is
            # blurring the rows and the columns along L before the product: the same
            # table as blur_table of the product, at a fraction of the cost
            rows = blur_along(rows, self.blur_weights, 1)
            cols = blur_along(cols, self.blur_weights, 0)
        return torch.einsum("bld,md->blm", rows, cols) / math.sqrt(cfg.dim) + self.bias


class CodeTables(NamedTuple):
    """Per-code rows from :meth:`InfoNetModel.code_tables` (row ``c - 1`` for code ``c``)."""

    n: int
    embed_x: torch.Tensor
    embed_y: torch.Tensor
    keys_x: torch.Tensor
    values_y: torch.Tensor
    row_weights: torch.Tensor  # (heads, L, n): row queries over the odd codes 1, 3, ..., 2n - 1
    basis: torch.Tensor | None = None  # (2n - 1, K) cosine basis, with moment_features
