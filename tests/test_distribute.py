"""training.distribute: mirrored (experimental): one model on several devices of this machine.
Without a GPU, two logical CPU devices stand in for two GPUs; they must be made before
TensorFlow starts, so the training runs are real processes."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, ROOT, base_config

# batch norm (synchronised across the devices), a validation split, early stopping's state: no
# dropout, whose random masks differ between one device and two
SETTINGS = {"model.layers": [{"units": 16, "activation": "tanh", "batch_norm": True}, {"units": 8, "activation": "tanh"}],
            "data.path": str(DATA / "xor_cloud.csv"), "data.test_split": 0.0, "training.epochs": 12,
            "training.batch_size": 64, "training.early_stopping": {"monitor": "val_loss", "patience": 50},
            "report.plots": False}


def train(write_config, tmp_path, *sets: str) -> subprocess.CompletedProcess:
    config = write_config(base_config(**SETTINGS))
    args = [arg for setting in sets for arg in ("--set", setting)]
    return subprocess.run([sys.executable, "-m", "mlpctl", "train", str(config), "-o", str(tmp_path), "--json", "-q",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def losses(document: dict) -> np.ndarray:
    with open(Path(document["run_dir"]) / "history.csv", newline="") as handle:
        return np.array([[float(row["loss"]), float(row["val_loss"])] for row in csv.DictReader(handle)])


@pytest.mark.slow
def test_two_mirrored_devices_train_as_one_and_the_saved_model_answers_the_same(write_config, tmp_path):
    one = train(write_config, tmp_path / "one", "training.engine=fit")
    two = train(write_config, tmp_path / "two", "training.distribute=mirrored", "training.replicas=2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    single, mirrored = json.loads(one.stdout), json.loads(two.stdout)
    assert mirrored["distribute"] == {"strategy": "mirrored", "replicas": 2} and "distribute" not in single
    assert mirrored["engine"] == "fit" and mirrored["epochs_run"] == single["epochs_run"] == 12
    # the same global batches; only the order of float32 sums differs between one device and two
    np.testing.assert_allclose(losses(mirrored), losses(single), rtol=1e-4)
    # model.keras, loaded on one device, gives the loss the mirrored model measured on the same rows
    run_dir = mirrored["run_dir"]
    evaluated = subprocess.run([sys.executable, "-m", "mlpctl", "evaluate", run_dir, "--data", str(DATA / "xor_cloud.csv"),
                                "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    rows = {split: mirrored["rows"][split] for split in ("train", "validation")}
    whole = sum(mirrored["metrics"][split]["loss"] * rows[split] for split in rows) / sum(rows.values())
    assert json.loads(evaluated.stdout)["metrics"]["loss"] == pytest.approx(whole, rel=1e-5)
    # a training batch that does not split evenly over the devices is refused, with the fix
    odd = train(write_config, tmp_path / "odd", "training.distribute=mirrored", "training.batch_size=33")
    assert odd.returncode == 2 and "does not split evenly over the 2 devices" in odd.stderr and "multiple of 2" in odd.stderr


@pytest.mark.parametrize("sets, message", [
    ({"training.replicas": 2}, "training.replicas: counts the devices of training.distribute: mirrored"),
    ({"training.distribute": "mirrored", "training.engine": "graph"}, "training.engine must be auto or fit"),
    ({"training.distribute": "mirrored", "optimizer.name": "rprop"}, "optimizer.name: rprop is not mirrored"),
    ({"training.distribute": "mirrored", "data.streaming": True}, "training.distribute: mirrored is for rows in memory"),
    ({"training.distribute": "mirrored", "report.gradient_norms": True}, "report.gradient_norms: measured on one device"),
    ({"training.distribute": "mirrored", "training.replicas": 1}, "training.replicas"),
])
def test_what_mirrored_training_does_not_do_is_refused_before_training(cli, write_config, sets, message):
    config = base_config(**sets)
    if config["optimizer"]["name"] == "rprop":
        config["optimizer"].pop("learning_rate")
    result = cli("validate", write_config(config))
    assert result.exit_code == 2 and message in result.stderr, result.stderr
