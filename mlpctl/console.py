"""Human-facing output, all on stderr: progress while training, the final table, errors.

A terminal gets a Rich progress bar with every logged value beside it; anything else (CI logs,
shell loops) plain lines at a bounded rate (`PlainProgress`). Rich honours NO_COLOR by itself.
Draws what it is handed and imports no other stage: TensorFlow-free, like everything the CLI
loads early.
"""

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Column, Table

from mlpctl.progress import Progress

SHORT_NAMES = {"accuracy": "acc", "learning_rate": "lr"}
UNWRAPPED = 10_000  # columns for output that is not a terminal: a log or a file wraps nothing


def make_console() -> Console:
    """stderr; on a terminal as wide as it is, elsewhere (a CI log, a file, a pipe) as wide as
    each line needs, so that tables are not wrapped at 80 columns and words are not split."""
    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        console.width = UNWRAPPED
    return console


def format_logs(logs: dict[str, float], skip: tuple[str, ...] = ()) -> str:
    """`loss=0.1234  accuracy=0.95  val_loss=...`: every logged value, as history.csv names it."""
    return "  ".join(f"{key}={value:.4g}" for key, value in logs.items() if key != "epoch" and key not in skip)


def format_short(logs: dict[str, float]) -> str:
    """`loss 0.123 val 0.145  acc 0.95 val 0.93  lr 0.01`: every logged value, abbreviated,
    each validation value beside its training one (for the line next to a progress bar)."""
    parts = []
    for key, value in logs.items():
        if key == "epoch" or key.startswith("val_"):
            continue
        part = f"{SHORT_NAMES.get(key, key)} {value:.4g}"
        if f"val_{key}" in logs:
            part += f" val {logs[f'val_{key}']:.4g}"
        parts.append(part)
    return "  ".join(parts)


class PlainProgress(Progress):
    """Plain lines for output that is not a terminal (a CI log, a file, a shell loop), so a log
    stays short however many epochs a run has: the first epoch, then at most one line every
    LINE_SECONDS, the epoch where the learning rate moved (by more than RATE_STEP since the
    last line), and the last epoch run, however training stopped. The learning rate is printed
    only when it differs from the last line's."""

    LINE_SECONDS = 2.0
    RATE_STEP = 1.2  # a ratio: a plateau's or a step schedule's cut always shows; a smooth decay now and then

    def __init__(self, console: Console, clock=time.monotonic):
        self.console, self.clock = console, clock
        self.start(0)

    def start(self, epochs: int) -> None:
        self.epochs = epochs
        self.last_shown: float | None = None
        self.pending: tuple[int, dict[str, float]] | None = None
        self.shown_rate: float | None = None

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        now = self.clock()
        due = self.last_shown is None or now - self.last_shown >= self.LINE_SECONDS or epoch == self.epochs
        if due or self._rate_moved(logs):
            self._show(epoch, logs)
            self.last_shown, self.pending = now, None
        else:
            self.pending = (epoch, logs)

    def finish(self) -> None:
        if self.pending:  # the last epoch run, when training stopped before `epochs`
            self._show(*self.pending)
            self.pending = None

    def _rate_moved(self, logs: dict[str, float]) -> bool:
        rate, shown = logs.get("learning_rate"), self.shown_rate
        if rate is None or shown is None or rate != rate or shown != shown:  # NaN: L-BFGS has none
            return False
        return max(rate, shown) > self.RATE_STEP * min(rate, shown)

    def _show(self, epoch: int, logs: dict[str, float]) -> None:
        rate = logs.get("learning_rate")
        same_rate = rate is not None and self.shown_rate is not None and (
            rate == self.shown_rate or (rate != rate and self.shown_rate != self.shown_rate))  # NaN twice
        self.shown_rate = rate
        text = format_logs(logs, skip=("learning_rate",) if same_rate else ())
        self.console.print(f"epoch {epoch}/{self.epochs}  {text}", soft_wrap=True)


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
        self.task: TaskID | None = None

    def start(self, epochs: int) -> None:
        self.task = self.bar.add_task("train", total=epochs, logs="")
        self.bar.start()

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        if self.task is None:
            return
        self.bar.update(self.task, completed=epoch, logs=format_short(logs))

    def finish(self) -> None:
        self.bar.stop()


def make_progress(console: Console, quiet: bool) -> Progress:
    """What a training run shows: nothing (quiet), a live bar on a terminal, else plain lines at a bounded rate."""
    if quiet:
        return Progress()
    return BarProgress(console) if console.is_terminal else PlainProgress(console)


def metrics_table(metrics: dict[str, dict[str, float | None]]) -> Table:
    """The final metrics, one row per split and one column per metric, for a person."""
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
