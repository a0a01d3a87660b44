"""Data stage: read a CSV, check it fits the scenario, split, encode labels, normalize inputs.

Everything is checked before training starts and reported as a DataError naming the column
(`reading.py`). The statistics and the label mapping come from the training rows only
(`splits.py` decides which) and are kept in `Preprocessing` (`preprocessing.py`), which is saved
with the run so that later predictions apply the same transform.
"""

from dataclasses import dataclass, field

import numpy as np

from mlpctl.config import RunConfig
from mlpctl.data.images import read_image_set
from mlpctl.data.preprocessing import Preprocessing, fit_pca, fit_preprocessing, fit_target_scale
from mlpctl.data.reading import (
    categorical_columns,
    check_numeric,
    encode_targets,
    feature_columns,
    handle_missing,
    header_warnings,
    label_warnings,
    plain_value,
    read_table,
)
from mlpctl.data.splits import class_weights, split_indices, training_weights
from mlpctl.data.streaming import StreamingDataset, load_streaming, spilled
from mlpctl.errors import DataError

__all__ = ["Dataset", "Preprocessing", "StreamingDataset", "class_weights", "load_dataset", "plain_value",
           "read_table", "spilled", "split_indices", "streams"]


@dataclass
class Dataset:
    """The rows of a run in memory, split and transformed (`x`, `y` by split name), with the fitted `preprocessing`."""
    x: dict[str, np.ndarray]  # split name -> inputs; only splits with rows
    y: dict[str, np.ndarray]
    preprocessing: Preprocessing
    rows: dict[str, int] = field(default_factory=dict)
    weights: np.ndarray | None = None  # per training row, for the loss; None: all equal
    warnings: list[str] = field(default_factory=list)  # data that trains, but probably not as meant
    source_rows: dict[str, np.ndarray] = field(default_factory=dict)  # split -> the file's row numbers, in order


STREAM_BYTES = 1 << 30  # data.streaming: auto streams files bigger than this (1 GiB)


def streams(config: RunConfig) -> bool:
    """Whether the rows stay in the file: data.streaming, or auto and a file over 1 GiB (then a
    config that needs every row at once is a DataError saying why)."""
    setting = config.data.streaming
    if setting != "auto" or config.data.source != "table":
        return setting is True
    path = config.data.file
    if not path.is_file() or path.stat().st_size <= STREAM_BYTES:
        return False
    problems = config.streaming_problems()
    if problems:
        raise DataError(f"data.streaming: {path} is {path.stat().st_size / 2**30:.1f} GiB, so it would be streamed, "
                        f"but " + "; ".join(problems) + "; or set data.streaming: false")
    return True


def load_dataset(config: RunConfig, max_rows: int | None = None):
    """A Dataset in memory, or a StreamingDataset (`streams`). `max_rows` (--smoke) keeps a
    sample of the rows; see load_in_memory."""
    if streams(config):
        return load_streaming(config, max_rows)
    return load_in_memory(config, max_rows)


def read_frame(config: RunConfig):
    """The rows, and how many of them at the end are a test set of their own (an image set's)."""
    if config.data.source == "table":
        return read_table(config.data.file, config.data.names, config.label_column), 0
    frame, train_rows = read_image_set(config.data.source, config.data.file if config.data.path else None)
    return frame, len(frame) - train_rows


def smoke_rows(rows: int, held_out: int, max_rows: int, seed: int) -> np.ndarray:
    """A seeded sample of `max_rows` positions, in order; with a held-out test set, a fifth of
    them from it, so the sample has its test split too."""
    rng = np.random.default_rng(seed)
    if not held_out:
        return np.sort(rng.choice(rows, max_rows, replace=False))
    test = min(held_out, max_rows // 5)
    own = rows - held_out
    return np.sort(np.r_[rng.choice(own, min(own, max_rows - test), replace=False),
                         own + rng.choice(held_out, test, replace=False)])


def load_in_memory(config: RunConfig, max_rows: int | None = None) -> Dataset:
    """Everything the model needs, checked. `max_rows` (--smoke) keeps a seeded random sample
    of the rows, taken after every row of the file is checked: a smoke run that passes means
    that `train` will not stop on the data either."""
    frame, held_out = read_frame(config)
    targets = config.data.targets
    weight_column = [config.data.sample_weight] if config.data.sample_weight else []
    features = feature_columns(frame, targets + weight_column, config.data.features)
    frame = handle_missing(frame, features, targets + weight_column, config.data.missing)
    categorical = categorical_columns(frame, features, config.data.categorical)
    check_numeric(frame, [c for c in features if c not in categorical] + weight_column)
    labels, classes = encode_targets(frame[targets], config.scenario, config.data.positive_class)
    warnings = header_warnings(frame) + label_warnings(frame[targets[0]], config.scenario)
    if max_rows is not None and len(frame) > max_rows:
        keep = smoke_rows(len(frame), held_out, max_rows, config.seed)
        held_out = int((keep >= len(frame) - held_out).sum())
        frame, labels = frame.iloc[keep].reset_index(drop=True), labels[keep]
    own = len(frame) - held_out  # the rows the splits share; the held-out ones are the test split
    parts = split_indices(own, config, labels[:own] if classes is not None else None)
    if held_out:
        parts["test"] = np.arange(own, len(frame))
    preprocessing = fit_preprocessing(
        frame.iloc[parts["train"]], features, targets, config.data.normalize, classes, config.data.missing,
        categorical,
    )
    if config.data.decorrelate != "none":
        preprocessing.pca = fit_pca(preprocessing, frame.iloc[parts["train"]], config.data.decorrelate,
                                    config.data.components)
    if config.standardizes_target:
        fit_target_scale(preprocessing, labels[parts["train"]])
    x = {name: preprocessing.transform(frame.iloc[rows]) for name, rows in parts.items()}
    y = {name: labels[rows] for name, rows in parts.items()}
    weights = training_weights(config, frame.iloc[parts["train"]], y["train"], classes)
    numbers = frame.index.to_numpy()  # each row's own number in the file (dropped rows leave gaps)
    return Dataset(x, y, preprocessing, {name: len(rows) for name, rows in parts.items()}, weights, warnings,
                   {name: numbers[rows] for name, rows in parts.items()} if max_rows is None else {})
