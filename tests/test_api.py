"""The Python API: `mlpctl.train`, `mlpctl.load_run` and `Run`, the path `mlpctl train` takes too."""

import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

import mlpctl
from mlpctl.errors import ConfigError, DataError
from conftest import CONFIGS, DATA, ROOT, base_config

XOR = {"training.epochs": 300, "report.plots": False}


class Recorder:
    """Keras' hook names and meanings: a 0-based epoch and the logged values."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self):
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs):
        self.calls.append((epoch, logs["loss"]))

    def on_train_end(self):
        self.calls.append("end")


def test_train_returns_a_run_with_its_numbers_history_and_model(tmp_path):
    recorder = Recorder()
    run = mlpctl.train(CONFIGS / "xor.yaml", overrides=XOR, output_dir=tmp_path, callbacks=[recorder])
    assert run.status == "completed" and run.metrics["train"]["accuracy"] == 1.0  # XOR solved
    assert len(run.history["loss"]) == 300 and run.history["epoch"][:2] == [1.0, 2.0]
    assert recorder.calls[0] == "begin" and recorder.calls[-1] == "end"
    assert [call[0] for call in recorder.calls[1:-1]] == list(range(300))
    assert [call[1] for call in recorder.calls[1:-1]] == pytest.approx(run.history["loss"])
    rows = pd.read_csv(DATA / "xor.csv")
    predicted = run.predict(rows.drop(columns="y"), proba=True)
    assert predicted["prediction"].tolist() == rows["y"].tolist()
    assert list(predicted.columns) == ["prediction", "proba_0", "proba_1"]
    assert run.evaluate(rows)["accuracy"] == 1.0
    assert run.model.count_params() == 2 * 4 + 4 + 4 + 1
    again = mlpctl.load_run(run.run_dir)
    assert again.metrics == run.metrics and again.config.model.layers[0].units == 4
    assert (tmp_path / "latest").resolve() == run.run_dir.resolve()  # as `mlpctl train` leaves it


def test_a_config_may_be_a_mapping_or_a_run_config_and_overrides_name_list_items(tmp_path):
    config = base_config(**{"report.plots": False, "training.epochs": 3})
    config["data"]["path"] = str(DATA / "xor_cloud.csv")
    run = mlpctl.train(config, overrides={"model.layers.0.units": 3}, output_dir=tmp_path)
    assert run.status == "completed" and run.config.model.layers[0].units == 3
    assert config["model"]["layers"][0]["units"] == 8  # the caller's mapping is left as it was
    again = mlpctl.train(run.config, overrides={"training.epochs": 2}, output_dir=tmp_path)
    assert len(again.history["loss"]) == 2 and again.config.model.layers[0].units == 3


def test_errors_are_mlpctls_own_with_the_command_lines_words(tmp_path):
    with pytest.raises(ConfigError, match="training.epoch: unknown key; did you mean 'epochs'"):
        mlpctl.train(CONFIGS / "xor.yaml", overrides={"training.epoch": 5}, output_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"overrides\['model.layers.5.units'\]: model.layers.5 is not an item"):
        mlpctl.train(CONFIGS / "xor.yaml", overrides={"model.layers.5.units": 5}, output_dir=tmp_path)
    with pytest.raises(DataError, match="file not found"):
        mlpctl.train(CONFIGS / "xor.yaml", overrides={"data.path": str(tmp_path / "none.csv")}, output_dir=tmp_path)
    with pytest.raises(ConfigError, match="not a run directory"):
        mlpctl.load_run(tmp_path)


def test_a_diverged_run_is_returned_with_its_status(tmp_path):
    run = mlpctl.train(CONFIGS / "regression.yaml", output_dir=tmp_path, overrides={
        "optimizer": {"name": "sgd", "learning_rate": 1.0e6}, "training.epochs": 50, "report.plots": False})
    assert run.status == "diverged" and not (tmp_path / "latest").exists()


@pytest.mark.slow
def test_the_api_and_the_command_line_give_the_same_numbers_in_fresh_processes(tmp_path):
    """Each in a process of its own, as a notebook and a shell would: one path, one result."""
    code = ("import json, sys, mlpctl\n"
            f"run = mlpctl.train({str(CONFIGS / 'digits.yaml')!r}, output_dir={str(tmp_path / 'api')!r},\n"
            "                   overrides={'training.epochs': 5, 'report.plots': False})\n"
            "print(json.dumps({'metrics': run.metrics, 'loss': run.history['loss']}))\n")
    api = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert api.returncode == 0, api.stderr
    cli = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "digits.yaml"), "-o",
                          str(tmp_path / "cli"), "--json", "-q", "--set", "training.epochs=5", "--set",
                          "report.plots=false"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert cli.returncode == 0, cli.stderr
    from_api, from_cli = json.loads(api.stdout.splitlines()[-1]), json.loads(cli.stdout)
    assert from_api["metrics"] == from_cli["metrics"] and from_api["metrics"]["test"]["accuracy"] > 0.8
    history = pd.read_csv(next(p for p in (tmp_path / "cli").iterdir() if not p.is_symlink()) / "history.csv")
    assert from_api["loss"] == history["loss"].tolist()


def test_importing_mlpctl_and_naming_its_api_loads_no_tensorflow():
    code = ("import sys, mlpctl\nmlpctl.train, mlpctl.load_run, mlpctl.Run\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


@pytest.mark.slow
def test_resume_goes_on_with_an_interrupted_run_as_the_command_line_does(tmp_path):
    """A notebook's interrupt leaves the run `interrupted`, with a checkpoint where it stopped."""
    class StopAtEpoch3:
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGINT)  # a notebook's interrupt

    settings = {"training.epochs": 20, "training.engine": "fit", "report.plots": False}
    reference = mlpctl.train(CONFIGS / "xor_cloud.yaml", overrides=settings, output_dir=tmp_path / "ref")
    stopped = mlpctl.train(CONFIGS / "xor_cloud.yaml", overrides=settings, output_dir=tmp_path / "cut",
                           callbacks=[StopAtEpoch3()])
    assert stopped.status == "interrupted"
    resumed = mlpctl.resume(stopped.run_dir)
    assert resumed.status == "completed" and resumed.record["resumed_after_epoch"] == 3
    assert resumed.history == reference.history
