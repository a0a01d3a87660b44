"""`mlpctl predict`: a trained run's answers for new rows (and what `evaluate` shares with it).

Both load the run the same way and apply exactly what training applied: the saved feature
order, normalization and label mapping (`Preprocessing`), and the scoring of `scoring.py`.
TensorFlow is started only when the run's model is opened.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl import runtime, signals
from mlpctl.data import Preprocessing, plain_value
from mlpctl.data.reading import as_written, check_float32, check_not_timestamps, check_numeric, with_text
from mlpctl.data.streaming import chunks
from mlpctl.errors import ConfigError, DataError
from mlpctl.files import (
    atomic_write,
    replace_atomically,
    write_stdout,
)
from mlpctl.rundir.reader import TrainedRun, load_run
from mlpctl.scoring import labels_from_scores, probabilities, scores


def check_columns(frame: pd.DataFrame, run: TrainedRun, keep: list[str], require_targets: bool) -> None:
    """Missing features (or targets), unexpected columns and text in feature columns are errors
    that name the columns; the run's target (and sample weight) columns may be present and are
    then not used."""
    prep = run.preprocessing
    columns = [str(c) for c in frame.columns]
    needed = prep.features + (prep.targets if require_targets else [])
    missing = [c for c in needed + keep if c not in columns]
    if missing:
        raise DataError(f"missing column(s): {', '.join(missing)} (the run needs {', '.join(needed)})")
    known = prep.features + prep.targets + keep + [run.config.data.sample_weight]
    unexpected = [c for c in columns if c not in known]
    if unexpected and not require_targets:
        keeps = " ".join(f"--keep {column}" for column in unexpected)
        raise DataError(f"unexpected column(s): {', '.join(unexpected)}; keep them in the output with "
                        f"{keeps}, or drop them")
    for column in prep.numeric:
        check_not_timestamps(frame, column)
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & (frame[column].notna() if prep.fill is not None else True)
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            row = frame.index[first] + 1 if isinstance(frame.index, pd.RangeIndex) else first + 1  # in the file
            raise DataError(f"column {column!r}: {int(bad.sum())} missing or non-numeric value(s), "
                            f"first {frame[column].iloc[first]!r} at row {row}")
        check_float32(column, values.to_numpy(dtype=np.float64))


def encode_known_labels(frame: pd.DataFrame, run: TrainedRun) -> np.ndarray:
    """Labels of labelled data in the run's own encoding; an unseen label is an error."""
    if run.classes is None:
        targets = run.preprocessing.targets
        check_numeric(frame, targets, role="the target of a regression")
        empty = [column for column in targets if frame[column].isna().any()]
        if empty:
            raise DataError(f"column {empty[0]!r}: {int(frame[empty[0]].isna().sum())} empty target value(s)")
        return frame[targets].to_numpy(dtype=np.float32)
    column = frame[run.preprocessing.targets[0]]
    known = {label: index for index, label in enumerate(run.classes)}
    unknown = sorted({str(v) for v in column if plain_value(v) not in known})
    if unknown:
        raise DataError(f"column {column.name!r}: label(s) the run never saw: {', '.join(unknown[:5])} "
                        f"(it knows {', '.join(map(str, run.classes))})")
    codes = np.array([known[plain_value(v)] for v in column], dtype=np.int32)
    return codes.astype(np.float32).reshape(-1, 1) if run.config.scenario == "binary" else codes


FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(name: str, fmt: str | None, option: str) -> str:
    """The format of an input or output: its file name's, where the name says (`.csv`,
    `.parquet`, `.pq`), else `--format`, else CSV. A `--format` that contradicts the name is a
    ConfigError (it wrote Parquet bytes into `preds.csv`)."""
    named = FORMATS.get(Path(name).suffix.lower()) if name != "-" else None
    if named and fmt and fmt != named:
        raise ConfigError(f"--format {fmt}: {option} {name} is named as a {named} file; "
                          f"drop --format or rename the file")
    return named or fmt or "csv"


def check_formats(source: str, destination: str, fmt: str | None) -> None:
    """Both names agree with --format (`file_format`), before any work."""
    file_format(source, fmt, "--input")
    file_format(destination, fmt, "--output")


def check_input(source: str) -> None:
    """A missing input file is an error before the run's model is opened (TensorFlow's start)."""
    if source != "-" and not Path(source).is_file():
        raise DataError(f"--input: file not found: {source}")


def read_input(source: str, fmt: str | None = None, text_columns: Sequence[str] = (),
               labels: str | None = None) -> pd.DataFrame:
    """A CSV or Parquet file, or '-' for CSV (or --format parquet) on stdin; `text_columns`
    of a CSV as the text they hold (`as_written`), and the `labels` column's labels as written
    (`labels_as_written`), as training read them."""
    import io
    import sys

    fmt = file_format(source, fmt, "--input")
    try:
        if source != "-" and not Path(source).is_file():
            raise DataError(f"--input: file not found: {source}")
        if fmt == "parquet":
            return pd.read_parquet(sys.stdin.buffer if source == "-" else source)
        piped = io.StringIO(sys.stdin.read()) if source == "-" else None
        frame = pd.read_csv(piped if piped is not None else source)
        as_text = [*text_columns, *([labels] if labels else [])]
        if not as_text:
            return frame
        if piped is not None:
            piped.seek(0)
        return with_text(frame, as_written(piped if piped is not None else source, as_text), labels)
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - any reader failure is the input's problem
        raise DataError(f"--input: cannot read {source} as {fmt}: {error}") from None


def open_run(run_dir: Path, verbose: bool = False) -> TrainedRun:
    """The run with its network rebuilt from its own config.yaml and preprocessing.json and
    only the weights read from model.keras (`model.saved`): nothing a run directory's files
    name is imported or run, and the model is not compiled (predicting needs no loss)."""
    with signals.polled():  # a stop is taken after TensorFlow's start and the model's load, not inside them
        runtime.start_tensorflow(verbose)
        from mlpctl.model.saved import rebuild_trained
        from mlpctl.training.engines import dense_weights

        run = load_run(run_dir, lambda path, config, prep: rebuild_trained(path, config, prep,
                                                                            dense_weights(config, prep)))
    signals.check()
    return run


def predict_frame(run: TrainedRun, frame: pd.DataFrame, keep: list[str], proba: bool) -> pd.DataFrame:
    """The kept columns, then `prediction` (original class labels, or values), then with
    `proba` one `proba_<class>` column per class."""
    check_columns(frame, run, keep, require_targets=False)
    made = output_columns(run, proba)
    clash = [column for column in keep if column in made]
    if clash:
        raise ConfigError(f"--keep {clash[0]}: the output has a {clash[0]!r} column of its own")
    output = scores(run.model, run.preprocessing.transform(frame))
    result = frame[keep].copy() if keep else pd.DataFrame(index=frame.index)
    if run.classes is None:
        targets = run.preprocessing.targets
        names = ["prediction"] if len(targets) == 1 else [f"prediction_{t}" for t in targets]
        for index, name in enumerate(names):
            result[name] = output[:, index]
        return result
    labels = np.empty(len(run.classes), dtype=object)
    labels[:] = run.classes  # the original labels, as Python values: 1, 'yes', True
    result["prediction"] = pd.Series(labels[labels_from_scores(output)], index=result.index).infer_objects()
    if proba:
        for index, label in enumerate(run.classes):
            result[f"proba_{label}"] = probabilities(output)[:, index]
    return result


def unseen_categories(frame: pd.DataFrame, prep: Preprocessing, seen: dict | None = None) -> dict[str, list]:
    """Per categorical column, the values the training rows never had (they are encoded as all
    zeros, which the model has seen only for an empty cell): [count, first], added to `seen`."""
    seen = {} if seen is None else seen
    for column, values in (prep.categories or {}).items():
        texts = frame[column].dropna().astype(str)
        unseen = texts[~texts.isin(values)]
        if len(unseen):
            count, first = seen.get(column, [0, unseen.iloc[0]])
            seen[column] = [count + len(unseen), first]
    return seen


def unseen_warnings(seen: dict[str, list]) -> list[str]:
    """One warning per categorical column that met values training never saw."""
    return [f"column {column!r}: {count} value(s) the run never saw (first {first!r}), encoded as all zeros"
            for column, (count, first) in seen.items()]


def predict_file(run: TrainedRun, source: str, destination: str, keep: list[str], proba: bool,
                 fmt: str | None = None) -> tuple[int, list[str]]:
    """Predictions for every row of `source` into `destination`: (rows, warnings). A file
    (its format from its name) is read CHUNK_ROWS rows at a time and a file is written as it
    goes (to a temporary name, renamed at the end), so memory does not grow with the rows;
    '-' (stdin, stdout) is read or written whole. A bad row anywhere stops it with nothing written."""
    if destination != "-" and not Path(destination).resolve().parent.is_dir():
        raise ConfigError(f"--output: folder {Path(destination).parent} does not exist")
    check_formats(source, destination, fmt)
    if source == "-":
        frame = read_input(source, fmt, keep)
        write_output(predict_frame(run, frame, keep, proba), destination, fmt)
        return len(frame), unseen_warnings(unseen_categories(frame, run.preprocessing))
    seen: dict[str, list] = {}
    rows = 0

    def predictions():
        nonlocal rows
        for frame in chunks(Path(source), role="--input", text_columns=keep,
                            parquet=file_format(source, fmt, "--input") == "parquet"):
            rows += len(frame)
            unseen_categories(frame, run.preprocessing, seen)
            yield predict_frame(run, frame, keep, proba)
        if rows == 0:  # a header and no rows: the output's header alone
            yield predict_frame(run, read_input(source, fmt, keep), keep, proba)

    if destination == "-":
        write_output(pd.concat(list(predictions())), destination, fmt)
    else:
        parquet = file_format(destination, fmt, "--output") == "parquet"
        replace_atomically(Path(destination), lambda path: write_parts(predictions(), path, parquet),
                           suffix=".tmp" + Path(destination).suffix)
    return rows, unseen_warnings(seen)


def write_parts(parts, path: Path, parquet: bool) -> None:
    """Frames one after another into one CSV or Parquet file; a file with the header alone
    where there are none."""
    writer, first = None, True
    with open(path, "wb") as handle:
        for part in parts:
            if parquet:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(part, preserve_index=False, schema=writer.schema if writer else None)
                writer = writer or pq.ParquetWriter(handle, table.schema)
                writer.write_table(table)
            else:
                handle.write(part.to_csv(index=False, header=first).encode("utf-8"))
            first = False
        if writer:
            writer.close()


def output_columns(run: TrainedRun, proba: bool) -> list[str]:
    """The columns `predict_frame` makes."""
    if run.classes is None:
        targets = run.preprocessing.targets
        return ["prediction"] if len(targets) == 1 else [f"prediction_{t}" for t in targets]
    return ["prediction", *([f"proba_{label}" for label in run.classes] if proba else [])]


def write_output(frame: pd.DataFrame, destination: str, fmt: str | None = None) -> None:
    """CSV or Parquet, to a file (atomically: all or nothing) or '-' for stdout."""

    fmt = file_format(destination, fmt, "--output")
    if fmt == "parquet":
        buffer = __import__("io").BytesIO()
        frame.to_parquet(buffer, index=False)
        data: str | bytes = buffer.getvalue()
    else:
        data = frame.to_csv(index=False)
    if destination == "-":
        write_stdout(data)
        return
    try:
        atomic_write(Path(destination), data)
    except FileNotFoundError:
        raise ConfigError(f"--output: folder {Path(destination).parent} does not exist") from None
