"""Regression targets learned on a standard scale (data.normalize_target), while everything a
user sees (predictions, metrics, plots) stays in the target's own units."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import DATA, base_config, run_dir_of

OFFSET, SPREAD = 5000.0, 2000.0  # far from the zero-mean, unit-scale outputs a fresh network gives


@pytest.fixture
def large_target(tmp_path):
    """The bundled regression data with its target moved to 5000 +- 2000."""
    frame = pd.read_csv(DATA / "regression.csv")
    frame["y"] = OFFSET + SPREAD * frame["y"]
    path = tmp_path / "large.csv"
    frame.to_csv(path, index=False)
    return path, frame


def regression_config(path, **changes) -> dict:
    return base_config(**{
        "scenario": "regression", "seed": 3, "data.path": str(path), "data.target": "y",
        "model.layers": [{"units": 32, "activation": "tanh"}, {"units": 16, "activation": "tanh"}],
        "optimizer.learning_rate": 0.01, "training.epochs": 60, "report.plots": False, **changes,
    })


def trained(cli, write_config, tmp_path, config: dict) -> dict:
    result = cli("train", write_config(config), "--json", "--quiet", "--output-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_a_large_target_is_learned_by_default_and_not_without_standardizing(cli, write_config, tmp_path,
                                                                          large_target):
    path, _ = large_target
    default = trained(cli, write_config, tmp_path, regression_config(path))
    own_scale = trained(cli, write_config, tmp_path, regression_config(path, **{"data.normalize_target": "none"}))
    assert default["metrics"]["test"]["r2"] > 0.9
    assert own_scale["metrics"]["test"]["r2"] < 0.5  # 660 Adam steps of 0.01 cannot reach 5000
    assert default["metrics"]["test"]["mae"] < 0.1 * SPREAD  # in the target's units


@pytest.mark.slow
def test_predictions_and_metrics_are_in_the_targets_units_and_the_loss_on_the_standard_scale(
        cli, write_config, tmp_path, large_target):
    path, frame = large_target
    run_dir = run_dir_of(cli("train", write_config(regression_config(path)), "--json", "--quiet",
                             "--output-dir", tmp_path / "runs"))
    prep = json.loads((run_dir / "preprocessing.json").read_text())
    assert prep["target_center"][0] == pytest.approx(frame["y"].mean(), rel=0.02)
    assert prep["target_scale"][0] == pytest.approx(frame["y"].std(), rel=0.1)

    assert cli("predict", run_dir, "--input", path, "--output", tmp_path / "p.csv").exit_code == 0
    error = pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy() - frame["y"].to_numpy()
    evaluated = cli("evaluate", run_dir, "--data", path, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout)["metrics"]
    assert metrics["mae"] == pytest.approx(np.abs(error).mean(), rel=1e-4)
    assert metrics["loss"] == pytest.approx(np.mean((error / prep["target_scale"][0]) ** 2), rel=1e-3)


def test_standard_is_refused_where_it_does_not_fit(cli, write_config, tmp_path):
    cases = [(regression_config(DATA / "regression.csv", loss="poisson", **{"data.normalize_target": "standard"}),
              "does not fit loss 'poisson'"),
             (base_config(**{"data.normalize_target": "standard"}), "is for a regression target")]
    for config, message in cases:
        result = cli("validate", write_config(config))
        assert result.exit_code == 2 and "data.normalize_target" in result.stderr and message in result.stderr


def test_classification_and_own_scale_losses_keep_the_target_as_it_is(write_config):
    from mlpctl.config import load_config
    from mlpctl.data import load_dataset

    for config in (base_config(), regression_config(DATA / "regression.csv", loss="poisson")):
        prep = load_dataset(load_config(write_config(config))).preprocessing
        assert prep.target_center is None and prep.target_scale is None
