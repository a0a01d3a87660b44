"""Which rows train, validate and test (seeded, stratified by class), and the per-row loss
weights of the training rows."""

import numpy as np
import pandas as pd

from mlpctl.catalog import SPLITS
from mlpctl.config import RunConfig
from mlpctl.errors import DataError


def split_indices(n_rows: int, config: RunConfig, labels: np.ndarray | None) -> dict:
    """Shuffled row indices per split, stratified by class when labels are given.

    Each class keeps at least one training row; splits with no rows are left out.
    """
    rng = np.random.default_rng(config.data.split_seed)
    fractions = {"validation": config.data.validation_split, "test": config.data.test_split}
    groups = [np.arange(n_rows)] if labels is None else _by_class(labels.reshape(-1))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for group in groups:
        group = rng.permutation(group)
        start = 0
        for name, fraction in fractions.items():
            count = min(round(fraction * len(group)), len(group) - start - 1)
            count = max(count, 0)
            parts[name].append(group[start : start + count])
            start += count
        parts["train"].append(group[start:])
    result = {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}
    for name, fraction in fractions.items():
        if fraction > 0 and len(result[name]) == 0:
            raise DataError(
                f"data.{name}_split: {fraction} of {n_rows} rows leaves no {name} rows; "
                f"use more data or set it to 0"
            )
    return {name: rows for name, rows in result.items() if len(rows)}


def _by_class(labels: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(labels == value) for value in np.unique(labels)]


def training_weights(config: RunConfig, train: pd.DataFrame, labels: np.ndarray, classes) -> np.ndarray | None:
    """Per-row loss weights of the training rows: the sample_weight column times the class
    weight of each row's label; None when neither is configured."""
    per_class = None
    if config.training.class_weight is not None:
        per_class = class_weights(config.training.class_weight, labels.reshape(-1).astype(int), classes)
    return row_weights(config, train, labels, per_class)


def row_weights(config: RunConfig, rows: pd.DataFrame, labels: np.ndarray, per_class: np.ndarray | None):
    """The sample_weight column of `rows` times `per_class[label]` of each row; None when
    neither is configured."""
    column = config.data.sample_weight
    if not column and per_class is None:
        return None
    weights = np.ones(len(rows), dtype=np.float32)
    if column:
        check_sample_weights(rows, column)
        weights *= rows[column].to_numpy(dtype=np.float32)
    if per_class is not None:
        weights *= per_class[labels.reshape(-1).astype(int)]
    return weights


def check_sample_weights(rows: pd.DataFrame, column: str) -> None:
    """A sample-weight column holds finite, non-negative numbers, not all zero."""
    values = rows[column].to_numpy(dtype=np.float64)
    if (values <= 0).any():
        raise DataError(f"data.sample_weight: column {column!r} has {int((values <= 0).sum())} weight(s) <= 0")


def class_weights(setting, codes: np.ndarray, classes: list) -> np.ndarray:
    """One weight per encoded class. balanced: n / (k * count), scikit-learn's rule."""
    if setting == "balanced":
        counts = np.bincount(codes, minlength=len(classes))
        return (len(codes) / (len(classes) * np.maximum(counts, 1))).astype(np.float32)
    # by the labels' text: the resolved config.yaml writes every mapping key as a string
    given = {str(label): weight for label, weight in setting.items()}
    unknown = [label for label in given if label not in map(str, classes)]
    if unknown:
        raise DataError(f"training.class_weight: label(s) {unknown} are not in the data (labels: {classes})")
    missing = [label for label in classes if str(label) not in given]
    if missing:
        raise DataError(f"training.class_weight: no weight for label(s) {missing}; give every class a weight")
    return np.array([given[str(label)] for label in classes], dtype=np.float32)
