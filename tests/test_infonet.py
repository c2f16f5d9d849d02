"""InfoNet: invariances, batching, checkpoints, training signal, shipped accuracy, gradients."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import estimators  # noqa: E402
from estimators.infonet import InfoNet  # noqa: E402
from estimators.infonet.batches import (  # noqa: E402
    GAUSSIAN_RHO_MAX,
    GAUSSIAN_WEAK_RHO,
    WEAK_KEEP,
    TrainingBatch,
    calibration_targets,
    draw_batch,
)
from estimators.infonet.checkpoint import (  # noqa: E402
    DEFAULT_CHECKPOINT,
    ChecksumError,
    load_card,
    load_model,
    save_model,
)
from estimators.infonet.copula import copula, copula_codes, soft_copula  # noqa: E402
from estimators.infonet.model import InfoNetConfig, InfoNetModel  # noqa: E402
from estimators.infonet.readout import dv_value, lookup  # noqa: E402
from harness.interface import InputError, SpecError  # noqa: E402

TINY = InfoNetConfig(
    dim=32, latents=16, grid=32, self_layers=1, heads=2, mlp_hidden=32, frequencies=4
)


def gaussian_pair(rho: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    x = z[:, :1]
    y = rho * x + math.sqrt(1 - rho**2) * z[:, 1:]
    return x, y


@pytest.fixture(scope="module")
def infonet() -> InfoNet:
    return estimators.make("infonet:device=cpu")


@pytest.fixture
def one_torch_thread():
    """Tiny training runs on one torch thread (tiny matrices: threads only add
    synchronisation); the thread count is put back afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- copula and read-out -----------------------------------------------------


def test_copula_average_ranks_ties():
    values = torch.tensor([[3.0, 1.0, 2.0, 2.0]])
    # ranks 4, 1, 2.5, 2.5 -> (rank - 0.5) / 4
    assert torch.allclose(copula(values), torch.tensor([[0.875, 0.125, 0.5, 0.5]]))


def test_code_tables_give_the_forward_pass():
    torch.manual_seed(0)
    net = InfoNetModel(TINY).eval()
    x = torch.randn(3, 50)
    y = x + torch.randn(3, 50)
    y[1, :7] = y[1, 7]  # ties get half-integer ranks, i.e. even codes
    cx, cy = copula_codes(x), copula_codes(y)
    assert torch.equal(cx.float() / 100, copula(x)) and torch.equal(cy.float() / 100, copula(y))
    assert int(cy.min()) >= 1 and int(cy.max()) <= 99 and int(cy[1, 0]) % 2 == 0
    with torch.no_grad():
        tables = net.code_tables(50)
        direct = net(copula(x), copula(y))
        coded = net.forward_codes(cx, cy, tables)
        assert torch.allclose(coded, direct, atol=1e-5)
        # a subsample keeps its full-sample codes
        half = net.forward_codes(cx[:, ::2], cy[:, ::2], tables)
        assert torch.allclose(half, net(copula(x)[:, ::2], copula(y)[:, ::2]), atol=1e-5)


def test_copula_codes_are_twice_the_average_rank_minus_one():
    from scipy.stats import rankdata

    gen = torch.Generator().manual_seed(1)
    distinct = torch.randn(3, 40, generator=gen)
    tied = torch.randint(0, 6, (3, 40), generator=gen).float()
    for values in (distinct, tied):
        expected = 2 * rankdata(values.numpy(), axis=-1) - 1
        assert torch.equal(copula_codes(values), torch.from_numpy(expected).long())


def test_cached_row_attention_matches_the_general_path():
    """Rows without x ties use attention weights cached per n; rows with x ties and
    subsamples attend over their own keys. A mixed batch must agree with forward()."""
    torch.manual_seed(2)
    net = InfoNetModel(TINY).eval()
    x = torch.randn(4, 60)
    y = x + torch.randn(4, 60)
    x[2, :5] = x[2, 5]  # x ties in one row only
    y[0, :9] = y[0, 9]  # y ties do not change the x keys
    cx, cy = copula_codes(x), copula_codes(y)
    with torch.no_grad():
        tables = net.code_tables(60)
        assert torch.allclose(
            net.forward_codes(cx, cy, tables), net(copula(x), copula(y)), atol=1e-5
        )
        # x with an odd-sized tie group: all codes odd, yet not the n distinct odd codes
        x3 = x[3:].clone()
        x3[0, :2] = x3[0, 2]
        c3 = copula_codes(x3)
        assert int(c3[0, 0]) % 2 == 1
        assert torch.allclose(
            net.forward_codes(c3, cy[3:], tables), net(copula(x3), copula(y[3:])), atol=1e-5
        )


def test_fused_key_value_projection_is_the_same_function():
    torch.manual_seed(3)
    block = InfoNetModel(TINY).encode
    with torch.no_grad():
        for p in block.parameters():  # non-trivial layer-norm affine maps
            p.add_(0.3 * torch.randn_like(p))
        tokens = torch.randn(2, 30, TINY.dim)
        fused = block.project(tokens, tokens)
        separate = block.project(tokens, tokens.clone())
    for a, b in zip(fused, separate, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_soft_copula_approaches_hard_copula():
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(2, 300, generator=gen, dtype=torch.float64)
    assert (soft_copula(values, 1e-8) - copula(values)).abs().max() < 1e-6
    # a smoother copula stays within a few ranks of the hard one
    assert (soft_copula(values, 0.01) - copula(values)).abs().max() < 0.02


def test_exact_readout_equals_all_pairs_mean():
    gen = torch.Generator().manual_seed(1)
    table = torch.randn(2, 8, 8, generator=gen, dtype=torch.float64)
    u = torch.rand(2, 40, generator=gen, dtype=torch.float64)
    v = torch.rand(2, 40, generator=gen, dtype=torch.float64)
    joint = lookup(table, u, v).mean(1)
    # all n^2 pairs of the bilinear interpolation of exp(table)
    pairs = []
    for z in range(2):
        uu = u[z].repeat_interleave(40)
        vv = v[z].repeat(40)
        exp_table = torch.exp(table[z : z + 1])
        pairs.append(lookup(exp_table, uu[None], vv[None]).mean())
    expected = joint - torch.log(torch.stack(pairs))
    assert torch.allclose(dv_value(table, u, v, "exact"), expected, atol=1e-10)


# -- invariances and batching ------------------------------------------------


def test_monotone_transforms_give_the_same_estimate(infonet):
    x, y = gaussian_pair(0.6, 1000, seed=2)
    plain = infonet.estimate(x, y)
    transformed = infonet.estimate(np.exp(x), y**3 + 2 * y)
    assert transformed == pytest.approx(plain, abs=1e-6)


def test_values_far_from_zero_keep_their_ranks(infonet):
    # a float32 copy of x + 1e8 would tie every value (timestamps are of this kind)
    x, y = gaussian_pair(0.8, 500, seed=12)
    plain = infonet.estimate(x, y)
    assert plain > 0.3  # truth 0.51
    assert infonet.estimate(x + 1e8, y - 1e7) == pytest.approx(plain, abs=1e-6)


def test_split_correction_does_not_depend_on_the_order_of_tied_samples():
    x, y = gaussian_pair(0.6, 300, seed=13)
    x = np.round(x, 1)  # about 50 distinct values: many ties in x
    split = estimators.make("infonet:device=cpu,correction=split")
    first = split.estimate(x, y)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(300)
        assert split.estimate(x[perm], y[perm]) == pytest.approx(first, abs=1e-5)


def test_sample_order_does_not_matter(infonet):
    x, y = gaussian_pair(0.5, 1000, seed=3)
    perm = np.random.default_rng(0).permutation(len(x))
    assert infonet.estimate(x[perm], y[perm]) == pytest.approx(infonet.estimate(x, y), abs=1e-5)


@pytest.mark.parametrize("options", ["", ",readout=shuffle", ",readout=shuffle,correction=split"])
def test_batch_equals_one_by_one(options):
    # the shuffle read-out draws permutations: they must not depend on the batch
    est = estimators.make(f"infonet:device=cpu,seed=3{options}")
    pairs = [
        gaussian_pair(rho, n, seed=4 + i)
        for i, (rho, n) in enumerate([(0.0, 500), (0.4, 800), (0.8, 500), (0.9, 300)])
    ]
    xs, ys = zip(*pairs, strict=True)
    batched = est.estimate_batch(list(xs), list(ys))
    single = np.array([est.estimate(x, y) for x, y in pairs])
    np.testing.assert_allclose(batched, single, atol=2e-5)
    np.testing.assert_allclose(
        est.estimate_batch(list(xs[::-1]), list(ys[::-1])), single[::-1], atol=2e-5
    )


def test_shuffle_readout_is_seeded_and_close_to_the_exact_one():
    x, y = gaussian_pair(0.6, 2000, seed=11)
    exact = estimators.make("infonet:device=cpu").estimate(x, y)
    shuffled = [
        estimators.make(f"infonet:device=cpu,readout=shuffle,seed={s}").estimate(x, y)
        for s in (0, 0, 1)
    ]
    assert shuffled[0] == shuffled[1]
    assert shuffled[0] != shuffled[2]
    # one permutation's marginal term differs from the all-pairs one by sampling noise only
    assert shuffled[0] == pytest.approx(exact, abs=0.05)


def test_sliced_mi_is_mean_over_slices():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((400, 3))
    y = x[:, :2] + rng.standard_normal((400, 2))
    est = estimators.make("sliced:base=ksg,projections=7,seed=3")
    from estimators.sliced import slices

    a, b = slices(x, y, 7, 3)
    ksg = estimators.make("ksg")
    manual = np.mean([ksg.estimate(a[i], b[i]) for i in range(7)])
    assert est.estimate(x, y) == pytest.approx(manual, abs=1e-12)
    from estimators.sliced import random_directions

    dirs = random_directions(500, 3, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0)
    # uniform on the sphere: mean near zero, second moment I / d
    assert np.abs(dirs.mean(0)).max() < 0.1
    np.testing.assert_allclose(dirs.T @ dirs / 500, np.eye(3) / 3, atol=0.05)


def test_sliced_names_its_base_limit_and_takes_an_empty_batch():
    est = estimators.make("sliced:base=ksg:k=3,projections=4")
    assert est.estimate_batch([], []).shape == (0,)
    x = np.random.default_rng(0).standard_normal((3, 2))
    with pytest.raises(InputError, match=r"need at least 4 samples \(sliced base ksg k=3\); got 3"):
        est.estimate(x, x[:, ::-1])


def test_sliced_infonet_matches_its_builtin_slicing(infonet):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((500, 4))
    y = x[:, :2] @ rng.standard_normal((2, 3)) + rng.standard_normal((500, 3))
    own = estimators.make("infonet:device=cpu,projections=40,seed=1").estimate(x, y)
    wrapped = estimators.make("sliced:base=infonet:device=cpu,projections=40,seed=1")
    assert wrapped.estimate(x, y) == pytest.approx(own, abs=1e-6)
    indep = estimators.make("infonet:device=cpu,projections=40,seed=1").estimate(
        x, rng.standard_normal((500, 3))
    )
    assert own > indep + 0.02


@pytest.mark.parametrize("options", ["", ",readout=shuffle"])
def test_sliced_batch_whose_forward_passes_straddle_distributions_equals_one_by_one(options):
    # 10 slices per distribution in forward passes of 7 rows: passes mix
    # distributions (and the 1-D pair's single row), sizes 120 and 200 apart
    rng = np.random.default_rng(8)
    pairs = []
    for n, dx in [(120, 3), (200, 2), (120, 1), (120, 4), (200, 3)]:
        x = rng.standard_normal((n, dx))
        pairs.append((x, x[:, :1] + rng.standard_normal((n, 1 if dx == 1 else 2))))
    est = estimators.make(f"infonet:device=cpu,projections=10,batch_size=7,seed=2{options}")
    batched = est.estimate_batch([p[0] for p in pairs], [p[1] for p in pairs])
    single = [est.estimate(x, y) for x, y in pairs]
    np.testing.assert_allclose(batched, single, atol=2e-5)


# -- errors ------------------------------------------------------------------


def test_bad_input_and_parameters(infonet):
    x, y = gaussian_pair(0.5, 100, seed=7)
    bad = x.copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        infonet.estimate(bad, y)
    with pytest.raises(InputError):
        infonet.estimate(x[:50], y)
    with pytest.raises(SpecError, match="readout"):
        estimators.make("infonet:readout=median")
    with pytest.raises(SpecError, match="does not exist"):
        estimators.make("infonet:checkpoint=/nonexistent/model.pt")
    with pytest.raises(SpecError, match="is a folder, not a file"):
        estimators.make(f"infonet:checkpoint={Path(__file__).parent}")
    with pytest.raises(SpecError, match="has no model card"):
        estimators.make(f"infonet:checkpoint={__file__}")
    with pytest.raises(SpecError, match="projections"):
        estimators.make("infonet:projections=0")


# -- checkpoints -------------------------------------------------------------


def test_checkpoint_checksum_does_not_depend_on_the_file_name(tmp_path):
    torch.manual_seed(0)
    model = InfoNetModel(TINY).eval()
    first = save_model(model, tmp_path / "a" / "first.pt", {"steps": 0})
    second = save_model(model, tmp_path / "b" / "another-name.pt", {"steps": 0})
    assert first["sha256"] == second["sha256"]
    torch.manual_seed(1)
    other = save_model(InfoNetModel(TINY).eval(), tmp_path / "c" / "first.pt", {"steps": 0})
    assert other["sha256"] != first["sha256"]


def test_checkpoint_round_trip_and_checksum(tmp_path):
    torch.manual_seed(0)
    model = InfoNetModel(TINY).eval()
    path = tmp_path / "tiny.pt"
    card = save_model(model, path, {"steps": 0})
    assert card["sha256"] == load_card(path)["sha256"]
    loaded, _ = load_model(path)
    u = torch.rand(2, 50)
    v = torch.rand(2, 50)
    with torch.no_grad():
        assert torch.equal(model(u, v), loaded(u, v))
    corrupt = tmp_path / "corrupt.pt"
    shutil.copy(path, corrupt)
    shutil.copy(path.with_suffix(".json"), corrupt.with_suffix(".json"))
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sha256"):
        load_model(corrupt)


def test_shipped_checkpoint_and_card():
    assert DEFAULT_CHECKPOINT.is_file()
    assert DEFAULT_CHECKPOINT.stat().st_size <= 20 * 2**20
    card = json.loads(DEFAULT_CHECKPOINT.with_suffix(".json").read_text())
    for key in (
        "sha256",
        "config",
        "steps",
        "samples_seen",
        "hardware",
        "wall_seconds",
        "evaluation",
    ):
        assert key in card, key
    load_model()  # verifies the checksum


def test_cards_name_their_evaluation_rows_from_the_repository():
    """The shipped card's and every candidate's rows file: a repository path that exists,
    not one machine's absolute path."""
    from estimators.infonet.evaluate import ROOT

    cards = [
        DEFAULT_CHECKPOINT.with_suffix(".json"),
        *(ROOT / "benchmarks/candidates").glob("*.json"),
    ]
    for path in cards:
        rows = json.loads(path.read_text()).get("evaluation", {}).get("rows")
        if rows is not None:
            assert not Path(rows).is_absolute() and (ROOT / rows).is_file(), (path.name, rows)


def test_grid_parameter_resamples_the_shipped_critic():
    x, y = gaussian_pair(0.6, 2000, 3)
    shipped = estimators.make("infonet:device=cpu")
    default_grid = shipped.model().config.grid
    same = estimators.make(f"infonet:device=cpu,grid={default_grid}")
    coarse = estimators.make("infonet:device=cpu,grid=96")
    assert coarse.model().config.grid == 96
    assert same.estimate(x, y) == shipped.estimate(x, y)
    truth = -0.5 * math.log(1 - 0.36)
    assert coarse.estimate(x, y) != shipped.estimate(x, y)
    assert abs(coarse.estimate(x, y) - truth) < 0.06
    with pytest.raises(SpecError, match="grid"):
        estimators.make("infonet:grid=1").estimate(x, y)


def test_runs_record_the_checkpoint_and_refuse_to_resume_with_another(tmp_path):
    import harness
    from results.store import Store

    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    first = save_model(InfoNetModel(TINY).eval(), path, {"steps": 0})
    spec = f"infonet:checkpoint={path}"
    store = tmp_path / "runs.sqlite"
    df = harness.run([spec], "gaussian:rhos=0.5", n=100, store=store, run_id="r", progress=False)
    with Store(store) as st:
        (entry,) = st.get_run("r")["estimators"]
    assert entry["artifacts"] == {"checkpoint_sha256": first["sha256"]}
    assert json.loads(df["artifacts"].iloc[0]) == entry["artifacts"]  # and exports keep it
    from reports.data import load_run, provenance

    summary = dict(provenance(load_run("r", store))["summary"])
    assert summary[f"{spec} files"] == f"checkpoint_sha256 {first['sha256'][:16]}"
    from estimators.sliced import Sliced

    sliced = Sliced(base=f"infonet:checkpoint={path}", projections=2)
    assert sliced.artifacts() == {"checkpoint_sha256": first["sha256"]}

    saved = path.read_bytes(), path.with_suffix(".json").read_bytes()
    torch.manual_seed(1)
    save_model(InfoNetModel(TINY).eval(), path, {"steps": 1})
    with pytest.raises(SpecError, match="would mix"):
        harness.run(resume="r", store=store, progress=False)
    path.write_bytes(saved[0])
    path.with_suffix(".json").write_bytes(saved[1])
    assert len(harness.run(resume="r", store=store, progress=False)) == 1


# -- training signal -----------------------------------------------------------


def test_cosine_moments_standardised_under_independence_and_track_spearman():
    from scipy.stats import spearmanr

    from estimators.infonet.model import cosine_basis, cosine_moments

    rng = np.random.default_rng(0)
    n, draws = 100, 600
    x = torch.tensor(rng.standard_normal((draws, n)))
    y = torch.tensor(rng.standard_normal((draws, n)))
    feats = cosine_moments(cosine_basis(copula(x), 2), cosine_basis(copula(y), 2))
    a = feats[:, :4].numpy()
    # exact zero mean over permutations; each sqrt(n) a_kl about unit variance
    assert np.abs(a.mean(axis=0)).max() < 4 / math.sqrt(n * draws)
    assert np.allclose((math.sqrt(n) * a).std(axis=0), 1.0, atol=0.12)
    assert np.allclose(feats[:, 4:].numpy(), np.tanh(math.sqrt(n) * a / 3), atol=1e-12)
    dep = y + x
    a11 = cosine_moments(cosine_basis(copula(x), 1), cosine_basis(copula(dep), 1))[:, 0]
    rho = [spearmanr(p, q)[0] for p, q in zip(x.numpy(), dep.numpy(), strict=True)]
    assert np.corrcoef(a11.numpy(), rho)[0, 1] > 0.95


@pytest.mark.parametrize("feature", ["size_features", "moment_features"])
def test_grown_features_start_neutral_then_move_both_paths_alike(feature):
    from dataclasses import replace

    from estimators.infonet.train import added_modules, grow

    torch.manual_seed(0)
    net = InfoNetModel(TINY).eval()
    big = grow(net, f"{feature}=2").eval()
    assert big.config == replace(TINY, **{feature: 2})
    layer = big.size_embed if feature == "size_features" else big.moment_embed
    new = {k for k in big.state_dict() if k not in net.state_dict()}
    (prefix,) = added_modules(net.config, big.config)
    assert new and all(k.startswith(prefix) for k in new)
    assert added_modules(big.config, big.config) == []
    x = torch.randn(2, 60)
    y = x + torch.randn(2, 60)
    u, v = copula(x), copula(y)
    with torch.no_grad():
        assert torch.allclose(big(u, v), net(u, v), atol=1e-6)  # zero-initialised
        layer.weight.normal_(0.0, 0.5)
        # the tables now depend on the sample size / the sample's moments ...
        base = net(u, v)
        assert (big(u, v) - base).abs().max() > 0.05 * base.abs().max()
        # ... identically through the code tables, after monotone maps, in any order
        coded = big.forward_codes(copula_codes(x), copula_codes(y), big.code_tables(60))
        assert torch.allclose(coded, big(u, v), atol=1e-5)
        order = torch.randperm(60)
        moved = big(copula(torch.exp(x[:, order])), copula(y[:, order] ** 3))
        assert torch.allclose(moved, big(u, v), atol=1e-5)
        if feature == "size_features":
            # at n = 1000 the features are 0: only the (zero) bias is added
            w = torch.rand(2, 1000)
            assert torch.allclose(big(w, w), net(w, w), atol=1e-6)
    with pytest.raises(SystemExit, match="can only add"):
        grow(big, f"{feature}=3")
    with pytest.raises(SystemExit, match="can only add"):
        grow(net, "dim=8")


def test_blur_is_the_replicate_padded_2d_convolution_of_the_table():
    from dataclasses import replace

    import torch.nn.functional as F

    from estimators.infonet.model import blur_table, gaussian_taps

    torch.manual_seed(4)
    weights = gaussian_taps(5, 1.0)
    table = torch.randn(3, 20, 20)
    padded = F.pad(table[:, None], (2, 2, 2, 2), mode="replicate")
    conv = F.conv2d(padded, torch.outer(weights, weights)[None, None])[:, 0]
    assert torch.allclose(blur_table(table, weights.tolist()), conv, atol=1e-5)
    # the model blurs rows and columns before their product: the same tables
    blurred = InfoNetModel(TINY).eval()
    sharp = InfoNetModel(replace(TINY, blur_sigma=0.0)).eval()
    sharp.load_state_dict(blurred.state_dict())
    x = torch.randn(2, 70)
    u, v = copula(x), copula(x + torch.randn(2, 70))
    with torch.no_grad():
        expected = blur_table(sharp(u, v), blurred.blur_weights)
        assert torch.allclose(blurred(u, v), expected, atol=1e-5)
        assert not torch.allclose(sharp(u, v), expected, atol=1e-3)


def test_grown_grid_samples_the_same_critic_at_finer_nodes():
    from dataclasses import replace

    from estimators.infonet.train import grow

    torch.manual_seed(0)
    net = InfoNetModel(replace(TINY, blur_sigma=0.0)).eval()
    fine = grow(net, "grid=63").eval()  # nodes i / 62: every other one is an old node i / 31
    x = torch.randn(2, 80)
    u, v = copula(x), copula(x + torch.randn(2, 80))
    with torch.no_grad():
        coarse_table, fine_table = net(u, v), fine(u, v)
    assert fine_table.shape == (2, 63, 63)
    assert torch.allclose(fine_table[:, ::2, ::2], coarse_table, atol=1e-5)
    assert not torch.allclose(fine_table[:, 1::2, 1::2], coarse_table[:, :-1, :-1], atol=1e-3)


def test_validation_small_sample_and_weak_dependence_parts(tmp_path):
    from sklearn.metrics import roc_auc_score

    from estimators.infonet.validation import (
        RHOS,
        SLICED_COUNT,
        SLICED_D,
        SLICED_N,
        SLICED_PROJECTIONS,
        SLICED_SEED,
        SLICED_TARGET,
        SLICED_WEIGHT,
        SMALL_N,
        SMALL_REPEATS,
        SMALL_WEIGHT,
        WEAK_N,
        WEAK_REPEATS,
        WEAK_RHO,
        WEAK_SMALL_N,
        WEAK_WEIGHT,
        ValidationSet,
        build_validation_set,
        score,
    )
    from harness.metrics import separation
    from tasks.highdim_independence import HighDimIndependence

    val = build_validation_set(
        n=200, repeats=1, gmms=3, mc_samples=20_000, sliced_count=4, sliced_projections=50
    )
    assert val.small_xy.shape == (len(RHOS) * SMALL_REPEATS, SMALL_N, 2)
    for rho in (0.0, 0.5, 0.9):
        rows = val.small_xy[np.isclose(val.small_truth, -0.5 * math.log(1 - rho**2))]
        pooled = np.corrcoef(rows.reshape(-1, 2).T)[0, 1]
        assert pooled == pytest.approx(rho, abs=0.05)
    assert val.weak_xy.shape == (2 * WEAK_REPEATS, WEAK_N, 2)
    assert val.weak_small_xy.shape == (2 * WEAK_REPEATS, WEAK_SMALL_N, 2)
    for xy, truth in ((val.weak_xy, val.weak_truth), (val.weak_small_xy, val.weak_small_truth)):
        for dependent, rho in ((False, 0.0), (True, WEAK_RHO)):
            rows = xy[(truth > 0) == dependent]
            assert len(rows) == WEAK_REPEATS
            pooled = np.corrcoef(rows.reshape(-1, 2).T)[0, 1]
            assert pooled == pytest.approx(rho, abs=0.03)
    # a set saved before the small and weak parts existed gets the same parts on load
    old = tmp_path / "old.npz"
    np.savez_compressed(old, xy=val.xy, truth=val.truth, is_gaussian=val.is_gaussian)
    loaded = ValidationSet.load(old)
    assert np.array_equal(loaded.small_xy, val.small_xy)
    assert np.array_equal(loaded.weak_xy, val.weak_xy)
    assert np.array_equal(loaded.weak_small_xy, val.weak_small_xy)
    assert loaded.sliced_xy.shape == (2 * SLICED_COUNT, SLICED_PROJECTIONS, SLICED_N, 2)
    assert loaded.sliced_dependent.tolist() == [True] * SLICED_COUNT + [False] * SLICED_COUNT
    # a set saved with its sliced part keeps it (here the small one, not the default)
    saved = tmp_path / "saved.npz"
    val.save(saved)
    again = ValidationSet.load(saved)
    assert np.array_equal(again.sliced_xy, val.sliced_xy) and again.sliced_xy.shape[:2] == (8, 50)
    assert again.sliced_dependent.tolist() == [True] * 4 + [False] * 4
    assert not saved.with_name("saved.npz.tmp").exists()

    model, _ = load_model()
    m = score(model, val, torch.device("cpu"))
    est = estimators.make("infonet:device=cpu")
    independent = val.small_xy[val.small_truth == 0.0]
    ref = np.mean([est.estimate(xy[:, :1], xy[:, 1:]) for xy in independent])
    assert m["small_bias_rho0"] == pytest.approx(ref, abs=1e-4)
    weak_est = est.estimate_batch(val.weak_xy[..., :1], val.weak_xy[..., 1:])
    assert m["weak_auc"] == pytest.approx(roc_auc_score(val.weak_truth > 0, weak_est), abs=1e-3)
    assert m["weak_auc"] > 0.7  # the shipped model tells rho = 0.2 from 0 at n = 300
    small = est.estimate_batch(val.weak_small_xy[..., :1], val.weak_small_xy[..., 1:])
    auc_small = roc_auc_score(val.weak_small_truth > 0, small)
    assert m["weak_auc_small"] == pytest.approx(auc_small, abs=1e-3)
    assert 0.55 < m["weak_auc_small"] < m["weak_auc"]  # a weaker test at n = 100
    big_mae = (m["gauss_mae"] * 10 + m["gmm_mae"] * 3) / 13
    weak_term = WEAK_WEIGHT * (2 - m["weak_auc"] - m["weak_auc_small"])
    # the sliced part scores each sample as the sliced estimator does (same directions)
    sliced_est = estimators.make(f"infonet:device=cpu,projections=50,seed={SLICED_SEED}")
    task = HighDimIndependence(dependence="independent_coords", d=SLICED_D, n=SLICED_N)
    reference = [
        sliced_est.estimate(task.instance(i, SLICED_SEED).x, task.instance(i, SLICED_SEED).y)
        for i in (0, 1, 2, 3, 50, 51, 52, 53)
    ]
    assert m["sliced_separation"] == pytest.approx(
        separation(val.sliced_dependent, np.array(reference)), rel=1e-3
    )
    assert m["sliced_auc"] == pytest.approx(
        roc_auc_score(val.sliced_dependent, reference), abs=1e-6
    )
    sliced_term = SLICED_WEIGHT * max(0.0, SLICED_TARGET - m["sliced_separation"])
    expected = big_mae + SMALL_WEIGHT * m["small_abs_bias"] + weak_term + sliced_term
    assert m["score"] == pytest.approx(expected, abs=1e-6)


def test_validation_command_scores_checkpoints_as_score_does(tmp_path, capsys):
    import pandas as pd

    from estimators.infonet.validation import (
        SCORE_VERSION,
        ValidationSet,
        build_validation_set,
        main,
        score,
    )

    path = tmp_path / "val.npz"
    small = {"sliced_count": 3, "sliced_projections": 20}
    build_validation_set(n=200, repeats=1, gmms=3, mc_samples=20_000, **small).save(path)
    torch.manual_seed(0)
    tiny = tmp_path / "tiny.pt"
    save_model(InfoNetModel(TINY).eval(), tiny, {"steps": 7})
    out = tmp_path / "scores.csv"
    args = [str(DEFAULT_CHECKPOINT), str(tiny), "--validation", str(path), "--out", str(out)]
    assert main([*args, "--threads", "1"]) == 0
    rows = pd.read_csv(out)
    assert capsys.readouterr().out.startswith("checkpoint,sha256,steps,")
    assert rows.checkpoint.tolist() == [str(DEFAULT_CHECKPOINT), str(tiny)]
    assert rows.steps.tolist() == [load_card(DEFAULT_CHECKPOINT)["steps"], 7]
    assert (rows.score_version == SCORE_VERSION).all()
    val = ValidationSet.load(path)
    models = (load_model()[0], load_model(tiny)[0])
    for row, model in zip(rows.itertuples(), models, strict=True):
        direct = score(model, val, torch.device("cpu"))
        assert row.score == pytest.approx(direct["score"], abs=1e-4)
        assert row.sliced_separation == pytest.approx(direct["sliced_separation"], abs=1e-4)
    assert rows.score.iloc[0] < rows.score.iloc[1]  # the trained model beats an untrained one


def test_validation_sliced_part_has_the_tasks_slice_correlations():
    from estimators.infonet.validation import SLICED_D, SLICED_N, SLICED_SEED, sliced_samples
    from estimators.sliced import random_directions

    xy, dependent = sliced_samples(count=12, projections=200)
    assert xy.shape == (24, 200, SLICED_N, 2) and xy.dtype == np.float32
    assert dependent.tolist() == [True] * 12 + [False] * 12
    rng = np.random.default_rng(SLICED_SEED)
    theta = random_directions(200, SLICED_D, rng)
    phi = random_directions(200, SLICED_D, rng)
    # Y = (X + Z) / sqrt 2 coordinate-wise: the slice (theta, phi) has covariance
    # theta . phi / sqrt 2 (about 0.06 at d = 128), and none without dependence
    analytic = np.sum(theta * phi, axis=1) / math.sqrt(2.0)
    for rows, expect_dependent in ((xy[dependent], True), (xy[~dependent], False)):
        points = rows.transpose(1, 0, 2, 3).reshape(200, -1, 2).astype(np.float64)
        centred = points - points.mean(axis=1, keepdims=True)
        cov = np.mean(centred[..., 0] * centred[..., 1], axis=1)
        agreement = np.corrcoef(cov, analytic)[0, 1]
        if expect_dependent:
            assert agreement > 0.75
            assert np.polyfit(analytic, cov, 1)[0] == pytest.approx(1.0, abs=0.25)
        else:
            assert abs(agreement) < 0.25
    for count in (1, 51):
        with pytest.raises(ValueError, match="count must be in 2..50"):
            sliced_samples(count=count)


def test_tiny_training_run_increases_dv(one_torch_thread):
    from estimators.infonet.train import train_step

    torch.manual_seed(0)
    model = InfoNetModel(TINY)
    xy = draw_batch(16, 200, torch.Generator().manual_seed(123)).xy
    u, v = copula(xy[..., 0]), copula(xy[..., 1])

    def held_out() -> float:
        with torch.no_grad():
            return float(dv_value(model(u, v), u, v).mean())

    before = held_out()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        train_step(model, opt, 8, 200, gen, torch.device("cpu"), "exact", False)
    after = held_out()
    assert after > before + 0.05


def _same_batch() -> torch.Generator:
    """Every train_step given this draws the same 8 GMMs and samples again."""
    return torch.Generator().manual_seed(7)


def _fit_on_the_same_batch(steps: int = 60, **step_options) -> InfoNetModel:
    """A tiny model after ``steps`` steps on :func:`_same_batch` (batch 8, n = 200,
    ``mi_balance=0.5``) with the given train_step options."""
    from estimators.infonet.train import train_step

    torch.manual_seed(0)
    model = InfoNetModel(TINY)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        train_step(
            model,
            opt,
            8,
            200,
            _same_batch(),
            torch.device("cpu"),
            "exact",
            False,
            mi_balance=0.5,
            **step_options,
        )
    return model


def _the_same_batch_drawn(
    **options,
) -> tuple[TrainingBatch, torch.Tensor, torch.Tensor, torch.Tensor]:
    """What train_step draws from :func:`_same_batch` with ``options`` (batch 8, n = 200
    held out, ``mi_balance=0.5``; ``twins`` stands for ``rank`` > 0): the batch, each
    member's calibration target and the copula values of the n samples the network sees."""
    gen = _same_batch()
    drawn = draw_batch(8, 400, gen, mi_balance=0.5, **options)
    truth = calibration_targets(drawn, gen)
    return drawn, truth, copula(drawn.xy[:, :200, 0]), copula(drawn.xy[:, :200, 1])


def test_training_calibrates_the_value_inference_reports(one_torch_thread):
    # train_step ranks the n samples the network sees on their own, as inference does
    from estimators.infonet.checkpoint import load_model
    from estimators.infonet.inference import estimate_rows

    drawn, _, u, v = _the_same_batch_drawn()
    net, _ = load_model()
    with torch.no_grad():
        inside = dv_value(net(u, v).float(), u, v)
        reported = estimate_rows(net, drawn.xy[:, :200, 0], drawn.xy[:, :200, 1])
    assert torch.allclose(inside, reported, atol=1e-4)


def test_draw_batch_orders_re_paired_weakened_and_gaussian_members():
    gen = torch.Generator().manual_seed(11)
    options = {"independent": 0.25, "weak": 0.25, "gaussian": 0.25, "twins": True}
    drawn = draw_batch(20, 300, gen, mi_balance=0.5, **options)
    weights, means, chol = drawn.params
    assert (drawn.unpaired, drawn.weakened, drawn.twins) == (5, 5, 5)
    assert torch.equal(drawn.keep[:5], torch.zeros(5))
    assert float(drawn.keep[5:10].min()) >= 0.0 and float(drawn.keep[5:10].max()) < WEAK_KEEP
    assert torch.equal(drawn.keep[10:], torch.ones(10))
    for p in drawn.params:  # twins: the weakened members share the re-paired ones' mixtures
        assert torch.equal(p[5:10], p[:5])
    assert torch.equal(weights[15:, 0], torch.ones(5)) and float(means[15:].abs().max()) == 0.0
    assert (weights[:15, 0] < 1).any()  # the rest are mixtures of the recipe
    rho = chol[15:, 0, 1, 0]
    assert float(rho.abs().max()) <= GAUSSIAN_RHO_MAX
    sample_rho = torch.stack([torch.corrcoef(m.T)[0, 1] for m in drawn.xy[15:]])
    assert torch.allclose(sample_rho, rho, atol=0.2)  # n = 300: sd about 0.06
    truth = calibration_targets(drawn, gen, n_mc=4096)
    assert torch.equal(truth[:5], torch.zeros(5))
    assert float(truth[5:10].max()) < 0.3  # weak dependence
    assert drawn.gaussians == 5  # the Gaussians' MI is exact, not Monte Carlo
    assert torch.allclose(truth[15:], -0.5 * torch.log1p(-(rho**2)), atol=1e-6)
    plain = draw_batch(20, 300, torch.Generator().manual_seed(11), mi_balance=0.5)
    assert torch.equal(plain.keep, torch.ones(20)) and plain.unpaired == plain.weakened == 0
    # the Gaussians are drawn instead of mixtures, not over the MI-balanced ones: the
    # 15 mixtures are what gmm_batch_params draws for 15, half of them balanced
    from estimators.infonet.simulator import gmm_batch_params

    mixed = draw_batch(20, 300, torch.Generator().manual_seed(12), mi_balance=0.5, gaussian=0.25)
    alone = gmm_batch_params(15, generator=torch.Generator().manual_seed(12), mi_balance=0.5)
    for got, want in zip(mixed.params, alone, strict=True):
        assert torch.equal(got[:15], want)


def test_gaussian_weak_draws_the_last_gaussians_weakly_correlated():
    gen = torch.Generator().manual_seed(13)
    drawn = draw_batch(40, 100, gen, gaussian=0.5, gaussian_rho_max=0.95, gaussian_weak=0.4)
    rho = drawn.params[2][:, 0, 1, 0]
    assert drawn.gaussians == 20
    wide, weak = rho[20:32], rho[32:]  # 8 of the 20 Gaussians weak, placed last
    assert float(weak.abs().max()) <= GAUSSIAN_WEAK_RHO[1]
    assert float(wide.abs().max()) > 0.5  # 12 draws on [-0.95, 0.95]: one above 0.5
    truth = calibration_targets(drawn, gen)
    assert float(truth[32:].max()) < 0.021
    # never wider than the run's own range
    narrow = draw_batch(10, 50, gen, gaussian=1.0, gaussian_rho_max=0.1, gaussian_weak=1.0)
    assert float(narrow.params[2][:, 0, 1, 0].abs().max()) <= 0.1
    # a band away from 0, either sign
    band = draw_batch(40, 50, gen, gaussian=1.0, gaussian_rho_max=0.95, gaussian_weak=1.0,
                      gaussian_weak_rho=(0.15, 0.45))  # fmt: skip
    rho = band.params[2][:, 0, 1, 0]
    assert float(rho.abs().min()) >= 0.15 and float(rho.abs().max()) <= 0.45
    assert (rho > 0).any() and (rho < 0).any()


def test_calibrate_pulls_in_sample_estimates_to_the_mc_truth(one_torch_thread):
    _, truth, u, v = _the_same_batch_drawn()
    errors = {}
    for weight in (0.0, 20.0):
        model = _fit_on_the_same_batch(calibrate=weight)
        with torch.no_grad():
            errors[weight] = float(((dv_value(model(u, v), u, v) - truth) ** 2).mean())
    assert truth.max() > 0.8  # high-MI members are in the batch
    assert errors[20.0] < 0.5 * errors[0.0]


def test_calibration_target_of_re_paired_members_is_zero(one_torch_thread):
    drawn, truth, u, v = _the_same_batch_drawn(independent=1.0)
    assert torch.equal(drawn.keep, torch.zeros(8)) and torch.equal(truth, torch.zeros(8))
    reported = {}
    for weight in (0.0, 20.0):
        model = _fit_on_the_same_batch(calibrate=weight, independent=1.0)
        with torch.no_grad():
            reported[weight] = float(dv_value(model(u, v), u, v).abs().mean())
    # the in-sample value of a fitted table is optimistic; calibrating to 0 removes most of it
    assert reported[20.0] < 0.5 * reported[0.0]


def test_calibrate_scale_weights_errors_at_small_mi_more(one_torch_thread):
    _, _, u, v = _the_same_batch_drawn(independent=0.5)  # 4 of 8 re-paired
    at_zero = {}
    for scale in (0.0, 0.02):
        model = _fit_on_the_same_batch(calibrate=2.0, independent=0.5, calibrate_scale=scale)
        with torch.no_grad():
            reported = dv_value(model(u, v), u, v)
        at_zero[scale] = float(reported[:4].abs().mean())
    assert at_zero[0.02] < 0.5 * at_zero[0.0]


def test_calibration_target_of_weakened_members_is_their_blend_mi(one_torch_thread):
    drawn, truth, u, v = _the_same_batch_drawn(weak=1.0)  # all 8 weakened
    from estimators.infonet.simulator import blended_gmm_mi

    fine = blended_gmm_mi(*drawn.params, drawn.keep, 20_000, generator=_same_batch())
    assert torch.allclose(truth, fine, atol=0.03)
    errors = {}
    for weight in (0.0, 20.0):
        model = _fit_on_the_same_batch(calibrate=weight, weak=1.0)
        with torch.no_grad():
            errors[weight] = float(((dv_value(model(u, v), u, v) - truth) ** 2).mean())
    assert float(truth.max()) < 0.3 and float(truth.min()) >= 0.0  # weak dependence
    assert errors[20.0] < 0.5 * errors[0.0]


def test_rank_orders_weakened_members_above_their_re_paired_twins(one_torch_thread):
    from estimators.infonet.train import RANK_MIN_MI

    _, truth, u, v = _the_same_batch_drawn(independent=0.5, weak=0.5, twins=True)
    counted = truth[4:] >= RANK_MIN_MI
    assert counted.sum() >= 2

    margins = {}
    for weight in (0.0, 50.0):
        options = {"calibrate": 2.0, "independent": 0.5, "weak": 0.5, "rank": weight}
        model = _fit_on_the_same_batch(**options)
        with torch.no_grad():
            est = dv_value(model(u, v), u, v)
        margins[weight] = float((est[4:] - est[:4])[counted].mean())
    assert margins[50.0] > margins[0.0] + 0.01


def test_gaussian_members_are_correlated_gaussians_with_their_mi_as_target(one_torch_thread):
    drawn, truth, u, v = _the_same_batch_drawn(gaussian=0.5)  # the last 4 of 8 are Gaussians
    rho = drawn.params[2][4:, 0, 1, 0]
    exact = -0.5 * torch.log1p(-(rho**2))
    assert torch.allclose(truth[4:], exact, atol=0.03)  # Monte Carlo of 1,024 draws

    errors = {}
    for share in (0.0, 0.5):  # fitted on this batch, or on one of 8 mixtures instead
        # measured: 0.0055 without the Gaussians, 0.0004 with them
        model = _fit_on_the_same_batch(150, calibrate=20.0, gaussian=share)
        with torch.no_grad():
            est = dv_value(model(u, v), u, v)
        errors[share] = float(((est[4:] - truth[4:]) ** 2).mean())
    assert errors[0.5] < 0.7 * errors[0.0]


def test_gaussian_rho_max_sets_the_range_of_the_gaussian_members(one_torch_thread):
    from estimators.infonet.train import main

    drawn, _, u, v = _the_same_batch_drawn(gaussian=0.5, gaussian_rho_max=0.9)
    rho = drawn.params[2][4:, 0, 1, 0]
    assert float(rho.abs().max()) > GAUSSIAN_RHO_MAX  # a range the default never draws
    exact = -0.5 * torch.log1p(-(rho**2))

    errors = {}
    for rho_max in (GAUSSIAN_RHO_MAX, 0.9):
        model = _fit_on_the_same_batch(calibrate=20.0, gaussian=0.5, gaussian_rho_max=rho_max)
        with torch.no_grad():
            est = dv_value(model(u, v), u, v)
        errors[rho_max] = float(((est[4:] - exact) ** 2).mean())
    assert errors[0.9] < 0.7 * errors[GAUSSIAN_RHO_MAX]
    with pytest.raises(SystemExit):
        main(["--gaussian", "0.5", "--gaussian-rho-max", "1.0", "--steps", "1"])


def test_gaussian_max_n_keeps_gaussian_members_out_of_large_n_steps(
    tmp_path, monkeypatch, one_torch_thread
):
    from estimators.infonet import train

    seen = []
    real_step = train.train_step

    def recording_step(model, opt, batch, n, *args, **kwargs):
        seen.append((n, kwargs["gaussian"], kwargs["gaussian_weak"]))
        return real_step(model, opt, batch, n, *args, **kwargs)

    monkeypatch.setattr(train, "train_step", recording_step)
    tiny, options = _tiny_training(tmp_path)
    options[options.index("--n") + 1] = "32,64"
    args = ["--config", tiny, "--steps", "12", "--gaussian", "0.5", "--gaussian-max-n", "32"]
    assert train.main([*args, "--gaussian-weak", "0.25", *options]) == 0
    assert {n for n, _, _ in seen} == {32, 64}
    assert all(g == (0.5 if n == 32 else 0.0) and w == 0.25 for n, g, w in seen)
    recipe = load_model(tmp_path / "run" / "best.pt")[1]["training"]
    assert (recipe["gaussian_max_n"], recipe["gaussian_weak"]) == (32, 0.25)
    assert train.step_gaussian(0.5, 5000) == 0.5  # 0: every step
    for bad in (["--gaussian-max-n", "-1"], ["--gaussian", "0.5", "--gaussian-weak", "1.5"],
                ["--gaussian-weak", "0.5"], ["--gaussian-weak-rho", "0.3,0.2"],
                ["--gaussian-weak-rho", "0.1"], ["--gaussian-weak-rho", "a,b"],
                ["--gaussian", "0.5", "--gaussian-weak", "0.5",
                 "--gaussian-weak-rho", "0.5,0.7"]):  # fmt: skip
        with pytest.raises(SystemExit):
            train.main([*bad, "--steps", "1"])


def test_tail_penalises_the_re_paired_members_large_estimates(monkeypatch):
    from estimators.infonet import train

    values = torch.tensor([-0.2, 0.0, 0.01, 0.1])
    assert float(train.tail_penalty(values)) == pytest.approx((0.2**4 + 2**4) / 4)
    seen, real = [], train.tail_penalty

    def recording(estimates):
        seen.append(estimates.detach().clone())
        return real(estimates)

    monkeypatch.setattr(train, "tail_penalty", recording)
    _one_insample_step(InfoNetModel(TINY), 0, tail=1.0, calibrate=1.0, independent=0.5)
    assert len(seen) == 1 and seen[0].shape == (2,)  # the two re-paired members of four
    _one_insample_step(InfoNetModel(TINY), 0, calibrate=1.0, independent=0.5)
    assert len(seen) == 1  # tail = 0: not added
    with pytest.raises(ValueError, match="tail needs calibrate > 0 and independent > 0"):
        _one_insample_step(InfoNetModel(TINY), 0, tail=1.0, calibrate=1.0)


def test_separation_pairs_are_independent_then_weakly_correlated_gaussians():
    from estimators.infonet.batches import separation_pairs

    gen = torch.Generator().manual_seed(0)
    xy = separation_pairs(200, 2000, 0.3, gen)
    assert xy.shape == (400, 2000, 2)
    r = torch.stack([torch.corrcoef(pair.T)[0, 1] for pair in xy])
    assert r[:200].abs().max() < 0.1  # sd of r at n = 2000 is 0.022
    assert torch.allclose(r[200:].abs(), torch.full((200,), 0.3), atol=0.08)
    assert 60 < int((r[200:] < 0).sum()) < 140  # either sign
    assert abs(float(xy.std()) - 1) < 0.01


def test_separation_rewards_the_slice_d_prime_of_the_in_sample_estimates(monkeypatch):
    from estimators.infonet import train

    null, dep = torch.tensor([0.0, 0.02, -0.02, 0.0]), torch.tensor([0.05, 0.07, 0.03, 0.05])
    pooled = math.sqrt(0.5 * (float(null.var()) + float(dep.var())) + 1e-8)
    assert float(train.separation(null, dep)) == pytest.approx(0.05 / pooled)
    from harness.metrics import separation as metrics_separation

    labels = np.r_[np.zeros(4, bool), np.ones(4, bool)]
    both = np.r_[null.numpy(), dep.numpy()]
    assert float(train.separation(null, dep)) == pytest.approx(
        metrics_separation(labels, both), rel=1e-4
    )
    # the worth of a slice does not change when every estimate is scaled
    assert float(train.separation(3 * null, 3 * dep)) == pytest.approx(
        float(train.separation(null, dep)), rel=1e-4
    )
    seen, real = [], train.separation

    def recording(a, b):
        seen.append((a.detach().clone(), b.detach().clone(), a.requires_grad))
        return real(a, b)

    monkeypatch.setattr(train, "separation", recording)
    _one_insample_step(InfoNetModel(TINY), 0, separation_weight=1.0)
    (a, b, grad), pairs = seen[0], train.SEPARATION_PAIRS
    assert len(seen) == 1 and a.shape == b.shape == (pairs,) and grad
    _one_insample_step(InfoNetModel(TINY), 0)
    assert len(seen) == 1  # weight 0: not drawn
    _one_insample_step(InfoNetModel(TINY), 0, separation_weight=1.0, separation_samples=5)
    assert seen[1][0].shape == seen[1][1].shape == (5,)
    for bad in ("1", "0"):
        with pytest.raises(SystemExit):
            train.main(["--separation", "0.1", "--separation-samples", bad, "--steps", "1"])
    with pytest.raises(SystemExit):  # the reward is off: the option would do nothing
        train.main(["--separation-samples", "128", "--steps", "1"])
    # a few steps of the reward alone raise the d' on fresh samples
    from estimators.infonet.batches import separation_pairs
    from estimators.infonet.copula import copula
    from estimators.infonet.readout import dv_value

    torch.manual_seed(0)
    model = InfoNetModel(TINY)
    check = separation_pairs(256, 50, 0.3, torch.Generator().manual_seed(99))

    def d_prime() -> float:
        u, v = copula(check[..., 0]), copula(check[..., 1])
        with torch.no_grad():
            est = dv_value(model(u, v), u, v)
        return float(real(est[:256], est[256:]))

    monkeypatch.setattr(train, "SEPARATION_RHO", 0.3)
    before = d_prime()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    for _ in range(30):
        train.train_step(model, opt, 2, 50, gen, torch.device("cpu"), "exact", False,
                         heldout=False, separation_weight=100.0)  # fmt: skip
    assert d_prime() > before + 0.3


def test_rank_without_calibrate_is_refused():
    with pytest.raises(ValueError, match="rank needs calibrate"):
        _one_insample_step(InfoNetModel(TINY), 0, rank=1.0, independent=0.5, weak=0.5)


def _one_insample_step(model: InfoNetModel, seed: int, **step_options) -> float:
    """The DV value train_step returns for one in-sample step (batch 4, n = 100,
    ``mi_balance=0.5``) drawing from ``Generator().manual_seed(seed)``."""
    from estimators.infonet.train import train_step

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    return train_step(
        model,
        opt,
        4,
        100,
        gen,
        torch.device("cpu"),
        "exact",
        False,
        heldout=False,
        mi_balance=0.5,
        **step_options,
    )


def test_insample_objective_scores_the_samples_the_network_saw():
    torch.manual_seed(0)
    model = InfoNetModel(TINY)
    # n draws, not 2n: no held-out half
    xy = draw_batch(4, 100, torch.Generator().manual_seed(3), mi_balance=0.5).xy
    u, v = copula(xy[..., 0]), copula(xy[..., 1])
    with torch.no_grad():
        expected = float(dv_value(model(u, v), u, v).mean())
    for weight in (0.0, 5.0):  # the calibration term changes the loss, not the value
        trained = InfoNetModel(TINY)
        trained.load_state_dict(model.state_dict())
        value = _one_insample_step(trained, 3, calibrate=weight)
        assert value == pytest.approx(expected, abs=1e-5)


def test_independent_members_are_re_paired_before_the_network_sees_them():
    torch.manual_seed(0)
    model = InfoNetModel(TINY)
    drawn = draw_batch(4, 100, torch.Generator().manual_seed(4), mi_balance=0.5, independent=0.5)
    as_drawn = draw_batch(4, 100, torch.Generator().manual_seed(4), mi_balance=0.5).xy
    xy = drawn.xy
    assert torch.equal(xy[2:], as_drawn[2:]) and torch.equal(xy[..., 0], as_drawn[..., 0])
    for i in (0, 1):  # the same y values, paired with other x values
        assert torch.equal(xy[i, :, 1].sort().values, as_drawn[i, :, 1].sort().values)
        assert float((xy[i, :, 1] != as_drawn[i, :, 1]).float().mean()) > 0.9
    u, v = copula(xy[..., 0]), copula(xy[..., 1])
    with torch.no_grad():
        expected = float(dv_value(model(u, v), u, v).mean())
    value = _one_insample_step(model, 4, independent=0.5)
    assert value == pytest.approx(expected, abs=1e-5)


def test_weight_average_follows_the_ramped_exponential_average():
    from estimators.infonet.train import WeightAverage

    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = WeightAverage(model, decay=0.5)
    expected = 1.0
    for t, w in enumerate([3.0, -2.0, 5.0, 7.0]):
        with torch.no_grad():
            model.weight.fill_(w)
        ema.update(model)
        d = min(0.5, (1 + t) / (10 + t))  # 0.1, 0.18, 0.25, then the 0.5 cap
        expected = d * expected + (1 - d) * w
    assert float(ema.model.weight) == pytest.approx(expected, rel=1e-6)
    assert not ema.model.weight.requires_grad


def _tiny_training(tmp_path) -> tuple[str, list[str]]:
    """The tiny model's ``--config`` and the options of a fast CPU training run
    (batch 2, n = 64, a small validation set) writing to ``tmp_path / "run"``."""
    from estimators.infonet.validation import build_validation_set

    val = tmp_path / "val.npz"
    small = {"sliced_count": 3, "sliced_projections": 20}
    build_validation_set(n=200, repeats=1, gmms=3, mc_samples=20_000, **small).save(val)
    tiny = ",".join(f"{k}={v}" for k, v in TINY.to_dict().items() if isinstance(v, int))
    options = "--batch 2 --n 64 --warmup 1 --lr 1e-3 --threads 1".split()
    return tiny, [*options, "--validation", str(val), "--out", str(tmp_path / "run")]


def test_training_with_ema_keeps_and_resumes_the_average(tmp_path, one_torch_thread):
    from estimators.infonet.train import main

    tiny, options = _tiny_training(tmp_path)
    common = [*options, "--ema", "0.9"]
    assert main(["--config", tiny, "--steps", "3", "--eval-every", "3", *common]) == 0
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert state["ema_updates"] == 3
    best, card = load_model(tmp_path / "run" / "best.pt")
    assert card["training"]["ema"] == 0.9
    # best.pt holds the average, not the last step's weights
    for key, avg in best.state_dict().items():
        assert torch.equal(avg, state["ema"][key])
    assert any(not torch.equal(state["ema"][k], w) for k, w in state["model"].items())
    # a resumed run carries on the same average
    main(["--resume", str(tmp_path / "run" / "state.pt"), "--steps", "2", *common])
    again = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert again["step"] == 5 and again["ema_updates"] == 5


def test_a_resume_that_changes_the_recipe_or_schedule_is_in_the_lineage(tmp_path, one_torch_thread):
    from estimators.infonet.train import main

    tiny, options = _tiny_training(tmp_path)
    assert main(["--config", tiny, "--steps", "2", *options]) == 0
    path = tmp_path / "run" / "state.pt"
    assert json.loads(torch.load(path, weights_only=True)["lineage"]) == []
    rest = [*options[:2], *options[4:]]  # without --n 64
    assert main(["--resume", str(path), "--steps", "1", *rest, "--n", "48"]) == 0
    lineage = json.loads(torch.load(path, weights_only=True)["lineage"])
    assert lineage == ["resumed at step 2: n 64 -> 48, a fresh schedule to step 3"]
    # resumed as it was (the state's own recipe and schedule): nothing to add
    assert main(["--resume", str(path), "--out", str(tmp_path / "run")]) == 0
    assert json.loads(torch.load(path, weights_only=True)["lineage"]) == lineage
    # a state saved before an option existed ran at its default: giving it is a change
    state = torch.load(path, weights_only=True)
    stored = json.loads(state["args"])
    del stored["thin"]
    state["args"] = json.dumps(stored)
    torch.save(state, path)
    assert main(["--resume", str(path), "--steps", "1", "--thin", "0.25", *rest]) == 0
    lineage = json.loads(torch.load(path, weights_only=True)["lineage"])
    assert lineage[-1] == "resumed at step 3: thin 0.0 -> 0.25, a fresh schedule to step 4"


def test_a_restart_from_a_model_file_keeps_the_recipe_on_its_card(tmp_path, one_torch_thread):
    from estimators.infonet.train import card_recipe, main

    tiny, options = _tiny_training(tmp_path)
    recipe = ["--steps", "3", "--eval-every", "3", "--ema", "0.9", "--thin", "0.25", "--seed", "5"]
    assert main(["--config", tiny, *recipe, *options]) == 0
    first = tmp_path / "run" / "best.pt"
    trained = load_model(first)[1]["training"]
    assert card_recipe(first)["n"] == "64" and card_recipe(first)["thin"] == 0.25
    # restarted with no recipe options: the card's recipe, not the defaults
    val = options[options.index("--validation") + 1]
    again = tmp_path / "again"
    base = ["--resume", str(first), "--validation", val, "--steps", "3"]
    assert main([*base, "--out", str(again)]) == 0
    card = load_model(again / "best.pt")[1]
    assert card["steps"] == 6
    assert {k: card["training"][k] for k in trained} == trained
    assert card["lineage"] == [f"best.pt@{load_model(first)[1]['sha256'][:12]}"]
    # an option given again overrides the card's, and the lineage names the change
    changed = tmp_path / "changed"
    assert main([*base, "--thin", "0.5", "--out", str(changed)]) == 0
    card = load_model(changed / "best.pt")[1]
    assert card["training"]["thin"] == 0.5 and card["training"]["ema"] == 0.9
    assert card["lineage"][-1] == "restarted at step 3: thin 0.25 -> 0.5"
    # a card without a training entry leaves the defaults
    bare = json.loads((tmp_path / "run" / "best.json").read_text())
    del bare["training"]
    (tmp_path / "run" / "best.json").write_text(json.dumps(bare))
    assert card_recipe(first) == {}


def test_a_run_stopped_by_its_time_limit_says_so(tmp_path, one_torch_thread, capsys):
    from estimators.infonet.train import main

    tiny, options = _tiny_training(tmp_path)
    assert main(["--config", tiny, "--steps", "5", "--minutes", "0", *options]) == 0
    state = tmp_path / "run" / "state.pt"
    assert torch.load(state, weights_only=True)["step"] == 0
    assert (
        f"--minutes 0 limit at step 0 of 5; --resume {state} carries on" in capsys.readouterr().out
    )
    assert main(["--config", tiny, "--steps", "1", *options]) == 0
    assert "limit" not in capsys.readouterr().out


def test_grown_weights_learn_faster_and_keep_their_rate_on_resume(tmp_path, one_torch_thread):
    from estimators.infonet.train import main

    tiny, options = _tiny_training(tmp_path)
    assert main(["--config", tiny, "--steps", "2", *options]) == 0
    grown = [*options[:-1], str(tmp_path / "grown")]
    base = ["--resume", str(tmp_path / "run" / "best.pt"), "--grow", "moment_features=2"]
    assert main([*base, "--grown-lr-scale", "10", "--steps", "4", *grown]) == 0
    path = tmp_path / "grown" / "state.pt"
    state = torch.load(path, weights_only=True)
    assert state["fast_modules"] == ["moment_embed."]
    rest, quick = state["optimizer"]["param_groups"]
    assert (rest["lr_scale"], quick["lr_scale"]) == (1.0, 10.0)
    assert quick["lr"] == pytest.approx(10 * rest["lr"])
    assert len(quick["params"]) == 2  # the new layer's weight and bias
    assert state["model"]["moment_embed.weight"].abs().max() > 0  # it trained
    # a resumed state rebuilds the same groups at the same ratio
    assert main(["--resume", str(path), "--steps", "2", *grown]) == 0
    again = torch.load(path, weights_only=True)
    assert again["step"] == state["step"] + 2 and again["fast_modules"] == ["moment_embed."]
    rest, quick = again["optimizer"]["param_groups"]
    assert quick["lr"] == pytest.approx(10 * rest["lr"])
    assert load_model(tmp_path / "grown" / "best.pt")[1]["training"]["grown_lr_scale"] == 10.0
    with pytest.raises(SystemExit):  # no --grow
        main(["--resume", str(path), "--grown-lr-scale", "10", "--steps", "1", *grown])
    with pytest.raises(SystemExit, match="keeps its own rates"):
        main(["--resume", str(path), "--grow", "grid=40", "--grown-lr-scale", "10", *grown])
    with pytest.raises(SystemExit, match="adds no weights"):
        main([*base[:2], "--grow", "grid=40", "--grown-lr-scale", "10", *grown])


def test_switching_ema_on_at_resume_scores_best_afresh(tmp_path, one_torch_thread):
    from estimators.infonet.train import main

    tiny, options = _tiny_training(tmp_path)
    common = [*options, "--eval-every", "3"]
    assert main(["--config", tiny, "--steps", "3", *common]) == 0
    path = tmp_path / "run" / "state.pt"
    state = torch.load(path, weights_only=True)
    state["best"] = -1.0  # a raw-weight best no score can beat
    torch.save(state, path)
    assert main(["--resume", str(path), "--steps", "3", "--ema", "0.9", *common]) == 0
    # the average was compared with nothing scored on averages, so it became best.pt
    assert torch.load(path, weights_only=True)["best"] > 0
    assert load_model(tmp_path / "run" / "best.pt")[1]["training"]["ema"] == 0.9


def test_a_training_run_started_from_another_thread_runs(tmp_path, one_torch_thread):
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from estimators.infonet.train import main

    tiny, options = _tiny_training(tmp_path)
    before = signal.getsignal(signal.SIGTERM)
    with ThreadPoolExecutor(1) as pool:  # signal.signal raises ValueError off the main thread
        code = pool.submit(main, ["--config", tiny, "--steps", "2", *options]).result()
    assert code == 0
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=True)["step"] == 2
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_interrupted_and_resumed_run_takes_the_uninterrupted_runs_steps(
    tmp_path, one_torch_thread, monkeypatch
):
    import os
    import signal

    from estimators.infonet import train

    tiny, options = _tiny_training(tmp_path)
    recipe = ["--config", tiny, "--steps", "4", "--ema", "0.9", "--eval-every", "3", "--seed", "5"]
    whole = [*options[:-1], str(tmp_path / "whole")]
    assert train.main([*recipe, *whole]) == 0
    # the same run, stopped by SIGTERM after its second step ...
    real_step, calls = train.train_step, []

    def step_then_signal(*a, **k):
        value = real_step(*a, **k)
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler only asks the loop to stop
        return value

    monkeypatch.setattr(train, "train_step", step_then_signal)
    assert train.main([*recipe, *options]) == 0
    monkeypatch.setattr(train, "train_step", real_step)
    path = tmp_path / "run" / "state.pt"
    assert torch.load(path, weights_only=True)["step"] == 2
    # ... and resumed with no recipe options: the state keeps lr, warm-up, EMA, seed, n
    assert train.main(["--resume", str(path), "--out", str(tmp_path / "run")]) == 0
    a = torch.load(tmp_path / "whole" / "state.pt", weights_only=True)
    b = torch.load(path, weights_only=True)
    assert b["step"] == a["step"] == 4 and b["ema_updates"] == 4
    for part in ("model", "ema"):
        for key, value in a[part].items():
            assert torch.equal(b[part][key], value), (part, key)
    assert json.loads(b["args"]) == json.loads(a["args"])
    # a fresh run of the same seed starts from the same weights
    again = [*options[:-1], str(tmp_path / "again")]
    assert train.main([*recipe, *again]) == 0
    c = torch.load(tmp_path / "again" / "state.pt", weights_only=True)
    assert all(torch.equal(c["model"][k], v) for k, v in a["model"].items())


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signalled_training_run_saves_its_state(tmp_path, signame):
    import signal
    import subprocess
    import sys

    tiny, options = _tiny_training(tmp_path)
    never = "--eval-every 100000 --checkpoint-minutes 100".split()  # only the signal saves
    cmd = [sys.executable, "-m", "estimators.infonet.train", "--config", tiny, *options, *never]

    def like_nohup() -> None:  # a background job of a non-interactive shell ignores SIGINT
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=like_nohup
    )
    try:
        assert proc.stdout.readline().startswith("training from step 0")
        time.sleep(1.0)  # some steps
        proc.send_signal(getattr(signal, signame))
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "interrupted; saving" in out
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert state["step"] > 0 and (tmp_path / "run" / "best.pt").exists()


# -- accuracy of the shipped model ---------------------------------------------


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6, 0.9])
def test_shipped_model_gaussian_accuracy(infonet, rho):
    truth = -0.5 * math.log(1 - rho**2)
    values = infonet.estimate_batch(
        *zip(*[gaussian_pair(rho, 2000, seed=s) for s in range(4)], strict=True)
    )
    assert abs(values.mean() - truth) < 0.06


# -- differentiable entry point --------------------------------------------------


def test_gradients_flow_and_increase_mi():
    from estimators.infonet import mutual_information

    gen = torch.Generator().manual_seed(8)
    x = torch.randn(500, generator=gen)
    noise = torch.randn(500, generator=gen)
    a = torch.tensor(0.3, requires_grad=True)
    opt = torch.optim.SGD([a], lr=0.5)
    first = None
    for _ in range(10):
        mi = mutual_information(x, a * x + noise)
        first = float(mi.detach()) if first is None else first
        opt.zero_grad()
        (-mi).backward()
        assert a.grad is not None and torch.isfinite(a.grad)
        opt.step()
    final = float(mutual_information(x, a.detach() * x + noise))
    assert float(a.detach()) > 0.6
    assert final > first + 0.1
    # the soft estimate tracks the hard one
    hard = estimators.make("infonet:device=cpu").estimate(
        x.numpy()[:, None], (a.detach() * x + noise).numpy()[:, None]
    )
    assert final == pytest.approx(hard, abs=0.05)


def test_differentiable_estimate_of_float64_data_far_from_zero():
    from estimators.infonet import mutual_information

    gen = torch.Generator().manual_seed(9)
    x = torch.randn(400, generator=gen, dtype=torch.float64)
    y = 0.8 * x + 0.6 * torch.randn(400, generator=gen, dtype=torch.float64)
    near = float(mutual_information(x, y))
    assert near > 0.3
    assert float(mutual_information(x + 1e6, y - 1e6)) == pytest.approx(near, abs=1e-4)


def test_split_correction_on_the_shipped_model():
    rhos = [0.0] * 8 + [0.6] * 8
    pairs = [gaussian_pair(rho, 200, seed=20 + i) for i, rho in enumerate(rhos)]
    xs, ys = (list(t) for t in zip(*pairs, strict=True))
    truth = np.array([-0.5 * math.log(1 - rho**2) for rho in rhos])
    plain = estimators.make("infonet:device=cpu").estimate_batch(xs, ys)
    split = estimators.make("infonet:device=cpu,correction=split")
    corrected = split.estimate_batch(xs, ys)
    # README (small samples): the calibrated model has no optimism left at independence
    # at n = 200, and the split leaves it there
    assert abs((plain - truth)[:8].mean()) < 0.02
    assert abs((corrected - truth)[:8].mean()) < 0.02
    # above independence the model has no optimism left either, and the split
    # still takes some off: it over-corrects (README: leave it off)
    assert abs((plain - truth)[8:].mean()) < 0.02
    assert (plain - corrected)[8:].mean() > 0.01
    assert -0.06 < (corrected - truth)[8:].mean() < -0.015
    # the split is by x-rank, so the sample order still does not matter
    perm = np.random.default_rng(1).permutation(200)
    assert split.estimate(xs[9][perm], ys[9][perm]) == pytest.approx(corrected[9], abs=1e-5)
    with pytest.raises(SpecError, match="correction"):
        estimators.make("infonet:correction=jackknife")


# -- the table family's capacity (benchmarks/infonet_capacity.py) ----------------


def test_capacity_histograms_give_the_exact_readout():
    from benchmarks.infonet_capacity import _dv, _histograms

    rng = np.random.default_rng(0)
    u, v = rng.uniform(size=700), rng.uniform(size=700)
    table = torch.as_tensor(rng.normal(size=(24, 24)))
    expected = dv_value(table[None], torch.as_tensor(u)[None], torch.as_tensor(v)[None], "exact")
    assert float(_dv(table, *_histograms(u, v, 24))) == pytest.approx(float(expected[0]), abs=1e-9)


def test_capacity_of_a_fine_table_reaches_a_gaussians_mi(one_torch_thread):
    from benchmarks.infonet_capacity import best_table_value

    rng = np.random.default_rng(1)
    cov = [[1.0, 0.8], [0.8, 1.0]]
    fit, test = (rng.multivariate_normal([0, 0], cov, 150_000) for _ in range(2))
    fitted, held_out = best_table_value(fit, test, grid=48, sigma=1.0, steps=300)
    truth = -0.5 * math.log(1 - 0.8**2)
    assert held_out < fitted
    assert 0.5 * (fitted + held_out) == pytest.approx(truth, abs=0.02)


def test_recording_the_checkpoint_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, estimators; card = estimators.make('infonet').artifacts(); "
        "assert len(card['checkpoint_sha256']) == 64; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluation_numbers_are_those_of_its_stored_rows(tmp_path, one_torch_thread):
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    import results
    from estimators.infonet.evaluate import (
        WEAK_N,
        WEAK_RHO,
        evaluate,
        evaluation_runs,
        export_rows,
    )
    from harness.metrics import delong

    torch.manual_seed(0)
    path = tmp_path / "tiny,grid=8.pt"  # a spec string would split this path
    save_model(InfoNetModel(TINY).eval(), path, {"steps": 0})
    store = tmp_path / "eval.sqlite"
    ev = evaluate(
        path, store, seeds=1, per_level=1, per_k=1, weak_draws=10, weak_small_n=[50],
        split_per_level=2, split_seeds=3, sliced_n=[50], sliced_projections=4,
    )  # fmt: skip

    weak = results.load(ev["weak_dependence"]["run"], store)
    assert sorted(weak.n_samples.unique()) == [WEAK_N]
    assert sorted(weak.rho.unique()) == [0.0, WEAK_RHO]
    for name in ("infonet", "ksg"):
        rows = weak[weak.estimator == name]
        assert len(rows) == 20
        auc = roc_auc_score(rows.rho > 0, rows.estimate)
        assert ev["weak_dependence"][f"{name}_auc"] == pytest.approx(auc, abs=1e-4)
    # the paired error: both estimators' scores of each sample side by side
    wide = weak.pivot_table(index=["instance_id", "seed"], columns="estimator", values="estimate")
    truth = weak.drop_duplicates(["instance_id", "seed"]).set_index(["instance_id", "seed"]).rho
    _, cov = delong(truth.loc[wide.index].to_numpy() > 0, wide[["infonet", "ksg"]].to_numpy().T)
    diff_se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert ev["weak_dependence"]["difference_se"] == pytest.approx(diff_se, abs=1e-4)
    assert ev["weak_dependence"]["ksg_auc_se"] == pytest.approx(math.sqrt(cov[1, 1]), abs=1e-4)
    # the small-sample part: the same check at n = 50, on its own samples
    small = ev["weak_dependence_small_n"]["50"]
    rows = results.load(small["run"], store)
    assert sorted(rows.n_samples.unique()) == [50]
    net = rows[rows.estimator == "infonet"]
    assert small["infonet_auc"] == pytest.approx(roc_auc_score(net.rho > 0, net.estimate), abs=1e-4)
    # the sliced Fig. 5 check: independent_coords at d = 128, 50 dependent and 50 independent
    sliced = ev["sliced_independence"]["50"]
    rows = results.load(sliced["run"], store)
    assert (sliced["d"], sliced["projections"]) == (128, 4)
    assert sorted(rows.d.unique()) == [128] and sorted(rows.n_samples.unique()) == [50]
    for name in ("infonet", "ksg"):
        mine = rows[rows.estimator == name]
        assert len(mine) == 100 and int(mine.dependent.sum()) == 50
        auc = roc_auc_score(mine.dependent > 0, mine.estimate)
        assert sliced[f"{name}_auc"] == pytest.approx(auc, abs=1e-4)
    assert sliced["ksg_auc"] > 0.95  # KSG tells this dependence from none at n = 50
    assert "projections=4" in rows[rows.estimator == "infonet"].label.iloc[0]
    assert sliced["run"] in evaluation_runs(ev)
    gauss = results.load(ev["gaussian"]["run"], store)
    ksg = gauss[gauss.estimator == "ksg"]
    assert ev["gaussian"]["ksg_mae"] == pytest.approx(ksg.error.abs().mean(), abs=1e-4)

    # the split: 2 mixtures per level under 3 seeds, each part from those rows alone
    split = ev["gmm_levels_split"]
    rows = results.load(split["run"], store)
    assert sorted(rows.seed.unique()) == [0, 1, 2] and rows.instance_id.nunique() == 20
    net = rows[rows.estimator == "infonet"]
    within = net.groupby("instance_id").error.var().mean()
    assert split["infonet_sampling_var"] == pytest.approx(within, abs=1e-6)
    means = net.groupby("instance_id").error.mean()
    assert split["infonet_systematic_var"] == pytest.approx(means.var() - within / 3, abs=1e-6)
    assert "ksg_systematic_share" in split

    exported = pd.read_csv(export_rows(ev, tmp_path / "rows.csv"))
    parts = ("gmm_levels", "gmm_order", "gaussian", "gmm_levels_split", "weak_dependence")
    assert set(exported.run_id) == {ev[p]["run"] for p in parts} | {small["run"], sliced["run"]}


def _tiny_models(folder: Path, stem: str, card: dict | None = None) -> list[Path]:
    """Two tiny untrained models (seeds 0 and 1) saved as ``folder/<stem><seed>.pt``."""
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(folder / f"{stem}{seed}.pt")
        save_model(InfoNetModel(TINY).eval(), models[-1], {"steps": seed, **(card or {})})
    return models


def _package_in(tmp_path: Path, monkeypatch, rows: Path) -> Path:
    """Point the evaluate module's package, kept-model folder, rows file and root into
    ``tmp_path``; returns the package's model path."""
    from estimators.infonet import evaluate as ev

    target = tmp_path / "package" / "infonet.pt"
    for name, value in (("DEFAULT_CHECKPOINT", target), ("ROWS_FILE", rows),
                        ("KEPT_DIR", tmp_path / "candidates"), ("ROOT", tmp_path)):  # fmt: skip
        monkeypatch.setattr(ev, name, value)
    return target


def test_evaluation_against_a_reference_pairs_them_on_the_same_samples(tmp_path, one_torch_thread):
    """With a reference checkpoint the weak-dependence, split and sliced parts score it
    on the candidate's samples and record candidate minus reference, as the stored rows
    give it; the candidate's own numbers stay the candidate's."""
    import results
    from estimators.infonet import evaluate as ev
    from harness.metrics import auc_difference

    models = _tiny_models(tmp_path, "model")
    shutil.copyfile(models[0], tmp_path / "copy.pt")
    shutil.copyfile(models[0].with_suffix(".json"), tmp_path / "copy.json")
    store = tmp_path / "eval.sqlite"
    for same in (models[0], tmp_path / "copy.pt"):
        with pytest.raises(ValueError, match="the checkpoint's own weights"):
            ev.evaluate(models[0], store, reference=same)
    with pytest.raises(ValueError, match="distinct seeds"):
        ev.evaluate(models[0], store, sliced_seeds=[1, 1])
    out = ev.evaluate(
        models[0], store, seeds=1, per_level=1, per_k=1, weak_draws=10, weak_small_n=[],
        split_per_level=2, split_seeds=2, sliced_n=[50], sliced_projections=3,
        sliced_seeds=[0, 1], reference=models[1],
    )  # fmt: skip
    assert out["reference"]["sha256"] == load_card(models[1])["sha256"]

    def labels(rows):
        """The candidate's and the reference's labels, and each one's stored parameters."""
        params = {label: json.loads(p) for label, p in
                  rows.loc[rows.estimator == "infonet", ["label", "estimator_params"]]
                  .drop_duplicates().itertuples(index=False)}  # fmt: skip
        by_path = {p["checkpoint"]: label for label, p in params.items()}
        ours, theirs = by_path[str(models[0].resolve())], by_path[str(models[1].resolve())]
        return ours, theirs, params[ours], params[theirs]

    weak = out["weak_dependence"]
    rows = results.load(weak["run"], store)
    rows["dependent"] = rows.rho > 0
    ours, theirs, _, _ = labels(rows)
    lead = auc_difference(rows, ours, theirs, by=[]).iloc[0]
    assert lead["difference"] != 0  # the two models tell the classes apart differently
    assert weak["vs_reference"] == pytest.approx(lead["difference"], abs=1e-4)
    assert weak["vs_reference_se"] == pytest.approx(lead["difference_se"], abs=1e-4)
    assert weak["infonet_auc"] == pytest.approx(lead["first"], abs=1e-4)
    assert weak["reference_auc"] == pytest.approx(lead["second"], abs=1e-4)

    rows = results.load(out["gmm_levels_split"]["run"], store)
    ours, theirs, _, _ = labels(rows)
    per = rows.pivot_table(index="instance_id", columns="label", values="error")
    mixture = out["per_mixture"]
    assert mixture["mixtures"] == 20
    assert mixture["infonet_mae"] == pytest.approx(per[ours].abs().mean(), abs=1e-4)
    assert mixture["reference_mae"] == pytest.approx(per[theirs].abs().mean(), abs=1e-4)
    gaps = per[ours].abs() - per[theirs].abs()
    assert gaps.abs().max() > 1e-3
    assert mixture["vs_reference"] == pytest.approx(gaps.mean(), abs=1e-4)
    assert mixture["vs_reference_se"] == pytest.approx(gaps.std() / math.sqrt(20), abs=1e-4)
    # the split's InfoNet numbers are the candidate's, not the reference's
    within = rows[rows.label == ours].groupby("instance_id").error.var().mean()
    assert out["gmm_levels_split"]["infonet_sampling_var"] == pytest.approx(within, abs=1e-6)

    sliced = out["sliced_independence"]["50"]
    seeds = sliced["direction_seeds"]
    assert seeds["seeds"] == [0, 1] and seeds["runs"][0] == sliced["run"]
    for seed, run, auc, vs in zip(
        [0, 1], seeds["runs"], seeds["aucs"], seeds["vs_reference"], strict=True
    ):
        rows = results.load(run, store)
        ours, theirs, mine, other = labels(rows)
        assert mine["seed"] == other["seed"] == seed  # both cut by the same directions
        paired = auc_difference(rows, ours, theirs, by=[]).iloc[0]
        assert auc == pytest.approx(paired["first"], abs=1e-4)
        assert vs == pytest.approx(paired["difference"], abs=1e-4)
    runs = ev.evaluation_runs(out)
    assert len(runs) == len(set(runs)) and set(seeds["runs"]) <= set(runs)
    assert seeds["mean"] == pytest.approx(sum(seeds["aucs"]) / 2, abs=1e-4)


def test_evaluate_command_compares_with_the_model_it_would_replace(tmp_path, monkeypatch):
    """The command's default reference is the packaged model (none where the checkpoint
    is that model); shipping records the kept copy, as the package's file is replaced."""
    from estimators.infonet import evaluate as ev

    target = _package_in(tmp_path, monkeypatch, tmp_path / "rows.csv.gz")
    models = _tiny_models(tmp_path, "model")
    ev.ship(models[0], {})
    asked = []

    def fake_evaluate(checkpoint, *args):
        reference = args[-1]
        asked.append(reference)
        if reference is None:
            return {}
        return {
            "reference": {"checkpoint": str(reference), "sha256": load_card(reference)["sha256"]}
        }

    monkeypatch.setattr(ev, "evaluate", fake_evaluate)
    monkeypatch.setattr(ev, "export_rows", lambda evaluation: tmp_path / "rows.csv.gz")
    assert ev.main([str(target)]) == 0 and asked[-1] is None  # the packaged model itself
    assert ev.main([str(models[1]), "--reference", "none"]) == 0 and asked[-1] is None
    assert ev.main([str(models[1])]) == 0 and asked[-1] == target
    old_sha = load_card(target)["sha256"]
    assert ev.main([str(models[1]), "--ship"]) == 0 and asked[-1] == target
    card = load_card(target)
    assert card["sha256"] == load_card(models[1])["sha256"]
    assert card["evaluation"]["reference"] == {
        "checkpoint": f"candidates/infonet-shipped-{old_sha[:8]}.pt",
        "sha256": old_sha,
    }


def test_ship_installs_the_checkpoint_with_its_evaluation(tmp_path, monkeypatch):
    from estimators.infonet import evaluate as ev

    target = tmp_path / "package" / "infonet.pt"
    monkeypatch.setattr(ev, "DEFAULT_CHECKPOINT", target)
    torch.manual_seed(0)
    src = tmp_path / "best.pt"
    save_model(InfoNetModel(TINY).eval(), src, {"steps": 3})
    assert ev.ship(src, {"gmm_order": {"mean_accuracy": 0.5}}) == target
    model, card = load_model(target)  # the checksum matches the copied file
    assert card["evaluation"] == {"gmm_order": {"mean_accuracy": 0.5}}
    assert card["file"] == "infonet.pt" and card["steps"] == 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["infonet.json", "infonet.pt"]


def test_shipping_keeps_the_model_it_replaces_with_its_rows(tmp_path, monkeypatch):
    from estimators.infonet import evaluate as ev

    rows = tmp_path / "results" / "infonet_evaluation.csv.gz"
    target = _package_in(tmp_path, monkeypatch, rows)
    models = _tiny_models(tmp_path, "best", {"lineage": ["run"]})
    assert ev.keep_shipped(models[0]) is None  # nothing shipped yet
    ev.ship(models[0], {"rows": "results/infonet_evaluation.csv.gz"})
    rows.parent.mkdir()
    rows.write_bytes(b"the first model's rows")
    assert ev.keep_shipped(models[0]) is None  # the same model again
    old_sha = load_card(target)["sha256"]
    kept = ev.keep_shipped(models[1])
    assert kept == tmp_path / "candidates" / f"infonet-shipped-{old_sha[:8]}.pt"
    model, card = load_model(kept)  # weights and card agree
    assert card["sha256"] == old_sha and card["file"] == kept.name and card["steps"] == 0
    assert card["lineage"] == ["run", "the shipped model until best1.pt"]
    assert (tmp_path / card["evaluation"]["rows"]).read_bytes() == b"the first model's rows"
    assert card["evaluation"]["rows"] == f"results/infonet_shipped_{old_sha[:8]}_evaluation.csv.gz"


def test_ship_with_a_stored_evaluation_checks_it_is_the_checkpoints(
    tmp_path, monkeypatch, capsys, one_torch_thread
):
    """``--ship --evaluation JSON`` ships without re-running, once every run the JSON
    names is in its store, finished, and scored the checkpoint itself."""
    import pandas as pd

    import harness
    from estimators.infonet import evaluate as ev
    from results.store import Store

    target = _package_in(tmp_path, monkeypatch, tmp_path / "rows.csv.gz")
    models = _tiny_models(tmp_path, "model")
    ev.ship(models[1], {})
    shipped_sha = load_card(target)["sha256"]
    store = tmp_path / "eval.sqlite"
    spec = InfoNet(checkpoint=str(models[0]), device="cpu")
    rows = harness.run([spec], "gaussian:n=64,rhos=0.5", store=store, progress=False)
    run = rows.run_id.iloc[0]
    # what is checked is the runs, not the parts' numbers: one run stands in for the three
    good = {part: {"run": run} for part in ev.CANDIDATE_PARTS}
    good |= {"store": "eval.sqlite", "reference": {"checkpoint": "package/infonet.pt",
             "sha256": shipped_sha}}  # fmt: skip
    monkeypatch.setattr(ev, "evaluate", lambda *a, **k: pytest.fail("run again"))

    def refused(evaluation: object, *options: str, model: Path = models[0]) -> str:
        saved = tmp_path / "eval.json"
        saved.write_text(json.dumps(evaluation))
        with pytest.raises(SystemExit) as info:
            ev.main([str(model), "--ship", "--evaluation", str(saved), *options])
        assert info.value.code == 2
        return capsys.readouterr().err

    unpaired = {k: v for k, v in good.items() if k != "reference"}
    err = refused(unpaired, model=models[1])  # another model's evaluation
    assert f"run {run}" in err and "did not score" in err
    partial = {k: v for k, v in good.items() if k != "gmm_order"}
    assert "lacks the part(s) gmm_order" in refused(partial)
    assert "is not in" in refused({**good, "gaussian": {"run": "no-such-run"}})
    assert "does not exist" in refused({**good, "store": "none.sqlite"})
    (tmp_path / "junk.sqlite").write_text("not a store")
    assert "junk.sqlite" in refused({**good, "store": "junk.sqlite"})
    assert "not an evaluation" in refused([run])
    itself = {"checkpoint": "model0.pt", "sha256": load_card(models[0])["sha256"]}
    assert "the checkpoint itself" in refused({**good, "reference": itself})
    # the package held another model when this was run, and that model was not kept
    stale = {"checkpoint": "package/infonet.pt", "sha256": "f" * 64}
    assert "neither the package's model now nor kept" in refused({**good, "reference": stale})
    assert "--store cannot change it" in refused(good, "--store", "other.sqlite")
    with pytest.raises(SystemExit):
        ev.main([str(models[0]), "--evaluation", "eval.json"])
    assert "only for --ship" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ev.main([str(models[0]), "--ship", "--evaluation", str(tmp_path / "none.json")])
    assert "No such file" in capsys.readouterr().err
    with Store(store) as st:
        st.update_run(run, status="interrupted")
    assert "interrupted, not finished" in refused(good)
    with Store(store) as st:
        st.update_run(run, status="finished")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(models[0].read_bytes()[:-1])
    shutil.copyfile(models[0].with_suffix(".json"), broken.with_suffix(".json"))
    assert "checkpoint" in refused(good, model=broken)  # its weights fail the card's sha256
    assert load_card(target)["sha256"] == shipped_sha  # nothing was shipped by the refusals

    (tmp_path / "eval.json").write_text(json.dumps(good))
    assert ev.main([str(models[0]), "--ship", "--evaluation", str(tmp_path / "eval.json")]) == 0
    card = load_card(target)
    assert card["sha256"] == load_card(models[0])["sha256"]
    assert card["evaluation"]["gaussian"] == {"run": run}
    # the reference was the model it replaced: the card names its kept copy
    assert card["evaluation"]["reference"]["checkpoint"] == (
        f"candidates/infonet-shipped-{shipped_sha[:8]}.pt"
    )
    # the rows behind it went to the (redirected) rows file, not the repository's
    assert set(pd.read_csv(tmp_path / "rows.csv.gz").run_id) == {run}
