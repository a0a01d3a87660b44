"""Reading a table and checking it fits the config before anything trains: columns, missing
cells, text in numeric columns, labels that fit the scenario. Every problem is a DataError that
names the column."""

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl.config.suggest import did_you_mean
from mlpctl.errors import DataError

PARQUET = (".parquet", ".pq")


def read_table(path: Path, names: list[str] | None = None, labels: str | None = None) -> pd.DataFrame:
    """A CSV file, or Parquet (by its suffix). The frame's index is each row's position in the
    file, kept through every check, so that messages name the file's own line (`where`).
    `names`: the columns of a CSV file without a header line; `labels`: a classification
    target, its labels read as the CSV writes them (`labels_as_written`)."""
    if not path.is_file():
        raise DataError(f"data.path: file not found: {path} (a relative data.path is relative to the "
                        f"config file's folder, also when given with --set)")
    parquet = path.suffix.lower() in PARQUET
    try:
        with warnings.catch_warnings():  # fewer names than fields: pandas would drop the rest, with a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_parquet(path) if parquet else pd.read_csv(path, **csv_header(names))
    except pd.errors.ParserWarning:
        raise DataError(f"data.names: {len(names or [])} names, but the lines of {path} have more fields") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"data.path: cannot read {path} as CSV: {exc}") from None
    except (OSError, ValueError) as exc:  # pyarrow's errors for a file that is not Parquet
        raise DataError(f"data.path: cannot read {path} as Parquet: {str(exc)[:200]}") from None
    if frame.empty:
        raise DataError(f"data.path: {path} has no data rows")
    check_names(frame, names, path)
    if labels is not None and labels in frame.columns and not parquet:
        frame = with_text(frame, as_written(path, [labels], **csv_header(names)), labels)
    frame = frame.reset_index(drop=True)
    frame.attrs["rows_are"] = "row" if parquet else "line"
    frame.attrs["first_line"] = 2 if names is None else 1  # the line of the first row of data
    return frame


def as_written(source, columns: list[str], **read_csv):
    """`columns` of a CSV source as the text its cells hold: no type guessing (`00042` stays
    `00042`, a 17-digit id is not rounded through a float) and no missing-value guessing (`NA`
    stays `NA`, an empty cell stays empty). Columns the source lacks are left out."""
    wanted = set(columns)
    return pd.read_csv(source, usecols=lambda column: column in wanted, dtype=str, na_filter=False, **read_csv)


def with_text(frame: pd.DataFrame, text: pd.DataFrame, labels: str | None = None, seen: dict | None = None):
    """`frame` with its columns that `text` has (the same rows) replaced by their text; the
    `labels` column by its labels as written (`labels_as_written`, `seen` across calls)."""
    for column in text.columns:
        if column == labels:
            frame[column] = labels_as_written(frame[column], text[column], {} if seen is None else seen)
        else:
            frame[column] = text[column].to_numpy()
    return frame


def plain_label(text: str):
    """A class label as its text says: a number where the text is exactly how Python writes
    that number (`7`, `-2`, `1.5`), else the text itself (`007`, `1e3`, `1.50`, `yes`)."""
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        if (str(number) if kind is int else repr(number)) == text and math.isfinite(number):
            return number
    return text


def number_or_text(text: str):
    """The number a label's text reads as, if any (`01` -> 1.0), else the text: what two
    labels written two ways have in common."""
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def labels_as_written(column: pd.Series, text: pd.Series, seen: dict) -> pd.Series:
    """A classification target's labels from its cells' text (`plain_label`), so that `007`
    stays a label of its own, not 7; cells pandas read as missing stay missing. `seen` (label ->
    the text it was first written as) is kept across calls: two ways of writing one number
    (`1`, `01`, `1.0`) would merge two classes without a word, and are a DataError."""
    missing = column.isna().to_numpy()
    mapping = {}
    for written in pd.unique(text.to_numpy()[~missing]):
        label = plain_label(written)
        first = seen.setdefault(number_or_text(written), written)
        if first != written:
            raise DataError(f"column {column.name!r}: labels {first!r} and {written!r} are one number written "
                            f"two ways, which would merge two classes; write each label one way")
        mapping[written] = label
    values = np.array([mapping.get(written) for written in text.to_numpy()], dtype=object)
    values[missing] = np.nan
    return pd.Series(values, index=column.index, name=column.name).infer_objects()


def csv_header(names: list[str] | None) -> dict:
    """pandas' read_csv arguments for a file with a header line, or without one (`names`);
    `index_col=False`: a line with more fields than names is an error, not an index."""
    return {} if names is None else {"header": None, "names": names, "index_col": False}


def check_names(frame: pd.DataFrame, names: list[str] | None, path: Path) -> None:
    """data.names against the file's fields: as many names as fields, none repeated."""
    if names is not None and frame.iloc[:, -1].isna().all() and len(frame.columns) > 1:
        raise DataError(f"data.names: {len(names)} names, but {path} has fewer columns")


def header_warnings(frame: pd.DataFrame) -> list[str]:
    """A header line whose every field is a number was probably the first row of data."""
    if frame.attrs.get("first_line", 2) != 2 or frame.attrs.get("rows_are") == "row":
        return []
    names = [str(column) for column in frame.columns]
    if all(_is_number(name) for name in names):
        return [f"data.path: the header line ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}) is all "
                f"numbers: if the file has no header, set data.header: false and data.names"]
    return []


def _is_number(text: str) -> bool:
    try:
        float(text.split(".")[0] if text.count(".") > 1 else text)  # pandas renames a repeated 0.5 to 0.5.1
    except ValueError:
        return False
    return True


def where(frame: pd.DataFrame, position: int) -> str:
    """`line 902` of a CSV file (the header is line 1), or `row 901` of a Parquet file."""
    label = int(frame.index[position])
    if frame.attrs.get("rows_are") == "row":
        return f"row {label + 1}"
    return f"line {label + frame.attrs.get('first_line', 2)}"


def feature_columns(frame: pd.DataFrame, targets: list[str], features: list[str] | None):
    """The input columns: data.features as given (each checked to exist), else every column but the targets."""
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


def categorical_columns(frame: pd.DataFrame, features: list[str], listed: list[str] | None) -> list[str]:
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


def handle_missing(frame: pd.DataFrame, features: list[str], others: list[str], strategy: str,
                   allow_empty: bool = False) -> pd.DataFrame:
    """drop: rows with an empty cell go; otherwise targets (and weights) must be complete, and
    features too unless a fill strategy fills them later from the training rows. `allow_empty`:
    a part of the file (a chunk) may lose all its rows."""
    if strategy == "drop":
        kept = frame.dropna(subset=features + others)  # the index still names each row's line
        if kept.empty and not allow_empty:
            raise DataError("data.missing: drop leaves no rows: every row has an empty cell")
        return kept
    _check_complete(frame, others, hint="; use data.missing: drop to drop those rows")
    if strategy == "error":
        _check_complete(frame, features, hint="; fill or drop them, or set data.missing "
                        "(mean, median, most_frequent or drop)")
    return frame


def _check_complete(frame: pd.DataFrame, columns: list[str], hint: str) -> None:
    """Every column with empty cells, in one line: a user fixes them all at once."""
    found = []
    for column in columns:
        missing = frame[column].isna()
        if missing.any():
            first = int(np.flatnonzero(missing.to_numpy())[0])
            found.append(f"column {column!r}: {int(missing.sum())} missing value(s) (NaN or empty), "
                         f"first at {where(frame, first)}")
    if found:
        raise DataError("; ".join(found) + hint)


def check_not_timestamps(frame: pd.DataFrame, column: str) -> None:
    """The one rule of every reader (train, validate, init, predict, evaluate): a boolean column
    is a 0/1 feature; a timestamp column is not a number (pandas would give nanoseconds since
    1970), and is refused."""
    if pd.api.types.is_datetime64_any_dtype(frame[column]) or isinstance(frame[column].dtype, pd.PeriodDtype):
        raise DataError(f"column {column!r}: {frame[column].dtype} values are timestamps, not numbers; give them "
                        f"as numbers (a year, days since a date), or leave the column out")


def check_numeric(frame: pd.DataFrame, features: list[str], role: str = "feature columns") -> None:
    """Numbers only (`role` names the columns in the message), within float32's range; a
    boolean column counts as 0/1 (`check_not_timestamps`)."""
    for column in features:
        check_not_timestamps(frame, column)
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"column {column!r}: {int(bad.sum())} non-numeric value(s), first "
                f"{frame[column].iloc[first]!r} at {where(frame, first)}; {role} must be numbers"
            )
        check_float32(column, values.to_numpy(dtype=np.float64))


FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32(column: str, values: np.ndarray) -> None:
    """The model computes in float32: an infinite value, or one beyond float32's range (which
    would become infinite), is an error. Empty cells (NaN) are data.missing's."""
    if np.isinf(values).any():
        raise DataError(f"column {column!r}: contains infinite values")
    if (np.abs(np.nan_to_num(values)) > FLOAT32_MAX).any():
        raise DataError(f"column {column!r}: values beyond float32's range (±{FLOAT32_MAX:.3g}), "
                        f"which the model computes in; rescale the column")


def encode_targets(target: pd.DataFrame, scenario: str, positive=None) -> tuple[np.ndarray, list | None]:
    """Labels as the loss wants them, and the original class labels (None for regression).
    Classes are sorted; for binary, `positive` (data.positive_class) goes second, as class 1."""
    if scenario == "regression":
        check_numeric(target, list(target.columns), role="the target of a regression")
        return target.to_numpy(dtype=np.float32), None
    column = target.iloc[:, 0]
    classes = ordered_classes(column.name, pd.unique(column), scenario, positive, len(column), has_fractions(column))
    return label_codes(column, classes, scenario), classes


def ordered_classes(name, labels, scenario: str, positive, rows: int, fractional: bool) -> list:
    """The distinct `labels` of a classification target, checked against the scenario and
    sorted (for binary, `positive` second), as plain values. `rows`: how many rows have them;
    `fractional`: whether any label is a number with a fraction."""
    classes = sorted(labels, key=_label_sort_key)
    infinite = [label for label in classes if isinstance(label, (float, np.floating)) and np.isinf(label)]
    if infinite:  # a class must be written to preprocessing.json, and JSON has no infinity
        raise DataError(f"column {name!r}: label {plain_value(infinite[0])!r} is not a finite number")
    if scenario == "binary" and len(classes) != 2:
        shown = ", ".join(map(repr, classes[:5])) + (", ..." if len(classes) > 5 else "")
        raise DataError(
            f"column {name!r}: binary scenario needs exactly 2 distinct labels, found "
            f"{len(classes)} ({shown}); use scenario multiclass or regression"
        )
    if scenario == "multiclass":
        check_class_counts(name, classes, rows, fractional)
    if scenario == "binary" and positive is not None:
        classes = _positive_second(name, classes, positive)
    return [plain_value(label) for label in classes]


def label_codes(column: pd.Series, classes: list, scenario: str) -> np.ndarray:
    """Each row's class index as the loss wants it: a float column for binary, integers else."""
    codes = pd.Categorical(column, categories=classes).codes.astype(np.int32)
    return codes.astype(np.float32).reshape(-1, 1) if scenario == "binary" else codes


def has_fractions(column: pd.Series) -> bool:
    """Whether a label column holds numbers with a fraction (no class labels, those), also
    among text labels (`0.143` beside `1.000`, which is text as written)."""
    if pd.api.types.is_float_dtype(column):
        return not np.all(np.mod(column.dropna(), 1) == 0)
    return column.dtype == object and any(isinstance(v, float) and not v.is_integer() for v in column.dropna())


def _positive_second(name, classes: list, positive) -> list:
    """The two labels with data.positive_class second. A label matches by value or as written
    (`positive_class: 1` matches 1 and 1.0; `yes` matches 'yes')."""
    def same(label) -> bool:
        value = plain_value(label)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, positive))
        return (numbers and value == positive) or str(value) == str(positive)

    matches = [label for label in classes if same(label)]
    if len(matches) != 1:
        raise DataError(f"data.positive_class: {positive!r} is not one of column {name!r}'s labels "
                        f"({', '.join(repr(plain_value(label)) for label in classes)})")
    return [label for label in classes if label is not matches[0]] + matches


def check_class_counts(name, classes: list, rows: int, fractional: bool) -> None:
    """What makes a column unusable as multiclass labels."""
    if len(classes) < 2:
        raise DataError(f"column {name!r}: multiclass needs at least 2 labels, found 1")
    if fractional:
        raise DataError(
            f"column {name!r}: has fractional values, which are not class labels; "
            f"is this a regression target?"
        )
    if len(classes) > max(100, rows // 2):
        raise DataError(
            f"column {name!r}: {len(classes)} distinct labels in {rows} rows "
            f"looks like a regression target, not classes"
        )


MANY_LABELS = 0.10  # share of distinct labels in the rows above which classes look like numbers


def too_many_classes(distinct: int, rows: int) -> bool:
    """More distinct labels than a classification target usually has for its rows (more than
    3, and more than 10% of the rows): `init` calls such numbers a regression target, `train`
    warns."""
    return distinct > 3 and distinct > MANY_LABELS * rows


def label_warnings(column: pd.Series, scenario: str) -> list[str]:
    """Classification labels that train, but probably not as meant: one line each."""
    if scenario == "regression":
        return []
    return count_warnings(column.name, column.value_counts(sort=False))


def count_warnings(name, counts: pd.Series) -> list[str]:
    """`label_warnings` from the labels' counts (label -> rows)."""
    rows = int(counts.sum())
    found = []
    if too_many_classes(len(counts), rows):
        found.append(f"column {name!r}: {len(counts)} distinct labels in {rows} rows "
                     f"({len(counts) / rows:.0%}) make {len(counts)} classes; is it a regression target?")
    single = sorted((label for label, count in counts.items() if count == 1), key=_label_sort_key)
    if single:
        shown = ", ".join(map(repr, map(plain_value, single[:5]))) + (", ..." if len(single) > 5 else "")
        found.append(f"column {name!r}: {len(single)} class(es) with a single row ({shown}): "
                     f"never both trained on and tested")
    return found


def _label_sort_key(label) -> tuple:
    return (isinstance(label, str), label)


def plain_value(label):
    """numpy scalars -> Python values, so the mapping serialises to JSON."""
    return label.item() if hasattr(label, "item") else label
