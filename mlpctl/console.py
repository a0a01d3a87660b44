"""Human-facing output, all on stderr: progress while training, the final table, errors.

A terminal gets a Rich progress bar; anything else (CI logs, shell loops) plain lines, at most
one every two seconds. Rich honours NO_COLOR by itself. Draws what it is handed and imports no other stage:
TensorFlow-free, like everything the CLI loads early.
"""

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Column, Table

from mlpctl.progress import Progress

SHOWN_IN_PROGRESS = 4  # logged quantities shown next to the bar


UNWRAPPED = 10_000  # columns for output that is not a terminal: a log or a file wraps nothing


def make_console() -> Console:
    """stderr; on a terminal as wide as it is, elsewhere (a CI log, a file, a pipe) as wide as
    each line needs, so that tables are not wrapped at 80 columns and words are not split."""
    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        console.width = UNWRAPPED
    return console


def format_logs(logs: dict[str, float], limit: int | None = None) -> str:
    items = [(key, value) for key, value in logs.items() if key != "epoch"][:limit]
    return "  ".join(f"{key}={value:.4g}" for key, value in items)


class PlainProgress(Progress):
    """Plain lines for output that is not a terminal (a CI log, a file, a shell loop): the first
    epoch, then at most one line every LINE_SECONDS, and the last epoch, so a log stays short
    however many epochs a run has."""

    LINE_SECONDS = 2.0

    def __init__(self, console: Console, clock=time.monotonic):
        self.console, self.clock = console, clock
        self.epochs, self.last_shown, self.pending = 0, None, None

    def start(self, epochs: int) -> None:
        self.epochs, self.last_shown, self.pending = epochs, None, None

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        now = self.clock()
        if self.last_shown is None or now - self.last_shown >= self.LINE_SECONDS or epoch == self.epochs:
            self._show(epoch, logs)
            self.last_shown, self.pending = now, None
        else:
            self.pending = (epoch, logs)

    def finish(self) -> None:
        if self.pending:  # the last epoch run, when training stopped before `epochs`
            self._show(*self.pending)
            self.pending = None

    def _show(self, epoch: int, logs: dict[str, float]) -> None:
        self.console.print(f"epoch {epoch}/{self.epochs}  {format_logs(logs)}", soft_wrap=True)


class BarProgress(Progress):
    """A live bar with the latest loss and metrics, for a terminal."""

    def __init__(self, console: Console):
        fixed = Column(no_wrap=True)  # the bar, count and time keep their width; the logs give way
        self.bar = RichProgress(
            TextColumn("[bold]training", table_column=fixed),
            BarColumn(bar_width=24, table_column=fixed),
            MofNCompleteColumn(table_column=fixed),
            TimeElapsedColumn(table_column=fixed),
            TextColumn("{task.fields[logs]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            console=console,
            transient=False,
            expand=True,
        )
        self.task = None

    def start(self, epochs: int) -> None:
        self.task = self.bar.add_task("train", total=epochs, logs="")
        self.bar.start()

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self.bar.update(self.task, completed=epoch, logs=format_logs(logs, SHOWN_IN_PROGRESS))

    def finish(self) -> None:
        self.bar.stop()


def make_progress(console: Console, quiet: bool) -> Progress:
    if quiet:
        return Progress()
    return BarProgress(console) if console.is_terminal else PlainProgress(console)


def metrics_table(metrics: dict[str, dict[str, float | None]]) -> Table:
    names = list(dict.fromkeys(name for split in metrics.values() for name in split))
    table = Table(title="final metrics")
    table.add_column("split")
    for name in names:
        table.add_column(name, justify="right")
    for split, values in metrics.items():
        cells = [_cell(values.get(name)) for name in names]
        table.add_row(split, *cells)
    return table


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def sweep_table(document: dict, trials: list, limit: int = 30) -> Table:
    """`trials` (sweep rows, best first by the sweep's metric) as a table."""
    metric, grid = document["metric"], list(document["plan"]["grid"])
    table = Table(title=f"sweep: by {metric} ({'lower' if document['mode'] == 'min' else 'higher'} is better)")
    for column in ("rank", "trial", *grid, "seed", "status", metric, "seconds"):
        table.add_column(column, justify="right" if column in ("rank", "trial", metric, "seconds") else "left")
    for rank, row in enumerate(trials[:limit], start=1):
        table.add_row(str(rank), str(row.trial), *[str(row.point.get(key)) for key in grid],
                      "-" if row.seed is None else str(row.seed), row.status, _cell(row.value(metric)),
                      "-" if row.duration_s is None else f"{row.duration_s:.1f}")
    return table


def points_table(document: dict) -> Table:
    """One row per grid point: the metric's mean and spread over the seeds."""
    table = Table(title=f"per grid point, over seeds: {document['metric']}")
    for column in (*document["plan"]["grid"], "completed", "mean", "std"):
        table.add_column(column, justify="right" if column in ("completed", "mean", "std") else "left")
    for point in document["points"]:
        table.add_row(*[str(point["point"].get(key)) for key in document["plan"]["grid"]],
                      f"{point['completed']}/{len(point['seeds'])}", _cell(point["mean"]), _cell(point["std"]))
    return table
