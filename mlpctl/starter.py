"""`mlpctl init`: a starter config from a look at a CSV file.

The guesses are deliberately plain (one hidden layer, Adam, the scenario's defaults) and every
guess is written as a comment in the file, so the user can see and change it.
"""

import os
from pathlib import Path

import pandas as pd
import yaml

from mlpctl.config import RunConfig
from mlpctl.config.suggest import did_you_mean
from mlpctl.data import read_table
from mlpctl.errors import ConfigError, DataError
from mlpctl.files import atomic_write, safe_name

MAX_CLASSES = 20  # an integer target with at most this many values is taken as class labels
TINY = 50  # fewer rows than this: train on all of them, full batch


def guess_scenario(target: pd.Series) -> tuple[str, str]:
    """(scenario, why) from the target column's values."""
    values = target.dropna()
    distinct = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric or (values.eq(values.round()).all() and distinct <= MAX_CLASSES):
        kind = "labels" if not numeric else "integer values"
        scenario = "binary" if distinct == 2 else "multiclass"
        return scenario, f"{distinct} distinct {kind}"
    return "regression", f"numbers with {distinct} distinct values"


def starter_config(csv: Path, target: str, output: Path, scenario: str | None = None) -> str:
    frame = read_table(csv)
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise DataError(f"--target: no column {target!r} in {csv}{did_you_mean(target, columns)} "
                        f"(columns: {', '.join(columns)})")
    guessed, why = guess_scenario(frame[target])
    scenario = scenario or guessed
    features = [c for c in frame.columns if c != target]
    text = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if not features:
        raise DataError(f"{csv}: no feature columns besides {target!r}")
    tiny = len(frame) < TINY
    units = min(64, max(8, 2 * len(features)))
    config = {
        "name": safe_name(csv.stem, "run"),
        "scenario": scenario,
        "seed": 0,
        "data": {
            "path": os.path.relpath(csv.resolve(), output.resolve().parent),
            "target": target,
            "features": None,
            "validation_split": 0.0 if tiny else 0.15,
            "test_split": 0.0 if tiny else 0.15,
            "normalize": "standard",
        },
        "model": {"layers": [{"units": units, "activation": "tanh" if tiny else "relu"}]},
        "optimizer": {"name": "adam", "learning_rate": 0.05 if tiny else 0.001},
        "training": {"epochs": 300 if tiny else 50, "batch_size": "full" if tiny else 32},
    }
    if not tiny:
        config["training"]["early_stopping"] = {"monitor": "val_loss", "patience": 10, "restore_best": True}
    notes = [
        f"Starter config written by `mlpctl init` from {csv.name} ({len(frame)} rows).",
        f"scenario: {scenario}" + (f" (guessed: target {target!r} has {why})" if scenario == guessed else " (as asked)"),
        f"features: every column but the target ({len(features)})"
        + (f"; text columns, one-hot encoded: {', '.join(map(str, text))}" if text else ""),
    ]
    if tiny:
        notes.append(f"fewer than {TINY} rows: no validation or test split, full-batch training")
    text = "".join(f"# {line}\n" for line in notes) + yaml.safe_dump(config, sort_keys=False)
    _check(text, output)
    return text


def _check(text: str, output: Path) -> None:
    """The starter must pass `mlpctl validate`; a failure here is our bug, not the user's."""
    raw = yaml.safe_load(text)
    raw["data"]["path"] = str((output.resolve().parent / raw["data"]["path"]).resolve())
    RunConfig.model_validate(raw)


def write_starter(csv: Path, target: str, output: Path | None, scenario: str | None, force: bool) -> Path:
    output = output or Path(f"{safe_name(csv.stem, 'run')}.yaml")
    if not output.parent.is_dir():
        raise ConfigError(f"--output: folder {output.parent} does not exist")
    text = starter_config(csv, target, output, scenario)
    if output.exists() and not force:
        raise ConfigError(f"--output: {output} exists; pass --force to replace it")
    atomic_write(output, text)
    return output
