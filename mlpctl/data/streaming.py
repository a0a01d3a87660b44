"""Data bigger than memory (`data.streaming`): the file is read in chunks, twice and more.

Pass one (`scan`) checks every row as the in-memory reader does and gathers the training rows'
statistics into the same `Preprocessing`: counts, means and variances merged chunk by chunk
(Chan et al.'s parallel update, in float64), minima and maxima, categories, classes and their
counts. Every later pass (`StreamingDataset.batches`) transforms a chunk at a time, for training,
validation and evaluation. A row's split comes from a hash of its position in the file and the
seed, so splits are stable without holding the rows; they are not stratified.

What needs all the rows at once is refused under streaming (config.schema says which).
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl.config import RunConfig
from mlpctl.data.preprocessing import Preprocessing
from mlpctl.data.reading import (PARQUET, categorical_columns, check_numeric, count_warnings, csv_header,
                                 feature_columns, handle_missing, has_fractions, header_warnings, label_codes,
                                 ordered_classes, plain_value, read_table)
from mlpctl.data.splits import check_sample_weights, class_weights, row_weights
from mlpctl.errors import DataError

CHUNK_ROWS = 100_000
SAMPLE_ROWS = 10_000  # rows per split kept in memory for the plots
SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}


def chunks(path: Path, rows: int | None = None, names: list[str] | None = None, role: str = "data.path"):
    """The file's rows, `rows` at a time, each chunk's index their positions in the file;
    `names`: the columns of a CSV file without a header line; `role`: what errors name the
    file as (data.path, --input)."""
    rows = rows or CHUNK_ROWS
    if not path.is_file():
        if role != "data.path":
            raise DataError(f"{role}: file not found: {path}")
        read_table(path)  # its not-found message
    if path.suffix.lower() in PARQUET:
        yield from _parquet_chunks(path, rows, role)
        return
    try:
        for frame in pd.read_csv(path, chunksize=rows, **csv_header(names)):
            frame.attrs["rows_are"] = "line"
            frame.attrs["first_line"] = 2 if names is None else 1
            yield frame
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{role}: cannot read {path} as CSV: {error}") from None


def _parquet_chunks(path: Path, rows: int, role: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))
            frame.attrs["rows_are"] = "row"
            start += len(frame)
            yield frame
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"{role}: cannot read {path} as Parquet: {error}") from None


def split_codes(positions: np.ndarray, seed: int, validation: float, test: float) -> np.ndarray:
    """0 train, 1 validation, 2 test for each row position: splitmix64 of (position, seed)
    as a uniform number in [0, 1), compared with the split fractions."""
    golden = 0x9E3779B97F4A7C15
    z = positions.astype(np.uint64) + np.uint64((seed * golden + golden) % 2**64)  # wraps, as splitmix64 does
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    uniform = (z >> np.uint64(11)).astype(np.float64) / 2.0**53
    return np.where(uniform < validation, 1, np.where(uniform < validation + test, 2, 0))


@dataclass
class Moments:
    """Count, mean and sum of squared deviations per column, merged chunk by chunk (NaN left out)."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def empty(cls, width: int) -> "Moments":
        return cls(np.zeros(width), np.zeros(width), np.zeros(width), np.full(width, np.inf), np.full(width, -np.inf))

    def add(self, values: np.ndarray) -> None:
        present = ~np.isnan(values)
        count = present.sum(axis=0).astype(np.float64)
        if not count.any():
            return
        safe = np.where(present, values, 0.0)
        mean = np.divide(safe.sum(axis=0), count, out=np.zeros_like(count), where=count > 0)
        m2 = (np.where(present, values - mean, 0.0) ** 2).sum(axis=0)
        total = self.count + count
        delta = mean - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean = np.where(total > 0, self.mean + delta * np.where(total > 0, count / total, 0), 0.0)
            self.m2 = self.m2 + m2 + delta**2 * np.where(total > 0, self.count * count / total, 0)
        self.count = total
        self.low = np.minimum(self.low, np.where(present, values, np.inf).min(axis=0))
        self.high = np.maximum(self.high, np.where(present, values, -np.inf).max(axis=0))


@dataclass
class Scan:
    """What pass one found: the columns, the statistics, the rows per split."""

    features: list[str]
    targets: list[str]
    categorical: list[str]
    weight_column: list[str]
    numeric: list[str] = field(default_factory=list)  # the features that are not categorical
    inputs: Moments | None = None
    target: Moments | None = None
    categories: dict[str, set] = field(default_factory=dict)
    labels: Counter = field(default_factory=Counter)  # every row's label, classification
    train_labels: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    chunk_rows: dict[str, list[int]] = field(default_factory=lambda: {split: [] for split in SPLIT_CODES})
    fractional: bool = False
    warnings: list[str] = field(default_factory=list)


def scan(config: RunConfig) -> Scan:
    """Pass one: every row checked as `train` checks it, the training rows' statistics."""
    data = config.data
    targets = [data.target] if isinstance(data.target, str) else data.target
    weight_column = [data.sample_weight] if data.sample_weight else []
    found = None
    for frame in chunks(Path(data.path), names=data.names):
        if found is None:
            features = feature_columns(frame, targets + weight_column, data.features)
            categorical = categorical_columns(frame, features, data.categorical)
            numeric = [c for c in features if c not in categorical]
            found = Scan(features, targets, categorical, weight_column, numeric, Moments.empty(len(numeric)),
                         Moments.empty(len(targets)), warnings=header_warnings(frame))
        frame = handle_missing(frame, found.features, targets + weight_column, data.missing, allow_empty=True)
        check_numeric(frame, found.numeric + weight_column)
        if weight_column:  # here, not while training: an error inside tf.data would not be a data error
            check_sample_weights(frame, weight_column[0])
        if config.scenario == "regression":
            check_numeric(frame[targets], targets, role="the target of a regression")
        codes = split_codes(frame.index.to_numpy(), config.seed, data.validation_split, data.test_split)
        train = frame[codes == 0]
        for split, code in SPLIT_CODES.items():
            found.rows[split] += int((codes == code).sum())
            found.chunk_rows[split].append(int((codes == code).sum()))
        found.inputs.add(train[found.numeric].to_numpy(dtype=np.float64))
        for column in found.categorical:
            found.categories.setdefault(column, set()).update(train[column].dropna().astype(str))
        if config.scenario == "regression":
            found.target.add(train[targets].to_numpy(dtype=np.float64))
        else:
            column = frame[targets[0]]
            found.labels.update(column.tolist())
            found.train_labels.update(train[targets[0]].tolist())
            found.fractional |= has_fractions(column)
    if found is None or not sum(found.rows.values()):
        raise DataError(f"data.path: {data.path} has no data rows")
    for split in ("validation", "test"):
        if getattr(data, f"{split}_split") > 0 and not found.rows[split]:
            raise DataError(f"data.{split}_split: leaves no {split} rows in {sum(found.rows.values())} rows")
    return found


def preprocessing_of(config: RunConfig, found: Scan) -> tuple[Preprocessing, list[str]]:
    """The same Preprocessing the in-memory reader fits, from pass one's statistics; and the
    data's warnings."""
    inputs, normalize = found.inputs, config.data.normalize
    fill = inputs.mean.tolist() if config.data.missing == "mean" else None
    if normalize == "standard":
        center, scale = inputs.mean, np.sqrt(inputs.m2 / np.maximum(inputs.count + _filled(found, config), 1))
    elif normalize == "minmax":
        center, scale = inputs.low, inputs.high - inputs.low
    else:
        center, scale = np.zeros(len(inputs.mean)), np.ones(len(inputs.mean))
    scale = np.where(scale > 0, scale, 1.0)
    classes, warnings = _classes(config, found)
    categories = {column: sorted(found.categories[column]) for column in found.categorical} or None
    prep = Preprocessing(found.features, found.targets, normalize, np.asarray(center, dtype=float).tolist(),
                         scale.tolist(), classes, fill, categories)
    if config.standardizes_target:
        spread = np.sqrt(found.target.m2 / np.maximum(found.target.count, 1))
        prep.target_center = found.target.mean.tolist()
        prep.target_scale = np.where(spread > 0, spread, 1.0).tolist()
    return prep, warnings


def _filled(found: Scan, config: RunConfig) -> np.ndarray:
    """Training cells that `missing: mean` fills: they count in the variance, at zero deviation."""
    if config.data.missing != "mean":
        return np.zeros(len(found.inputs.count))
    return found.rows["train"] - found.inputs.count


def _classes(config: RunConfig, found: Scan) -> tuple[list | None, list[str]]:
    if config.scenario == "regression":
        return None, found.warnings
    name = found.targets[0]
    classes = ordered_classes(name, found.labels, config.scenario, config.data.positive_class,
                              sum(found.labels.values()), found.fractional)
    return classes, found.warnings + count_warnings(name, pd.Series(found.labels))


@dataclass
class StreamingDataset:
    """A Dataset whose rows stay in the file: `batches` reads them again for each pass. `x`
    and `y` hold the first SAMPLE_ROWS rows of each split, for the plots."""

    config: RunConfig
    preprocessing: Preprocessing
    rows: dict[str, int]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    warnings: list[str]
    class_weight: np.ndarray | None
    limit: int | None = None  # --smoke: at most this many rows of each split per pass
    chunk_rows: dict[str, list[int]] = field(default_factory=dict)  # rows of each split in each chunk
    weights = None  # per-row weights are made chunk by chunk
    streaming = True

    def steps(self, split: str, batch: int) -> int:
        """Batches in one pass over the split: a chunk's last batch may be short."""
        steps, left = 0, self.limit
        for count in self.chunk_rows[split]:
            if left is not None:
                count, left = min(count, left), left - min(count, left)
            steps += -(-count // batch)
        return steps

    def batches(self, split: str, batch: int | None, epoch: int | None = None):
        """(x, y[, weight]) of one pass over the split, `batch` rows at a time (None: a chunk's
        rows of the split at a time). With `epoch`
        (training), each chunk's rows are shuffled, seeded by (seed, epoch): a shuffle within
        chunks of CHUNK_ROWS rows, not across the file."""
        config, code, left = self.config, SPLIT_CODES[split], self.limit
        for frame in chunks(Path(config.data.path), names=config.data.names):
            if left is not None and left <= 0:
                return
            frame = handle_missing(frame, self.preprocessing.features,
                                   self.preprocessing.targets + _weight_column(config), config.data.missing,
                                   allow_empty=True)
            frame = frame[split_codes(frame.index.to_numpy(), config.seed, config.data.validation_split,
                                      config.data.test_split) == code]
            if left is not None:
                frame, left = frame.iloc[:left], left - min(left, len(frame))
            if frame.empty:
                continue
            if epoch is not None:
                order = np.random.default_rng([config.seed, epoch, int(frame.index[0])]).permutation(len(frame))
                frame = frame.iloc[order]
            x, y, weights = self._arrays(frame)
            size = batch or len(x)
            for start in range(0, len(x), size):
                part = slice(start, start + size)
                yield (x[part], y[part]) if weights is None else (x[part], y[part], weights[part])

    def _arrays(self, frame: pd.DataFrame):
        prep, config = self.preprocessing, self.config
        x = prep.transform(frame)
        if prep.classes is None:
            y = frame[prep.targets].to_numpy(dtype=np.float32)
        else:
            y = label_codes(frame[prep.targets[0]], prep.classes, config.scenario)
        return x, y, row_weights(config, frame, y, self.class_weight)


def _weight_column(config: RunConfig) -> list[str]:
    return [config.data.sample_weight] if config.data.sample_weight else []


def load_streaming(config: RunConfig, max_rows: int | None = None) -> StreamingDataset:
    """Pass one over the file, then a dataset that reads it again for each pass; `max_rows`
    (--smoke): every row is still checked, and each pass reads at most that many per split."""
    found = scan(config)
    prep, warnings = preprocessing_of(config, found)
    weight = None
    if config.training.class_weight is not None:
        codes = np.concatenate([np.full(count, prep.classes.index(plain_value(label)))
                                for label, count in found.train_labels.items()]) if found.train_labels else np.zeros(0, int)
        weight = class_weights(config.training.class_weight, codes, prep.classes)
    rows = {split: min(found.rows[split], max_rows or found.rows[split]) for split in SPLIT_CODES if found.rows[split]}
    dataset = StreamingDataset(config, prep, rows, {}, {}, warnings, weight, max_rows, found.chunk_rows)
    for split in dataset.rows:  # the plots' rows: the first SAMPLE_ROWS of each split
        dataset.x[split], dataset.y[split] = first_rows(dataset.batches(split, SAMPLE_ROWS), SAMPLE_ROWS)
    return dataset


def first_rows(batches, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` rows (x, y) of a pass, reading no further than needed."""
    xs, ys, kept = [], [], 0
    for batch in batches:
        xs.append(batch[0])
        ys.append(batch[1])
        kept += len(batch[0])
        if kept >= count:
            break
    return np.concatenate(xs)[:count], np.concatenate(ys)[:count]
