"""`mlpctl init`: a starter config from a look at a CSV file.

The guesses are deliberately plain (one hidden layer, Adam, the scenario's defaults) and every
guess is written as a comment in the file, so the user can see and change it.
"""

import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlpctl.config import RunConfig
from mlpctl.config.suggest import did_you_mean
from mlpctl.data import read_table
from mlpctl.data.reading import encode_targets, too_many_classes
from mlpctl.errors import ConfigError, DataError
from mlpctl.files import atomic_write, safe_name

MAX_CLASSES = 20  # an integer target with at most this many values may be class labels
TINY = 50  # fewer rows than this: train on all of them, full batch
UPDATES = 2000  # weight updates a starter aims for (early stopping ends it sooner), in 50 to 1000 epochs
BATCH = 32
DATES = 0.9  # share of a text column's values that must read as dates for it to be a date column
ID_WORD = re.compile(r"(^|[_\s.-])(id|idx|index|key|row|rownum)$|^Unnamed: \d+$", re.IGNORECASE)  # row_id, Unnamed: 0
ID_CAMEL = re.compile(r"[a-z](Id|ID)$")  # customerId, CustomerID


def guess_scenario(target: pd.Series) -> tuple[str, str]:
    """(scenario, why) from the target column's values: text labels are classes; so are whole
    numbers with few distinct values for the rows (see data.reading.too_many_classes)."""
    values = target.dropna()
    distinct = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    classes = "binary" if distinct == 2 else "multiclass"
    if not numeric:
        return classes, f"{distinct} distinct labels"
    if values.eq(values.round()).all() and distinct <= MAX_CLASSES:
        if distinct == 2 or not too_many_classes(distinct, len(values)):
            return classes, f"{distinct} distinct integer values"
        return "regression", f"{distinct} distinct integers in {len(values)} rows, too many for classes"
    return "regression", f"numbers with {distinct} distinct values"


SEPARATED = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$|^[-+]?\d+\.\d{3}(\.\d{3})*(,\d+)?$")  # 1,234.50; 1.234,50


def check_target(target: pd.Series, scenario: str) -> None:
    """The target as `train` will check it for `scenario` (labels, or numbers), so that init
    never writes a starter that `validate --data` then refuses; the error says what to do."""
    try:
        encode_targets(target.dropna().to_frame(), scenario)
    except DataError as error:
        text = target.dropna().astype(str)
        if len(text) and text.str.match(SEPARATED).mean() >= DATES:
            hint = ("its values look like numbers with thousands separators (1,234.50): write them without "
                    "separators (1234.50) for a regression target")
        else:
            hint = "is it the column you meant? a classification target has a few labels, a regression target numbers"
        raise DataError(f"--target {target.name!r}: {error}; {hint}") from None


def left_out(frame: pd.DataFrame, columns: list) -> dict:
    """Columns a network cannot learn from as they are -> why: an id (a value unique per row
    says nothing about other rows) or dates (text that one-hot encoding would make a category
    per day)."""
    reasons = {}
    for column in columns:
        values = frame[column]
        if values.isna().all():
            reasons[column] = "it has no values"
        elif _is_dates(values):
            reasons[column] = "dates: to use them, turn them into numbers (e.g. year, day of year) in the CSV"
        elif _is_id(column, values):
            reasons[column] = "unique per row, like an id or a name: it says nothing about other rows"
    return reasons


def _is_id(name, values: pd.Series) -> bool:
    if values.notna().all() and values.nunique() == len(values) and len(values) > 2:
        if not pd.api.types.is_numeric_dtype(values):
            return True  # text, unique per row
        whole = values.eq(values.round()).all()
        consecutive = whole and values.max() - values.min() == len(values) - 1 and len(values) >= TINY
        return bool(whole and (consecutive or ID_WORD.search(str(name)) or ID_CAMEL.search(str(name))))
    return False


def _is_dates(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return False
    text = values.dropna().astype(str)
    if not text.str.contains(r"\d").all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return parsed.notna().mean() >= DATES


def missing_strategy(frame: pd.DataFrame, target: str, features: list) -> tuple[str, str | None]:
    """data.missing for the starter, and the note that says why."""
    empty_target = int(frame[target].isna().sum())
    if empty_target:
        return "drop", (f"data.missing: drop, because target {target!r} has {empty_target} empty cell(s): "
                        f"rows with any empty cell are left out")
    empty = [str(column) for column in features if frame[column].isna().any()]
    if empty:
        return "median", (f"data.missing: median, for the empty cells in {', '.join(empty)} (numbers filled "
                          f"with the training rows' median; an empty text cell is no category)")
    return "error", None


def starter_config(csv: Path, target: str, output: Path, scenario: str | None = None) -> str:
    """A starter config's YAML text for a CSV and its target: columns chosen, scenario guessed, notes as comments."""
    frame = read_table(csv)
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise DataError(f"--target: no column {target!r} in {csv}{did_you_mean(target, columns)} "
                        f"(columns: {', '.join(columns)})")
    guessed, why = guess_scenario(frame[target])
    scenario = scenario or guessed
    check_target(frame[target], scenario)
    columns = [c for c in frame.columns if c != target]
    if not columns:
        raise DataError(f"{csv}: no feature columns besides {target!r}")
    skipped = left_out(frame, columns)
    features = [c for c in columns if c not in skipped]
    if not features:
        raise DataError(f"{csv}: every column besides {target!r} looks unusable as it is "
                        + "; ".join(f"{c}: {why}" for c, why in skipped.items()))
    missing, missing_note = missing_strategy(frame, target, features)
    text = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    tiny = len(frame) < TINY
    units = min(64, max(8, 2 * len(features)))
    config: dict[str, Any] = {
        "name": safe_name(csv.stem, "run"),
        "scenario": scenario,
        "seed": 0,
        "data": {
            "path": os.path.relpath(csv.resolve(), output.resolve().parent),
            "target": target,
            "features": [str(c) for c in features] if skipped else None,
            "validation_split": 0.0 if tiny else 0.15,
            "test_split": 0.0 if tiny else 0.15,
            "normalize": "standard",
            "missing": missing,
        },
        "model": {"layers": [{"units": units, "activation": "tanh" if tiny else "relu"}]},
        "optimizer": {"name": "adam", "learning_rate": 0.05 if tiny else 0.001},
        "training": {"epochs": 300 if tiny else _epochs(len(frame)), "batch_size": "full" if tiny else BATCH},
    }
    if not tiny:
        config["training"]["early_stopping"] = {"monitor": "val_loss", "patience": 10, "restore_best": True}
    notes = [
        f"Starter config written by `mlpctl init` from {csv.name} ({len(frame)} rows).",
        f"scenario: {scenario}"
        + (f" (guessed: target {target!r} has {why})" if scenario == guessed else " (as asked)"),
        (f"features: {len(features)} of the {len(columns)} other columns" if skipped
         else f"features: every column but the target ({len(features)})")
        + (f"; text columns, one-hot encoded: {', '.join(map(str, text))}" if text else ""),
        *(f"left out {column!r}: {why}" for column, why in skipped.items()),
        *([missing_note] if missing_note else []),
    ]
    if tiny:
        notes.append(f"fewer than {TINY} rows: no validation or test split, full-batch training")
    text = "".join(f"# {line}\n" for line in notes) + yaml.safe_dump(config, sort_keys=False)
    _check(text, output)
    return text


def _epochs(rows: int) -> int:
    """Enough epochs for about UPDATES mini-batch steps on the training rows (70% of them)."""
    steps = math.ceil(0.7 * rows / BATCH)
    return min(1000, max(50, math.ceil(UPDATES / steps)))


def _check(text: str, output: Path) -> None:
    """The starter must pass `mlpctl validate`; a failure here is our bug, not the user's."""
    raw = yaml.safe_load(text)
    raw["data"]["path"] = str((output.resolve().parent / raw["data"]["path"]).resolve())
    RunConfig.model_validate(raw)


def write_starter(csv: Path, target: str, output: Path | None, scenario: str | None, force: bool) -> Path:
    """`mlpctl init`: the starter config written (refusing to overwrite without `force`); returns its path."""
    output = output or Path(f"{safe_name(csv.stem, 'run')}.yaml")
    if not output.parent.is_dir():
        raise ConfigError(f"--output: folder {output.parent} does not exist")
    text = starter_config(csv, target, output, scenario)
    if output.exists() and not force:
        raise ConfigError(f"--output: {output} exists; pass --force to replace it")
    atomic_write(output, text)
    return output
