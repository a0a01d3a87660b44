"""history.csv: one row per epoch, appended while a run trains."""

import csv
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from mlpctl.errors import DataError
from mlpctl.files import JSON_BYTES, read_regular, unwritable
from mlpctl.progress import Progress
from mlpctl.scoring import with_data_loss


def history_csv(rows: list[dict[str, float]], columns: list[str] | None = None) -> str:
    """history.csv's text for `rows`, with `columns` (default: every key, in order)."""
    columns = columns or list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


HISTORY_FLUSH_SECONDS = 1.0  # history.csv is at most this far behind the training


class HistoryLog(Progress):
    """Passes every report on to `inner` and appends each epoch's row to history.csv, flushed
    at least every HISTORY_FLUSH_SECONDS, so a run that is killed keeps its epochs."""

    def __init__(self, path: Path, columns: list[str], inner: Progress, rows: Sequence[dict] = ()):
        self.path, self.columns, self.inner = path, ["epoch", *columns], inner
        self.rows = [with_data_loss(row) for row in rows]  # a resumed run's epochs so far
        self.handle: TextIO | None = None
        self.flushed = 0.0

    def start(self, epochs: int) -> None:
        try:
            self.handle = handle = open(self.path, "w", newline="", encoding="utf-8")
            handle.write(history_csv(self.rows, self.columns))
            handle.flush()
        except OSError as error:
            raise unwritable(self.path, error) from None
        self.inner.start(epochs)

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self.inner.epoch(epoch, logs)
        if self.handle is None:
            return
        logs = with_data_loss(logs)
        try:
            self.handle.write(",".join(str(logs[column]) for column in self.columns) + "\n")
            if time.monotonic() - self.flushed > HISTORY_FLUSH_SECONDS:
                self.handle.flush()
                self.flushed = time.monotonic()
        except OSError as error:
            raise unwritable(self.path, error) from None

    def finish(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass  # rewritten whole at the end of the run
            self.handle = None
        self.inner.finish()


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv's rows as numbers. A last row cut short (a run killed while writing it) is
    left out; any other row that is not numbers is a DataError naming the file and line."""
    if not path.exists():
        return []
    try:
        rows = list(csv.DictReader(io.StringIO(read_regular(path, JSON_BYTES).decode("utf-8"), newline="")))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot be read ({error})") from None
    history = []
    for line, row in enumerate(rows, start=2):
        try:
            history.append({key: float(value) for key, value in row.items()})
        except (TypeError, ValueError):
            if line == len(rows) + 1 and None in row.values():
                break  # cut short by a kill
            raise DataError(f"{path}: line {line} is not a row of numbers") from None
    return history
