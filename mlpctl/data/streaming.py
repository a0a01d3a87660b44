"""Data bigger than memory (`data.streaming`): the file is read in chunks, twice and more.

Pass one (`scan`) checks every row as the in-memory reader does and gathers the training rows'
statistics into the same `Preprocessing`: counts, means and variances merged chunk by chunk
(Chan et al.'s parallel update, in float64), minima and maxima, categories, classes and their
counts. The next pass (`StreamingDataset.spill`) transforms a chunk at a time and writes the rows
as float32 files (data/spill.py) that training, validation and evaluation read. A row's split
comes from a hash of its position in the file and the seed, so splits are stable without holding
the rows; they are not stratified.

What needs all the rows at once is refused under streaming (config.schema says which).
"""

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from mlpctl.config import RunConfig
from mlpctl.data.preprocessing import Preprocessing
from mlpctl.data.reading import (
    PARQUET,
    as_written,
    categorical_columns,
    check_numeric,
    count_warnings,
    csv_header,
    feature_columns,
    handle_missing,
    has_fractions,
    header_warnings,
    label_codes,
    ordered_classes,
    plain_value,
    read_table,
    with_text,
)
from mlpctl.data.spill import SPILL_FOLDER, Spill, remove_spill, write_spill
from mlpctl.data.splits import check_sample_weights, class_weights, row_weights
from mlpctl.errors import DataError

CHUNK_ROWS = 100_000
SAMPLE_ROWS = 10_000  # rows per split kept in memory for the plots
SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}


def chunks(path: Path, rows: int | None = None, names: list[str] | None = None, role: str = "data.path",
           text_columns: Sequence[str] = (), parquet: bool | None = None, labels: str | None = None):
    """The file's rows, `rows` at a time, each chunk's index their positions in the file;
    `names`: the columns of a CSV file without a header line; `role`: what errors name the
    file as (data.path, --input); `text_columns`: CSV columns kept as the text the file has
    (`as_written`); `parquet`: the format, where not from the file's name; `labels`: a
    classification target, its labels as written (`labels_as_written`, over the whole file)."""
    rows = rows or CHUNK_ROWS
    if not path.is_file():
        if role != "data.path":
            raise DataError(f"{role}: file not found: {path}")
        read_table(path)  # its not-found message
    if path.suffix.lower() in PARQUET if parquet is None else parquet:
        yield from _parquet_chunks(path, rows, role)
        return
    try:
        as_text = [*text_columns, *([labels] if labels else [])]
        texts = as_written(path, as_text, chunksize=rows, **csv_header(names)) if as_text else None
        seen: dict = {}  # label -> the text it was first written as, over every chunk
        for frame in pd.read_csv(path, chunksize=rows, **csv_header(names)):
            frame.attrs["rows_are"] = "line"
            frame.attrs["first_line"] = 2 if names is None else 1
            yield frame if texts is None else with_text(frame, next(texts), labels, seen)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{role}: cannot read {path} as CSV: {error}") from None


def _parquet_chunks(path: Path, rows: int, role: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = 0
    try:
        # pre_buffer=False: pyarrow's pre-buffering otherwise keeps the whole file's column chunks (peak 440 MB
        # for a 240 MB file, 225 MB without)
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=rows):
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
    numeric: list[str]  # the features that are not categorical
    inputs: Moments
    target: Moments
    categories: dict[str, set] = field(default_factory=dict)
    labels: Counter = field(default_factory=Counter)  # every row's label, classification
    train_labels: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    fractional: bool = False
    warnings: list[str] = field(default_factory=list)


def scan(config: RunConfig) -> Scan:
    """Pass one: every row checked as `train` checks it, the training rows' statistics."""
    data = config.data
    targets = data.targets
    weight_column = [data.sample_weight] if data.sample_weight else []
    found = None
    for frame in chunks(data.file, names=data.names, labels=config.label_column):
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
        codes = split_codes(frame.index.to_numpy(), data.split_seed, data.validation_split, data.test_split)
        train = frame[codes == 0]
        for split, code in SPLIT_CODES.items():
            found.rows[split] += int((codes == code).sum())
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
    """A Dataset whose rows stay in the file until `spill` writes them, transformed, for the
    engine to read (data/spill.py). `x` and `y` hold the first SAMPLE_ROWS rows of each split,
    for the plots."""

    config: RunConfig
    preprocessing: Preprocessing
    rows: dict[str, int]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    warnings: list[str]
    class_weight: np.ndarray | None
    limit: int | None = None  # --smoke: at most this many rows of each split
    source: tuple[int, int] | None = None  # the file's `stamp` when pass one read it
    spilled: Spill | None = None
    source_rows: ClassVar[dict] = {}  # not recorded: a streamed run's split hashes each row's number (split_codes)
    weights = None  # per-row weights are made chunk by chunk
    streaming = True

    @property
    def weighted(self) -> bool:
        return bool(self.config.data.sample_weight) or self.class_weight is not None

    def batches(self, split: str, batch: int | None):
        """(x, y) of one pass over the split in the file's order, `batch` rows at a time
        (None: a chunk's rows of the split at a time)."""
        for _, frame in self._frames((split,)):
            x, y, _ = self._arrays(frame)
            size = batch or len(x)
            for start in range(0, len(x), size):
                yield x[start:start + size], y[start:start + size]

    def spill(self, folder: Path, batch: int) -> Spill:
        """One more pass over the file: every split's rows, transformed, into float32 files
        under `folder`, of a whole number of training batches (`batch` rows) near CHUNK_ROWS rows,
        so that only a file's last batch can be short."""
        file_rows = batch * max(1, round(CHUNK_ROWS / batch))
        parts = ((split, *self._arrays(frame)) for split, frame in self._frames(tuple(self.rows)))
        outputs = 1 if self.config.scenario == "multiclass" else self.preprocessing.n_outputs(self.config.scenario)
        self.spilled = write_spill(parts, folder, self.preprocessing.n_inputs, outputs, self.weighted, self.rows,
                                   file_rows)
        return self.spilled

    def _frames(self, splits: tuple[str, ...]):
        """(split, rows of that split) for each chunk of the file, in its order; --smoke's
        limit counted per split."""
        left = dict.fromkeys(splits, self.limit)
        self.check_unchanged()
        yield from self._passed_frames(splits, left)
        self.check_unchanged()  # a pass read to its end: the file must not have changed while it read

    def check_unchanged(self) -> None:
        """Every pass reads the rows pass one checked, or the run stops with a data error: a file
        rewritten meanwhile was a ValueError deep in a pass (exit 1), or, worse, other rows."""
        if self.source is not None and stamp(self.config.data.file) != self.source:
            raise changed_while_read(self.config.data.file)

    def _passed_frames(self, splits: tuple[str, ...], left: dict):
        config = self.config
        for frame in chunks(config.data.file, names=config.data.names, labels=config.label_column):
            if self.limit is not None and all((left[split] or 0) <= 0 for split in splits):
                return
            frame = handle_missing(frame, self.preprocessing.features,
                                   self.preprocessing.targets + _weight_column(config), config.data.missing,
                                   allow_empty=True)
            codes = split_codes(frame.index.to_numpy(), config.data.split_seed, config.data.validation_split,
                                config.data.test_split)
            for split in splits:
                part = frame[codes == SPLIT_CODES[split]]
                limit = left[split]
                if limit is not None:
                    part = part.iloc[:max(limit, 0)]
                    left[split] = limit - len(part)
                if not part.empty:
                    yield split, part

    def _arrays(self, frame: pd.DataFrame):
        prep, config = self.preprocessing, self.config
        x = prep.transform(frame)
        if prep.classes is None:
            y = frame[prep.targets].to_numpy(dtype=np.float32)
        else:
            y = label_codes(frame[prep.targets[0]], prep.classes, config.scenario)
        return x, y, row_weights(config, frame, y, self.class_weight)


@contextlib.contextmanager
def spilled(dataset, run_dir: Path):
    """A streamed dataset's rows spilled into the run directory (SPILL_FOLDER) while inside,
    removed after however the block ends; a dataset in memory is left as it is."""
    if not getattr(dataset, "streaming", False):
        yield
        return
    folder = run_dir / SPILL_FOLDER
    try:
        dataset.spill(folder, dataset.config.training.batch_rows(dataset.rows["train"]))
        yield
    finally:
        remove_spill(folder)


def _weight_column(config: RunConfig) -> list[str]:
    return [config.data.sample_weight] if config.data.sample_weight else []


def load_streaming(config: RunConfig, max_rows: int | None = None) -> StreamingDataset:
    """Pass one over the file, then a dataset that reads it again for each pass; `max_rows`
    (--smoke): every row is still checked, and each pass reads at most that many per split."""
    before = stamp(config.data.file)  # every later pass checks the file against it (check_unchanged)
    found = scan(config)
    prep, warnings = preprocessing_of(config, found)
    weight = None
    if config.training.class_weight is not None:
        assert prep.classes is not None, "class weights are for classification (the config checks it)"
        codes = np.concatenate([np.full(count, prep.classes.index(plain_value(label)))
                                for label, count in found.train_labels.items()]) \
            if found.train_labels else np.zeros(0, int)
        weight = class_weights(config.training.class_weight, codes, prep.classes)
    rows = {split: min(found.rows[split], max_rows or found.rows[split]) for split in SPLIT_CODES if found.rows[split]}
    dataset = StreamingDataset(config, prep, rows, {}, {}, warnings, weight, max_rows, before)
    for split in dataset.rows:  # the plots' rows: the first SAMPLE_ROWS of each split
        dataset.x[split], dataset.y[split] = first_rows(dataset.batches(split, SAMPLE_ROWS), SAMPLE_ROWS)
    return dataset


def stamp(path: Path) -> tuple[int, int]:
    """What tells that a file changed without reading it again: its size and modification time."""
    try:
        info = path.stat()
    except OSError as error:
        raise DataError(f"data.path: {path} cannot be read any more ({error.strerror})") from None
    return info.st_size, info.st_mtime_ns


def changed_while_read(path: Path) -> DataError:
    """The data error for a streamed file that changed between the passes of a run."""
    return DataError(f"data.path: {path} changed while the run was reading it (its size or time is not what the "
                     f"first pass read); a streamed file must stay as it is until the run ends")


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
