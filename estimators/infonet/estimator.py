"""The ``infonet`` estimator: a pretrained network, one forward pass per estimate.

Samples are mapped to the copula square by ranks, the network predicts an
L x L critic table and the MI estimate is the table's Donsker-Varadhan value
on the samples (``readout="exact"`` by default, see
:mod:`estimators.infonet.readout`). With multi-dimensional ``x`` or ``y`` the
estimate is sliced MI: the mean over ``projections`` random unit directions
(one per side) of the 1-D estimate on the projected samples. Every 1-D pair,
from one distribution or many, goes through the network in batches of
``batch_size``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from estimators._torch import resolve_device
from estimators.infonet.card import card_path
from estimators.sliced import slices
from harness.interface import Capabilities, Estimator, SpecError
from harness.params import (
    check_choice,
    check_device,
    check_int,
    check_optional_int,
    check_seed,
)

__all__ = ["InfoNet"]

_MODELS: dict[tuple[str, int, int, str, int | None], Any] = {}


class InfoNet(Estimator):
    """Pretrained InfoNet MI estimator (Hu et al., ICML 2024), our own weights.

    Parameters
    ----------
    checkpoint : str or None
        Path to a checkpoint; ``None`` uses the one shipped in the package.
        Its sha256 is checked against the model card on load.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` picks CUDA when available.
    readout : {"exact", "shuffle"}
        Marginal term of the DV value. ``"exact"`` (all pairs, from grid
        histograms) is deterministic and has lower variance; ``"shuffle"`` is
        the paper's single random permutation, drawn from ``seed`` (the same
        for every distribution of one sample size, so an estimate does not
        depend on what shares its batch).
    correction : {"none", "split"}
        ``"none"`` (default) returns the DV value on the samples the network
        saw, as the paper does. The shipped model was trained to keep that
        value close to the MI (``train --calibrate``); little optimism is
        left at small n (on independent data about +0.004 at n = 100 on the
        validation draws; the step-39,500 model +0.14 at n = 50).
        ``"split"`` subtracts an estimate of the optimism: half of the gap
        between in-sample and cross-fitted DV values of tables built from
        each half of the sample, at about twice the compute. On calibrated
        models it over-corrects dependent samples (step 69,621, n = 200,
        rho = 0.6: -0.024 against -0.008), so it is not the default.
    grid : int or None
        Side L of the critic table; ``None`` uses the checkpoint's (192 for
        the shipped model). No weight depends on L, so any L >= 2 works: a
        coarser table is faster (L = 96: 3.8 ms instead of 4.4 ms per
        distribution at n = 2000, batch 16, 2 CPU cores) and underestimates
        high MI more (see README). Sliced tests, whose slices carry little
        MI, lose nothing to a coarse table: L = 64 halves the cost per slice
        at the same detection (docs/highdim.md, Fig. 5).
    projections : int
        Random directions per side for sliced MI when ``x`` or ``y`` has more
        than one column (1000, as in the paper's high-dimensional tests).
        Unused for 1-D ``x`` and ``y``.
    batch_size : int
        1-D problems per forward pass (every slice counts). ``harness run``
        also reads it as distributions per ``estimate_batch`` call, capped at
        ``harness.runner.MAX_BATCH_CHUNK`` (64).
    seed : int
        Seeds the projections and the shuffle read-out.
    """

    name: ClassVar[str] = "infonet"
    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda"),
        batched=True,
        differentiable=True,
        sliced=True,
        requires=frozenset({"torch"}),
    )

    def __init__(
        self,
        checkpoint: str | None = None,
        device: str = "auto",
        readout: str = "exact",
        correction: str = "none",
        grid: int | None = None,
        projections: int = 1000,
        batch_size: int = 64,
        seed: int = 0,
    ) -> None:
        self.checkpoint = checkpoint
        self.device = device
        self.readout = readout
        self.correction = correction
        self.grid = grid
        self.projections = projections
        self.batch_size = batch_size
        self.seed = seed

    # -- parameters ---------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("infonet", "readout", self.readout, ("exact", "shuffle"))
        check_choice("infonet", "correction", self.correction, ("none", "split"))
        check_device("infonet", self.device)
        for key in ("projections", "batch_size"):
            check_int("infonet", key, getattr(self, key), 1, maximum=None)
        check_seed("infonet", self.seed)
        check_optional_int("infonet", "grid", self.grid, 2, maximum=4096)
        if self.checkpoint is not None:
            path_like = isinstance(self.checkpoint, (str, os.PathLike))
            if not path_like or not os.fspath(self.checkpoint):
                raise SpecError(f"infonet: checkpoint must be a path; got {self.checkpoint!r}")
            path = Path(self.checkpoint)
            try:
                found, folder = path.is_file(), path.is_dir()
                card = found and card_path(path).is_file()
            except OSError as exc:  # e.g. a name too long for the file system
                raise SpecError(f"infonet: checkpoint {self.checkpoint!r}: {exc}") from None
            if folder:
                raise SpecError(f"infonet: checkpoint {self.checkpoint!r} is a folder, not a file")
            if not found:
                raise SpecError(f"infonet: checkpoint {self.checkpoint!r} does not exist")
            if not card:
                raise SpecError(
                    f"infonet: checkpoint {self.checkpoint!r} has no model card "
                    f"{str(card_path(path))!r} beside it (training writes one with each .pt)"
                )

    def min_samples(self) -> int:
        return 4 if self.correction == "split" else 2

    def _min_reason(self) -> str:
        return "needs samples to rank (4 with correction=split)"

    # -- model --------------------------------------------------------------
    def model(self):
        """The loaded network on its device (cached per checkpoint and device)."""
        from estimators.infonet.checkpoint import DEFAULT_CHECKPOINT, load_model

        device = resolve_device(self.device, self.name)
        path = str(Path(self.checkpoint or DEFAULT_CHECKPOINT).resolve())
        stat = os.stat(path)
        # the file's size and time are in the key: a checkpoint rewritten in place
        # is loaded (and its checksum checked) again, never served from the old copy
        key = (path, stat.st_mtime_ns, stat.st_size, device, self.grid)
        if key not in _MODELS:
            for old in [k for k in _MODELS if k[0] == path and k[1:3] != key[1:3]]:
                del _MODELS[old]
            net, card = load_model(path)
            if self.grid is not None and self.grid != net.config.grid:
                net = net.with_grid(self.grid)
            net.to(device).eval()
            net.card = card
            net.code_cache = {}  # code tables by sample size (see inference.estimate_rows)
            _MODELS[key] = net
        return _MODELS[key]

    def prepare(self) -> None:
        """Import torch and load the network, so the first timed estimate does not."""
        self._check_params()
        self.model()

    def artifacts(self) -> dict[str, str]:
        """The checkpoint's sha256 (from its model card; verified when the model loads)."""
        from estimators.infonet.card import DEFAULT_CHECKPOINT, load_card

        self._check_params()
        card = load_card(self.checkpoint or DEFAULT_CHECKPOINT)
        return {"checkpoint_sha256": str(card["sha256"])}

    def model_card(self) -> dict[str, Any]:
        """The checkpoint's model card (config, training record, evaluation, sha256)."""
        return self.model().card

    # -- estimation ---------------------------------------------------------
    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self._estimate_batch([(x, y)])[0])

    def _estimate_batch(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        import torch

        from estimators.infonet.inference import estimate_rows

        net = self.model()
        device = next(net.parameters()).device
        # 1-D problems grouped by sample size so each forward pass stacks equal n
        by_size: dict[int, list[int]] = {}
        for idx, (x, _) in enumerate(pairs):
            by_size.setdefault(x.shape[0], []).append(idx)
        sums = np.zeros(len(pairs))
        counts = np.zeros(len(pairs))

        def forward(rows: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
            owner = np.array([i for i, _, _ in rows])
            # float64 (the validated samples' type) until ranked: see estimate_rows
            a = torch.from_numpy(np.stack([r for _, r, _ in rows]))
            b = torch.from_numpy(np.stack([r for _, _, r in rows]))
            # a fresh generator per pass: the shuffle read-out's permutations then
            # depend on the seed and n only, not on what else shares the pass
            gen = torch.Generator().manual_seed(int(self.seed))
            value = estimate_rows(
                net, a.to(device), b.to(device), self.readout, self.correction, gen, net.code_cache
            )
            np.add.at(sums, owner, value.double().cpu().numpy())
            np.add.at(counts, owner, 1.0)

        # slices are made one distribution at a time and sent on in batches of
        # batch_size rows, so memory does not grow with the number of pairs
        with torch.inference_mode():
            for members in by_size.values():
                pending: list[tuple[int, np.ndarray, np.ndarray]] = []
                for idx in members:
                    a, b = slices(*pairs[idx], self.projections, self.seed)
                    pending.extend(zip([idx] * len(a), a, b, strict=True))
                    while len(pending) >= self.batch_size:
                        forward(pending[: self.batch_size])
                        del pending[: self.batch_size]
                if pending:
                    forward(pending)
        return sums / counts
