"""mlpctl sweep: trials in this process or in workers, each an ordinary run; results that resume."""

import csv
import json
from pathlib import Path

import pytest

from conftest import CONFIGS, DATA

GRID = ["--grid", "optimizer.learning_rate=0.1,0.01", "--grid", "model.layers.0.units=2,8"]


def sweep(cli, tmp_path, *args):
    result = cli("sweep", *args, "--output-dir", tmp_path, "--json")
    document = json.loads(result.stdout) if result.stdout.strip() else None
    return result, document


def sweep_dir_of(tmp_path) -> Path:
    (directory,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    return directory


@pytest.mark.slow
def test_a_2x2_grid_with_2_jobs_gives_4_runs_and_a_4_row_table(cli, tmp_path):
    result, document = sweep(cli, tmp_path, CONFIGS / "xor_cloud.yaml", *GRID, "--set", "training.epochs=3",
                             "--jobs", "2", "--metric", "validation.accuracy")
    assert result.exit_code == 0, result.stderr
    directory = sweep_dir_of(tmp_path)
    runs = sorted(path.name for path in directory.iterdir() if path.is_dir())
    assert runs == ["trial-001", "trial-002", "trial-003", "trial-004"]
    for run in runs:
        assert (directory / run / "metrics.json").exists() and (directory / run / "model.keras").exists()
        assert "epochs: 3" in (directory / run / "config.yaml").read_text()
    rows = list(csv.DictReader(open(directory / "sweep.csv")))
    assert [(r["optimizer.learning_rate"], r["model.layers.0.units"]) for r in rows] == [
        ("0.1", "2"), ("0.1", "8"), ("0.01", "2"), ("0.01", "8")]
    assert all(row["status"] == "completed" for row in rows)
    resolved = (directory / "trial-002" / "config.yaml").read_text()
    assert "learning_rate: 0.1" in resolved and "units: 8" in resolved
    assert json.loads((directory / "sweep.json").read_text()) == document
    assert [t["run_dir"] for t in document["trials"]] == runs  # relative to the sweep directory
    # two workers, one core each, and a tiny net: one TensorFlow thread in each worker
    assert {json.loads((directory / run / "metrics.json").read_text())["versions"]["tf_threads"] for run in runs} == {"1"}
    assert document["mode"] == "max" and document["best"]["status"] == "completed"
    best_value = document["best"]["metrics"]["validation"]["accuracy"]
    assert best_value == max(t["metrics"]["validation"]["accuracy"] for t in document["trials"])
    assert "best: trial" in result.stderr


@pytest.mark.slow
def test_a_diverging_trial_is_recorded_and_the_others_finish(cli, tmp_path):
    result, document = sweep(
        cli, tmp_path, CONFIGS / "regression.yaml", "--set", "training.epochs=4",
        "--grid", "optimizer={name: sgd, learning_rate: 0.01},{name: sgd, learning_rate: 1.0e+6}",
    )
    assert result.exit_code == 4
    assert [t["status"] for t in document["trials"]] == ["completed", "diverged"]
    assert document["best"]["trial"] == 1


@pytest.mark.slow
def test_resume_runs_only_what_did_not_complete_with_the_config_it_started_with(cli, tmp_path, write_config):
    base = write_config((CONFIGS / "regression.yaml").read_text().replace("../data/", f"{DATA}/"), "base.yaml")
    grid = ["--grid", "optimizer.learning_rate=0.01,1.0e+6", "--set", "optimizer.name=sgd", "--set", "training.epochs=3"]
    first, _ = sweep(cli, tmp_path / "sweeps", base, *grid)
    assert first.exit_code == 4
    directory = sweep_dir_of(tmp_path / "sweeps")
    kept = (directory / "trial-001" / "metrics.json").read_text()
    base.write_text(base.read_text().replace("name: regression", "name: edited"))  # edited in between
    again, document = sweep(cli, tmp_path / "sweeps", "--resume", directory)
    assert again.exit_code == 4
    assert "base.yaml was edited since the sweep started" in again.stderr
    assert sorted(path.name for path in directory.iterdir() if path.is_dir()) == ["trial-001", "trial-002", "trial-002-2"]
    assert (directory / "trial-001" / "metrics.json").read_text() == kept
    assert [t["run_dir"] for t in document["trials"]] == ["trial-001", "trial-002-2"]
    assert "name: regression" in (directory / "trial-002-2" / "config.yaml").read_text()


@pytest.mark.slow
def test_seeds_repeat_each_point_and_report_mean_and_spread(cli, tmp_path):
    result, document = sweep(cli, tmp_path, CONFIGS / "xor.yaml", "--grid", "model.layers.0.units=2,4",
                             "--seeds", "1,2", "--set", "training.epochs=5")
    assert result.exit_code == 0
    assert [(t["point"]["model.layers.0.units"], t["seed"]) for t in document["trials"]] == [(2, 1), (2, 2), (4, 1), (4, 2)]
    point = document["points"][0]
    losses = [t["metrics"]["train"]["loss"] for t in document["trials"][:2]]
    assert point["completed"] == 2 and abs(point["mean"] - sum(losses) / 2) < 1e-12
    assert point["std"] > 0 and "per grid point" in result.stderr


@pytest.mark.slow
def test_invalid_trials_are_recorded_and_fail_fast_stops(cli, tmp_path):
    result, document = sweep(cli, tmp_path, CONFIGS / "xor.yaml", "--grid", "training.batch_size=full,0",
                             "--set", "training.epochs=2")
    assert result.exit_code == 2
    assert [t["status"] for t in document["trials"]] == ["completed", "invalid"]
    assert "training.batch_size: must be a positive integer" in document["trials"][1]["error"]
    result, document = sweep(cli, tmp_path / "ff", CONFIGS / "xor.yaml", "--grid", "training.batch_size=full,0",
                             "--fail-fast")
    assert result.exit_code == 2
    assert [t["status"] for t in document["trials"]] == ["skipped", "invalid"]


def test_dry_run_lists_trials_without_training(cli, tmp_path):
    result = cli("sweep", CONFIGS / "xor.yaml", *GRID, "--seeds", "1,2", "--dry-run", "-o", tmp_path)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 8
    assert lines[0] == "trial 1: optimizer.learning_rate=0.1 model.layers.0.units=2 seed=1"
    assert not any(tmp_path.iterdir())
    listed = json.loads(cli("sweep", CONFIGS / "xor.yaml", *GRID, "--dry-run", "--json").stdout)
    assert [t["overrides"] for t in listed][-1] == ["optimizer.learning_rate=0.01", "model.layers.0.units=8"]
    invalid = cli("sweep", CONFIGS / "xor.yaml", "--grid", "training.batch_size=full,0", "--dry-run")
    assert invalid.exit_code == 2 and "INVALID" in invalid.stdout  # usable as a CI pre-check


def test_sweep_usage_errors_exit_2(cli, tmp_path):
    assert "did you mean 'validation'" in cli("sweep", CONFIGS / "xor.yaml", "--metric", "validaton.loss", "--dry-run").stderr
    assert cli("sweep", CONFIGS / "xor.yaml", "--grid", "seed", "--dry-run").exit_code == 2
    repeated = cli("sweep", CONFIGS / "xor.yaml", "--grid", "training.epochs=20,5,20", "--dry-run")
    assert repeated.exit_code == 2 and "20 is repeated" in repeated.stderr
    assert cli("sweep", "--resume", tmp_path).exit_code == 2
    result = cli("sweep", CONFIGS / "xor.yaml", "--resume", tmp_path)
    assert result.exit_code == 2 and "--resume takes the plan" in result.stderr
