"""``estimators.infonet.extrapolate``: base + alpha (mean(models) - base), and its card."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from estimators.infonet.checkpoint import load_card, load_model, save_model  # noqa: E402
from estimators.infonet.extrapolate import extrapolated, main  # noqa: E402
from estimators.infonet.model import InfoNetConfig, InfoNetModel  # noqa: E402

TINY = InfoNetConfig(
    dim=32, latents=16, grid=32, self_layers=1, heads=2, mlp_hidden=32, frequencies=4
)


def _model(seed: int, config: InfoNetConfig = TINY) -> InfoNetModel:
    torch.manual_seed(seed)
    return InfoNetModel(config).eval()


@pytest.fixture
def pair(tmp_path):
    """A tiny base model and a 'restart' of it, saved with cards like training's."""
    base, run = _model(0), _model(1)
    base_path, run_path = tmp_path / "base.pt", tmp_path / "best.pt"
    save_model(base, base_path, {"steps": 10, "lineage": ["start"]})
    run_card = {
        "steps": 12,
        "lineage": ["start", "restart"],
        "training": {"lr": 5e-6, "seed": 3},
        "validation": {"score": 0.5},
        "evaluation": {"runs": "the run's, not the new model's"},
    }
    save_model(run, run_path, run_card)
    return base_path, run_path


def test_each_weight_moves_alpha_times_its_change():
    base, run = _model(0), _model(1)
    b, r = base.state_dict(), run.state_dict()
    same = extrapolated(base, run, 1.0).state_dict()
    for k in r:  # alpha 1 is the model itself, to float32 rounding
        torch.testing.assert_close(same[k], r[k], rtol=0, atol=1e-6)
    out = extrapolated(base, run, 2.5).state_dict()
    for k in r:
        # from the model, 1.5 more of the change; from the base, 2.5 of it
        torch.testing.assert_close(out[k] - r[k], 1.5 * (r[k] - b[k]), rtol=0, atol=1e-5)
        torch.testing.assert_close(out[k], b[k] + 2.5 * (r[k] - b[k]), rtol=0, atol=1e-6)
    assert all(torch.equal(v, b[k]) for k, v in base.state_dict().items())  # inputs untouched


@pytest.mark.parametrize("alpha", [0.0, -1.0, math.nan, math.inf])
def test_alpha_must_be_a_positive_finite_number(alpha):
    with pytest.raises(ValueError, match="alpha must be a positive finite number"):
        extrapolated(_model(0), _model(1), alpha)


def test_several_models_move_alpha_times_their_mean_change():
    base, runs = _model(0), [_model(1), _model(2), _model(3)]
    b = base.state_dict()
    states = [run.state_dict() for run in runs]
    soup = extrapolated(base, runs, 1.0).state_dict()
    further = extrapolated(base, runs, 3.0).state_dict()
    for k in b:
        mean = (states[0][k] + states[1][k] + states[2][k]) / 3
        torch.testing.assert_close(soup[k], mean, rtol=0, atol=1e-6)  # alpha 1: the soup
        torch.testing.assert_close(further[k], b[k] + 3 * (mean - b[k]), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="no model given"):
        extrapolated(base, [], 2.0)


def test_models_of_different_configurations_are_refused():
    wider = InfoNetConfig(
        dim=32, latents=16, grid=32, self_layers=1, heads=2, mlp_hidden=64, frequencies=4
    )
    with pytest.raises(ValueError, match="configurations differ.*mlp_hidden.*32, 64"):
        extrapolated(_model(0), _model(1, wider), 2.0)


def test_command_writes_the_weights_and_a_card_naming_both_models(pair, tmp_path, capsys):
    base_path, run_path = pair
    out = tmp_path / "ex3.pt"
    assert main([str(base_path), str(run_path), "--alpha", "3", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    card = load_card(out)
    base_sha, run_sha = load_card(base_path)["sha256"], load_card(run_path)["sha256"]
    assert (
        card["extrapolation"]
        == printed["extrapolation"]
        == {
            "alpha": 3.0,
            "base": f"base.pt@{base_sha}",
            "models": [f"best.pt@{run_sha}"],
        }
    )
    assert printed["sha256"] == card["sha256"]
    assert card["lineage"][:2] == ["start", "restart"]
    assert card["lineage"][2].startswith(
        f"extrapolated 3 x the change from base.pt@{base_sha[:12]} to best.pt@{run_sha[:12]}"
    )
    # the run's recipe and step count travel; its scores are not the new model's
    assert card["training"] == {"lr": 5e-6, "seed": 3} and card["steps"] == 12
    assert "evaluation" not in card and "validation" not in card
    model, _ = load_model(out)  # the checksum on the card is the file's
    expected = extrapolated(load_model(base_path)[0], load_model(run_path)[0], 3.0)
    assert all(torch.equal(v, expected.state_dict()[k]) for k, v in model.state_dict().items())


def test_command_scores_the_new_model_on_a_validation_set(pair, tmp_path, capsys):
    from estimators.infonet.validation import (
        SCORE_VERSION,
        ValidationSet,
        build_validation_set,
        score,
    )

    base_path, run_path = pair
    val_path = tmp_path / "val.npz"
    build_validation_set(
        n=200, repeats=1, gmms=3, mc_samples=20_000, sliced_count=3, sliced_projections=20
    ).save(val_path)
    out = tmp_path / "ex2.pt"
    args = [str(base_path), str(run_path), "--alpha", "2", "--out", str(out)]
    assert main([*args, "--validation", str(val_path), "--threads", "1"]) == 0
    card = load_card(out)
    assert json.loads(capsys.readouterr().out)["validation"] == card["validation"]
    direct = score(load_model(out)[0], ValidationSet.load(val_path), torch.device("cpu"))
    assert card["validation"]["score"] == pytest.approx(direct["score"], abs=1e-4)
    assert card["validation"]["sliced_separation"] == pytest.approx(
        direct["sliced_separation"], abs=1e-4
    )
    assert card["validation"]["step"] == 12
    assert card["validation"]["score_version"] == SCORE_VERSION


def test_command_with_several_models_names_each_and_writes_their_mean_change(pair, tmp_path):
    base_path, run_path = pair
    other = tmp_path / "other.pt"
    save_model(_model(2), other, {"steps": 11, "lineage": ["start", "other restart"]})
    out = tmp_path / "soup2.pt"
    assert main([str(base_path), str(run_path), str(other), "--alpha", "2", "--out", str(out)]) == 0
    card = load_card(out)
    shas = [load_card(p)["sha256"] for p in (base_path, run_path, other)]
    assert card["extrapolation"]["models"] == [f"best.pt@{shas[1]}", f"other.pt@{shas[2]}"]
    assert card["lineage"][-1] == (
        f"extrapolated 2 x the change from base.pt@{shas[0][:12]} to the mean of "
        f"best.pt@{shas[1][:12]}, other.pt@{shas[2][:12]} (base + 2 (mean(models) - base))"
    )
    assert card["steps"] == 12  # the first model's card is the new one's
    runs = [load_model(p)[0] for p in (run_path, other)]
    expected = extrapolated(load_model(base_path)[0], runs, 2.0).state_dict()
    model, _ = load_model(out)
    assert all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("same", "BASE and a MODEL are the same weights"),
        ("twice", "the same MODEL weights are given twice"),
        ("overwrite", "--out must not overwrite BASE or a MODEL"),
        ("missing", "not found"),
        ("alpha", "alpha must be a positive finite number"),
    ],
)
def test_command_refuses_what_it_cannot_extend(pair, tmp_path, capsys, which, message):
    base_path, run_path = pair
    o, b, r = str(tmp_path / "o.pt"), str(base_path), str(run_path)
    args = {
        "same": [r, r, "--alpha", "2", "--out", o],
        "twice": [b, r, r, "--alpha", "2", "--out", o],
        "overwrite": [b, r, "--alpha", "2", "--out", r],
        "missing": [str(tmp_path / "nope.pt"), r, "--alpha", "2", "--out", o],
        "alpha": [b, r, "--alpha", "-1", "--out", o],
    }[which]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.pt").exists()
