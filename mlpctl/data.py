"""Data stage: read a CSV, check it fits the scenario, split, encode labels, normalize inputs.

Everything is checked before training starts and reported as a DataError naming the column.
The statistics and the label mapping come from the training rows only and are kept in
`Preprocessing`, which is saved with the run so that later predictions apply the same transform.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl.catalog import SPLITS
from mlpctl.config import RunConfig
from mlpctl.config.suggest import did_you_mean
from mlpctl.errors import DataError



@dataclass
class Preprocessing:
    """What turns raw rows into model inputs and model outputs back into labels."""

    features: list[str]
    targets: list[str]
    normalize: str
    center: list[float]
    scale: list[float]
    classes: list | None = None  # original labels, index = encoded class
    fill: list[float] | None = None  # per numeric feature, for empty cells (data.missing)
    categories: dict[str, list[str]] | None = None  # categorical feature -> its one-hot columns
    pca: dict | None = None  # {"mean", "components": k x numeric, "scale": per component or None, ...}

    @property
    def numeric(self) -> list[str]:
        return [column for column in self.features if column not in (self.categories or {})]

    @property
    def n_inputs(self) -> int:
        numeric = len(self.pca["components"]) if self.pca else len(self.numeric)
        return numeric + sum(len(values) for values in (self.categories or {}).values())

    def n_outputs(self, scenario: str) -> int:
        if scenario == "binary":
            return 1
        if scenario == "multiclass":
            return len(self.classes)
        return len(self.targets)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Numeric columns filled and normalized, then one one-hot block per categorical column
        (a category the training rows never had, or an empty cell, is all zeros)."""
        x = frame[self.numeric].to_numpy(dtype=np.float64)
        if self.fill is not None:
            x = np.where(np.isnan(x), np.asarray(self.fill), x)
        x = (x - np.asarray(self.center)) / np.asarray(self.scale)
        if self.pca:
            x = (x - np.asarray(self.pca["mean"])) @ np.asarray(self.pca["components"]).T
            if self.pca["scale"] is not None:
                x = x / np.asarray(self.pca["scale"])
        blocks = [x.astype(np.float32)]
        for column, values in (self.categories or {}).items():
            text = frame[column].astype(str).to_numpy()[:, None]
            blocks.append((text == np.asarray(values, dtype=str)[None, :]).astype(np.float32))
        return np.concatenate(blocks, axis=1)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Dataset:
    x: dict[str, np.ndarray]  # split name -> inputs; only splits with rows
    y: dict[str, np.ndarray]
    preprocessing: Preprocessing
    rows: dict[str, int] = field(default_factory=dict)
    weights: np.ndarray | None = None  # per training row, for the loss; None: all equal


def load_dataset(config: RunConfig, max_rows: int | None = None) -> Dataset:
    """Everything the model needs, checked. `max_rows` keeps a seeded random sample (--smoke)."""
    frame = read_table(Path(config.data.path))
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=config.seed).reset_index(drop=True)
    targets = [config.data.target] if isinstance(config.data.target, str) else config.data.target
    weight_column = [config.data.sample_weight] if config.data.sample_weight else []
    features = _feature_columns(frame, targets + weight_column, config.data.features)
    frame = _handle_missing(frame, features, targets + weight_column, config.data.missing)
    categorical = _categorical_columns(frame, features, config.data.categorical)
    _check_numeric(frame, [c for c in features if c not in categorical] + weight_column)
    labels, classes = encode_targets(frame[targets], config.scenario)
    parts = split_indices(len(frame), config, labels if classes is not None else None)
    preprocessing = fit_preprocessing(
        frame.iloc[parts["train"]], features, targets, config.data.normalize, classes, config.data.missing,
        categorical,
    )
    if config.data.decorrelate != "none":
        preprocessing.pca = fit_pca(preprocessing, frame.iloc[parts["train"]], config.data.decorrelate,
                                    config.data.components)
    x = {name: preprocessing.transform(frame.iloc[rows]) for name, rows in parts.items()}
    y = {name: labels[rows] for name, rows in parts.items()}
    weights = training_weights(config, frame.iloc[parts["train"]], y["train"], classes)
    return Dataset(x, y, preprocessing, {name: len(rows) for name, rows in parts.items()}, weights)


def training_weights(config: RunConfig, train: pd.DataFrame, labels: np.ndarray, classes) -> np.ndarray | None:
    """Per-row loss weights of the training rows: the sample_weight column times the class
    weight of each row's label; None when neither is configured."""
    weights = np.ones(len(train), dtype=np.float32)
    column = config.data.sample_weight
    if column:
        values = train[column].to_numpy(dtype=np.float64)
        if (values <= 0).any():
            raise DataError(f"data.sample_weight: column {column!r} has {int((values <= 0).sum())} weight(s) <= 0")
        weights *= values.astype(np.float32)
    class_weight = config.training.class_weight
    if class_weight is not None:
        codes = labels.reshape(-1).astype(int)
        weights *= class_weights(class_weight, codes, classes)[codes]
    return weights if column or class_weight is not None else None


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


def read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"data.path: file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"data.path: cannot read {path} as CSV: {exc}") from None
    if frame.empty:
        raise DataError(f"data.path: {path} has no data rows")
    return frame


def _feature_columns(frame: pd.DataFrame, targets: list[str], features: list[str] | None):
    columns = [str(column) for column in frame.columns]
    for role, names in (("data.target", targets), ("data.features", features or [])):
        for name in names:
            if name not in columns:
                raise DataError(
                    f"{role}: no column {name!r} in the data{did_you_mean(name, columns)} "
                    f"(columns: {', '.join(columns)})"
                )
    chosen = features if features is not None else [c for c in columns if c not in targets]
    overlap = sorted(set(chosen) & set(targets))
    if overlap:
        raise DataError(f"data.features: {overlap} is also the target")
    if not chosen:
        raise DataError("data.features: no feature columns left besides the target")
    return chosen


def _categorical_columns(frame: pd.DataFrame, features: list[str], listed: list[str] | None) -> list[str]:
    """The listed columns, or those whose non-empty values are mostly text. A mostly numeric
    column with a few text cells is left numeric, so its typos are reported, not encoded."""
    if listed is not None:
        strays = [column for column in listed if column not in features]
        if strays:
            raise DataError(f"data.categorical: {strays} are not feature columns (features: {', '.join(features)})")
        return list(listed)
    found = []
    for column in features:
        values = frame[column].dropna()
        numbers = pd.to_numeric(values, errors="coerce").notna().sum()
        if len(values) and numbers < len(values) / 2:
            found.append(column)
    return found


def _handle_missing(frame: pd.DataFrame, features: list[str], others: list[str], strategy: str) -> pd.DataFrame:
    """drop: rows with an empty cell go; otherwise targets (and weights) must be complete, and
    features too unless a fill strategy fills them later from the training rows."""
    if strategy == "drop":
        kept = frame.dropna(subset=features + others).reset_index(drop=True)
        if kept.empty:
            raise DataError("data.missing: drop leaves no rows: every row has an empty cell")
        return kept
    _check_complete(frame, others, hint="; use data.missing: drop to drop those rows")
    if strategy == "error":
        _check_complete(frame, features, hint="; fill or drop them, or set data.missing "
                        "(mean, median, most_frequent or drop)")
    return frame


def _check_complete(frame: pd.DataFrame, columns: list[str], hint: str) -> None:
    for column in columns:
        missing = frame[column].isna()
        if missing.any():
            first = int(np.flatnonzero(missing.to_numpy())[0]) + 2  # header is line 1
            raise DataError(
                f"column {column!r}: {int(missing.sum())} missing value(s) (NaN or empty), "
                f"first at line {first}{hint}"
            )


def _check_numeric(frame: pd.DataFrame, features: list[str]) -> None:
    for column in features:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"column {column!r}: {int(bad.sum())} non-numeric value(s), first "
                f"{frame[column].iloc[first]!r} at line {first + 2}; feature columns must be numbers"
            )
        if np.isinf(values.to_numpy(dtype=np.float64)).any():  # empty cells are data.missing's
            raise DataError(f"column {column!r}: contains infinite values")


def encode_targets(target: pd.DataFrame, scenario: str) -> tuple[np.ndarray, list | None]:
    """Labels as the loss wants them, and the original class labels (None for regression)."""
    if scenario == "regression":
        _check_numeric(target, list(target.columns))
        return target.to_numpy(dtype=np.float32), None
    column = target.iloc[:, 0]
    name = column.name
    classes = sorted(pd.unique(column), key=_label_sort_key)
    if scenario == "binary" and len(classes) != 2:
        shown = ", ".join(map(repr, classes[:5])) + (", ..." if len(classes) > 5 else "")
        raise DataError(
            f"column {name!r}: binary scenario needs exactly 2 distinct labels, found "
            f"{len(classes)} ({shown}); use scenario multiclass or regression"
        )
    if scenario == "multiclass":
        _check_class_labels(column, classes)
    codes = pd.Categorical(column, categories=classes).codes.astype(np.int32)
    labels = codes.astype(np.float32).reshape(-1, 1) if scenario == "binary" else codes
    return labels, [plain_value(label) for label in classes]


def _check_class_labels(column: pd.Series, classes: list) -> None:
    if len(classes) < 2:
        raise DataError(f"column {column.name!r}: multiclass needs at least 2 labels, found 1")
    if pd.api.types.is_float_dtype(column) and not np.all(np.mod(column, 1) == 0):
        raise DataError(
            f"column {column.name!r}: has fractional values, which are not class labels; "
            f"is this a regression target?"
        )
    if len(classes) > max(100, len(column) // 2):
        raise DataError(
            f"column {column.name!r}: {len(classes)} distinct labels in {len(column)} rows "
            f"looks like a regression target, not classes"
        )


def _label_sort_key(label) -> tuple:
    return (isinstance(label, str), label)


def plain_value(label):
    """numpy scalars -> Python values, so the mapping serialises to JSON."""
    return label.item() if hasattr(label, "item") else label


def split_indices(n_rows: int, config: RunConfig, labels: np.ndarray | None) -> dict:
    """Shuffled row indices per split, stratified by class when labels are given.

    Each class keeps at least one training row; splits with no rows are left out.
    """
    rng = np.random.default_rng(config.seed)
    fractions = {"validation": config.data.validation_split, "test": config.data.test_split}
    groups = [np.arange(n_rows)] if labels is None else _by_class(labels.reshape(-1))
    parts = {name: [] for name in SPLITS}
    for group in groups:
        group = rng.permutation(group)
        start = 0
        for name, fraction in fractions.items():
            count = min(int(round(fraction * len(group))), len(group) - start - 1)
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


def fit_preprocessing(
    train: pd.DataFrame, features: list[str], targets: list[str], normalize: str, classes, missing: str = "error",
    categorical: list[str] = (),
) -> Preprocessing:
    numeric = [column for column in features if column not in categorical]
    x = train[numeric].to_numpy(dtype=np.float64)
    fill = fill_values(train, numeric, missing)
    if fill is not None:
        x = np.where(np.isnan(x), fill, x)
    if normalize == "standard" and x.shape[1]:
        center, scale = x.mean(axis=0), x.std(axis=0)
    elif normalize == "minmax" and x.shape[1]:
        center, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
    else:
        center, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    scale = np.where(scale > 0, scale, 1.0)  # a constant column stays constant, not NaN
    categories = {column: sorted(train[column].dropna().astype(str).unique()) for column in categorical}
    return Preprocessing(
        features, targets, normalize, center.tolist(), scale.tolist(), classes,
        None if fill is None else fill.tolist(), categories or None,
    )


def fit_pca(prep: Preprocessing, train: pd.DataFrame, kind: str, components) -> dict:
    """Principal components of the training rows' normalized numeric inputs (the notes' PCA
    decorrelation); `components` is a count, or the share of variance to keep."""
    plain = Preprocessing(prep.numeric, prep.targets, prep.normalize, prep.center, prep.scale, fill=prep.fill)
    x = plain.transform(train).astype(np.float64)
    mean = x.mean(axis=0)  # ~0 after standard normalization; not after minmax or none
    x = x - mean
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    variance = singular**2 / max(len(x) - 1, 1)
    share = np.cumsum(variance) / variance.sum()
    if components is None:
        keep = len(variance)
    elif isinstance(components, float):
        keep = int(np.searchsorted(share, components - 1e-12) + 1)
    else:
        if components > len(variance):
            raise DataError(f"data.components: {components} components, but there are only {len(variance)} "
                            f"numeric inputs")
        keep = components
    scale = np.sqrt(np.maximum(variance[:keep], 1e-12)).tolist() if kind == "pca_whiten" else None
    return {"mean": mean.tolist(), "components": vt[:keep].tolist(), "scale": scale,
            "explained_variance": share[keep - 1].item()}


def fill_values(train: pd.DataFrame, features: list[str], missing: str) -> np.ndarray | None:
    """What fills an empty cell of each numeric feature, from the training rows only."""
    if missing not in ("mean", "median", "most_frequent") or not features:
        return None
    values = train[features].astype(np.float64)
    empty = [column for column in features if values[column].isna().all()]
    if empty:
        raise DataError(f"data.missing: column(s) {empty} have no values in the training rows to fill from")
    if missing == "mean":
        return values.mean().to_numpy()
    if missing == "median":
        return values.median().to_numpy()
    return np.array([values[column].mode().iloc[0] for column in features])
