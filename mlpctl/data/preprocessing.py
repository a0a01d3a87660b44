"""What turns raw rows into model inputs and model outputs back into labels (`Preprocessing`,
saved with the run as preprocessing.json), and how it is fitted on the training rows: fill values,
normalization, PCA and the categories of text columns."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic validates typing.TypedDict only from Python 3.12

from mlpctl.errors import DataError

Normalize = Literal["standard", "minmax", "none"]

TRANSFORM_ROWS = 16_384  # rows per block of Preprocessing.transform
STATISTICS_COLUMNS = 64  # columns per block of column_statistics
ALIGNMENT = 64  # bytes; TensorFlow uses a NumPy array's memory as its own only when so aligned


# As read back from a run directory (`read_saved`): the types as written, nothing else.
AS_WRITTEN = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


@with_config(AS_WRITTEN)
class PCA(TypedDict):
    """A fitted principal-component rotation (data.decorrelate) of the numeric features."""
    mean: list[float]  # per numeric feature
    components: list[list[float]]  # k x numeric features
    scale: list[float] | None  # per component (whitening), or none
    explained_variance: float


@dataclass
class Preprocessing:
    """What turns raw rows into model inputs and model outputs back into labels."""

    __pydantic_config__ = AS_WRITTEN
    features: list[str]
    targets: list[str]
    normalize: Normalize
    center: list[float]
    scale: list[float]
    classes: list | None = None  # original labels, index = encoded class
    fill: list[float] | None = None  # per numeric feature, for empty cells (data.missing)
    categories: dict[str, list[str]] | None = None  # categorical feature -> its one-hot columns
    pca: PCA | None = None
    target_center: list[float] | None = None  # per target, when the network learns it standardized
    target_scale: list[float] | None = None

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
            return len(self.classes or [])
        return len(self.targets)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Numeric columns filled and normalized, then one one-hot block per categorical column
        (a category the training rows never had, or an empty cell, is all zeros)."""
        blocks = [self._numeric(frame)]
        for column, values in (self.categories or {}).items():
            text = frame[column].astype(str).to_numpy()[:, None]
            blocks.append((text == np.asarray(values, dtype=str)[None, :]).astype(np.float32))
        if len(blocks) == 1:
            return blocks[0]
        out = aligned_empty((len(frame), sum(block.shape[1] for block in blocks)))
        return np.concatenate(blocks, axis=1, out=out)

    def _numeric(self, frame: pd.DataFrame) -> np.ndarray:
        """Filled, normalized (and rotated) numeric columns as float32. Without PCA, a block of
        rows at a time from the frame into the float32 result: the same numbers as whole-array
        arithmetic, without a float64 copy of every row (on 1M x 20 rows, 0.7 s of fresh memory,
        now 0.1 s; 60,000 x 784 pixels: 376 MB)."""
        if self.pca:
            x = self._filled(frame[self.numeric].to_numpy(dtype=np.float64))
            x = (x - np.asarray(self.center)) / np.asarray(self.scale)
            x = (x - np.asarray(self.pca["mean"])) @ np.asarray(self.pca["components"]).T
            if self.pca["scale"] is not None:
                x = x / np.asarray(self.pca["scale"])
            out = aligned_empty(x.shape)
            out[...] = x
            return out
        out = aligned_empty((len(frame), len(self.numeric)))
        center, scale = np.asarray(self.center), np.asarray(self.scale)
        for start in range(0, len(frame), TRANSFORM_ROWS):
            rows = slice(start, start + TRANSFORM_ROWS)
            x = frame.iloc[rows][self.numeric].to_numpy(dtype=np.float64)
            out[rows] = (self._filled(x) - center) / scale
        return out

    def _filled(self, x: np.ndarray) -> np.ndarray:
        return x if self.fill is None else np.where(np.isnan(x), np.asarray(self.fill), x)

    def to_dict(self) -> dict:
        """preprocessing.json's content."""
        return asdict(self)

    def inconsistency(self, scenario: str) -> str | None:
        """What does not fit together (lengths, the scenario's classes), or None."""
        numeric, targets = len(self.numeric), len(self.targets)
        lengths = {"center": len(self.center), "scale": len(self.scale),
                   "fill": numeric if self.fill is None else len(self.fill)}
        if self.pca:
            lengths |= {"pca.mean": len(self.pca["mean"]),
                        **{f"pca.components.{i}": len(row) for i, row in enumerate(self.pca["components"])}}
        wrong = next((name for name, length in lengths.items() if length != numeric), None)
        if wrong:
            return f"{wrong}: {lengths[wrong]} value(s) for {numeric} numeric feature(s)"
        for name, values in (("target_center", self.target_center), ("target_scale", self.target_scale)):
            if values is not None and len(values) != targets:
                return f"{name}: {len(values)} value(s) for {targets} target(s)"
        if (self.target_center is None) != (self.target_scale is None):
            return "target_center and target_scale: one without the other"
        if (self.pca and not self.pca["components"]) or (self.pca and self.pca["scale"] is not None \
                and len(self.pca["scale"]) != len(self.pca["components"])):
            return "pca: a scale per component, and at least one component"
        scales = [*self.scale, *(self.target_scale or []), *((self.pca["scale"] if self.pca else None) or [])]
        if any(value == 0 for value in scales):
            return "a scale of 0 (mlpctl writes 1 for a constant column)"
        if len(set(self.features)) != len(self.features) or not self.features or targets == 0:
            return "features and targets: each named once, at least one of each"
        unknown = [column for column in self.categories or {} if column not in self.features]
        if unknown:
            return f"categories: {unknown[0]!r} is not a feature"
        return classes_inconsistency(self.classes, scenario)


def classes_inconsistency(classes: list | None, scenario: str) -> str | None:
    """A classification run's labels: two (binary) or more, each once; none for regression."""
    if scenario == "regression":
        return None if classes is None else "classes: a regression run has none"
    if classes is None or len(classes) < 2 or (scenario == "binary" and len(classes) != 2):
        return f"classes: a {scenario} run has {'two' if scenario == 'binary' else 'two or more'}"
    plain = all(isinstance(label, (str, int, float)) for label in classes)
    if not plain or len(set(map(repr, classes))) != len(classes):
        return "classes: labels are numbers or text, each once"
    return None


def read_saved(text: bytes, scenario: str) -> Preprocessing:
    """preprocessing.json as mlpctl wrote it: every field of its type (a number where a number
    goes, no key missing or added) and every length agreeing with the features. Raises
    DataError naming the field."""
    try:
        prep = TypeAdapter(Preprocessing).validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the file"
        raise DataError(f"{where}: {first['msg'][:1].lower()}{first['msg'][1:]}") from None
    problem = prep.inconsistency(scenario)
    if problem:
        raise DataError(problem)
    return prep


def aligned_empty(shape: tuple[int, int]) -> np.ndarray:
    """An uninitialised float32 array whose memory starts at an ALIGNMENT boundary, so that the
    engines hand it to TensorFlow without a copy (engines.batches.tensor); NumPy itself aligns
    to 16 bytes only."""
    size = int(np.prod(shape)) * 4
    raw = np.empty(size + ALIGNMENT, dtype=np.uint8)
    offset = -raw.ctypes.data % ALIGNMENT
    return raw[offset : offset + size].view(np.float32).reshape(shape)


def fit_preprocessing(
    train: pd.DataFrame, features: list[str], targets: list[str], normalize: Normalize, classes, missing: str = "error",
    categorical: Sequence[str] = (),
) -> Preprocessing:
    """The transform of a run, fitted on its training rows only: fill values, centers and scales, categories."""
    numeric = [column for column in features if column not in categorical]
    fill = fill_values(train, numeric, missing)
    center, scale = column_statistics(train, numeric, fill, normalize)
    scale = np.where(scale > 0, scale, 1.0)  # a constant column stays constant, not NaN
    categories = {column: sorted(train[column].dropna().astype(str).unique()) for column in categorical}
    return Preprocessing(
        features, targets, normalize, center.tolist(), scale.tolist(), classes,
        None if fill is None else fill.tolist(), categories or None,
    )


def column_statistics(train: pd.DataFrame, numeric: list[str], fill, normalize: str):
    """(center, scale) of each numeric column for `normalize`, after filling empty cells.
    Computed STATISTICS_COLUMNS columns at a time: a reduction over rows gives each column the
    same number whatever columns are beside it, so these are the whole array's numbers without
    its float64 copy (60,000 x 784 pixels: 376 MB, and as much again for the variance)."""
    center, scale = np.zeros(len(numeric)), np.ones(len(numeric))
    if normalize not in ("standard", "minmax"):
        return center, scale
    for start in range(0, len(numeric), STATISTICS_COLUMNS):
        columns = slice(start, start + STATISTICS_COLUMNS)
        x = train[numeric[columns]].to_numpy(dtype=np.float64)
        if fill is not None:
            x = np.where(np.isnan(x), fill[columns], x)
        if normalize == "standard":
            center[columns], scale[columns] = x.mean(axis=0), x.std(axis=0)
        else:
            center[columns], scale[columns] = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
    return center, scale


def fit_target_scale(prep: Preprocessing, y_train: np.ndarray) -> None:
    """The training rows' mean and standard deviation of each regression target (a constant
    target keeps scale 1)."""
    values = np.asarray(y_train, dtype=np.float64)
    scale = values.std(axis=0)
    prep.target_center = values.mean(axis=0).tolist()
    prep.target_scale = np.where(scale > 0, scale, 1.0).tolist()


def fit_pca(prep: Preprocessing, train: pd.DataFrame, kind: str, components) -> PCA:
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
