"""Shared helpers: run the CLI in-process, write configs and CSVs to a temporary folder."""

import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlpctl.cli import app
from mlpctl.runtime import tensorflow_environment

# XLA's compile cache (training.jit) of this test session in a folder of its own, not the user's.
os.environ.setdefault("MLPCTL_XLA_CACHE", tempfile.mkdtemp(prefix="mlpctl-xla-"))
# TensorFlow as `mlpctl train` has it, for the tests that import the train stage directly:
# runtime.import_tensorflow sets these before TF is imported, and TF reads them only then.
os.environ.update({name: value for name, value in tensorflow_environment().items() if name not in os.environ})

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DATA = ROOT / "data"


@pytest.fixture
def cli():
    """Invoke mlpctl in this process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(arg) for arg in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def write_config(tmp_path):
    """Write a config (a dict, or YAML text) next to the bundled data and return its path."""

    def write(content, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
        return path

    return write


def base_config(**changes) -> dict:
    """A small valid binary config on the bundled XOR cloud; changes are dotted keys."""
    config = {
        "name": "test",
        "scenario": "binary",
        "seed": 1,
        "data": {"path": str(DATA / "xor_cloud.csv"), "target": "y"},
        "model": {"layers": [{"units": 8, "activation": "tanh"}]},
        "optimizer": {"name": "adam", "learning_rate": 0.02},
        "training": {"epochs": 3, "batch_size": 32},
    }
    for key, value in changes.items():
        node = config
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return config


def run_dir_of(result) -> Path:
    """The run directory that `train --json` reported."""
    return Path(json.loads(result.stdout)["run_dir"])
