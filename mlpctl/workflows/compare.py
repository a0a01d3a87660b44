"""`mlpctl compare`: what differs between runs, how they ended, how they learned.

Reads only run directories' own files (config.yaml, metrics.json, history.csv), so it needs
no TensorFlow and works on sweep directories too (their trials are ordinary runs).
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpctl import catalog
from mlpctl.config import flatten, format_value
from mlpctl.config.loading import read_yaml
from mlpctl.config.metric import check_split, default_metric
from mlpctl.errors import ConfigError, DataError
from mlpctl.figures import plots
from mlpctl.files import follow_latest, read_json
from mlpctl.rundir import reader, states
from mlpctl.rundir.layout import FILES, SWEEP_FILES


@dataclass
class RunFacts:
    """One run as compare reads it: its config (flattened), metrics.json and history."""
    run_dir: Path
    config: dict[str, Any]  # flattened: dotted key -> value
    metrics: dict  # metrics.json
    history: list[dict[str, float]]

    def value(self, metric: str) -> float | None:
        return catalog.metric_value(self.metrics.get("metrics", {}), metric)

    @property
    def epochs(self) -> int:
        """The epochs it did: a killed run's are its history's rows (`states.epochs_done`)."""
        return states.epochs_done(self.metrics, self.run_dir)


@dataclass
class Comparison:
    """The runs compared, the config keys that differ between them, and the metric they are judged by."""
    runs: list[RunFacts]
    differing: list[str]
    metric: str
    unreadable: list[str] = field(default_factory=list)  # one line per run left out: which file, why

    @property
    def mode(self) -> str:
        return catalog.mode_of(self.metric.partition(".")[2])

    def best(self) -> RunFacts | None:
        """The run with the best value of the metric (lower or higher by `catalog.mode_of`)."""
        scored = [run for run in self.runs if run.value(self.metric) is not None]
        pick = min if self.mode == "min" else max
        return pick(scored, key=lambda run: run.value(self.metric) or 0.0) if scored else None

    def document(self) -> dict:
        best = self.best()
        return {
            "metric": self.metric,
            "mode": self.mode,
            "best": str(best.run_dir) if best else None,
            "differing_keys": self.differing,
            "unreadable": self.unreadable,
            "runs": [{"run_dir": str(run.run_dir), "status": states.status_of(run.metrics),
                      "epochs_run": run.epochs,
                      "config": {key: run.config.get(key) for key in self.differing},
                      self.metric: run.value(self.metric), "metrics": run.metrics.get("metrics", {})}
                     for run in self.runs],
        }


def expand(paths: list[Path]) -> list[Path]:
    """Run directories as given, and every trial of a sweep directory, in order."""
    found = []
    for path in map(follow_latest, paths):
        if (path / SWEEP_FILES["record"]).is_file():
            trials = read_json(path / SWEEP_FILES["record"]).get("trials")
            if not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
                raise DataError(f"{path / SWEEP_FILES['record']}: has no list of trials")
            found += [run_dir for run_dir in (_trial_dir(path, str(t["run_dir"])) for t in trials if t.get("run_dir"))
                      if (run_dir / FILES["metrics"]).is_file()]
        elif (path / FILES["metrics"]).is_file() and (path / FILES["config"]).is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: not a run directory (config.yaml and metrics.json) or a sweep directory "
                              f"(sweep.json)")
    if not found:
        raise ConfigError("no finished runs to compare")
    return _once_each(found)


def _once_each(paths: list[Path]) -> list[Path]:
    """Each run once, however it was named: `runs/*` names the run `runs/latest` points to
    twice, and the run's own name is the one kept, in its place."""
    named = {path.resolve() for path in paths if not path.is_symlink()}
    seen, unique = set(), []
    for path in paths:
        resolved = path.resolve()
        if resolved not in seen and not (path.is_symlink() and resolved in named):
            seen.add(resolved)
            unique.append(path)
    return unique


def _trial_dir(sweep_dir: Path, run_dir: str) -> Path:
    """A trial's directory: relative to the sweep directory (older sweeps: to where they ran)."""
    inside = sweep_dir / run_dir
    return inside if inside.is_dir() else Path(run_dir)


def read_run(run_dir: Path) -> RunFacts:
    """A run's own files, each read bounded (a run directory may come from someone else); one
    that is damaged or hand-edited is a DataError naming it."""
    try:
        config = read_yaml(run_dir / FILES["config"])
    except ConfigError as error:  # the loader's words, for a file that is data here
        raise DataError(str(error)) from None
    return RunFacts(run_dir, flatten(config), reader.record(run_dir), reader.history(run_dir))


def read_runs(paths: list[Path]) -> tuple[list[RunFacts], list[str]]:
    """The runs that can be read, and one line for each that cannot (which file, why); when none
    can, the first one's DataError."""
    runs, unreadable = [], []
    for path in paths:
        try:
            runs.append(read_run(path))
        except DataError as error:
            unreadable.append(str(error))
    if not runs:
        raise DataError(unreadable[0])
    return runs, unreadable


def collect(paths: list[Path], metric: str | None) -> Comparison:
    """The runs (and sweeps' trials) to compare, read, with the keys that differ; unreadable ones listed."""
    runs, unreadable = read_runs(expand(paths))
    keys = list(dict.fromkeys(key for run in runs for key in run.config))
    differing = [key for key in keys if len({json.dumps(run.config.get(key), sort_keys=True) for run in runs}) > 1]
    if metric is None:
        metric = default_metric(any(run.value("validation.loss") is not None for run in runs))
    check_split(metric)
    have = sorted({f"{split}.{name}" for run in runs for split, values in _final_metrics(run).items()
                   for name in values})
    if have and all(run.value(metric) is None for run in runs):  # (runs still going, or killed, have none yet)
        raise ConfigError(f"--metric {metric}: no run has it (they have {', '.join(have)})")
    return Comparison(runs, differing, metric, unreadable)


def _final_metrics(run: RunFacts) -> dict:
    metrics = run.metrics.get("metrics")
    if not isinstance(metrics, dict):
        return {}
    return {split: values for split, values in metrics.items() if isinstance(values, dict)}


def history_column(metric: str) -> str:
    """The per-epoch column behind a final metric: validation.x -> val_x, train.x and test.x -> x
    (there is no per-epoch test curve)."""
    split, _, name = metric.partition(".")
    return f"val_{name}" if split == "validation" else name


def table(comparison: Comparison):
    """The comparison as a Rich table: differing keys, status, epochs and the metric."""
    from rich.table import Table

    table = Table(title=f"{len(comparison.runs)} runs: the config keys that differ, and {comparison.metric}")
    for column in ("run", *comparison.differing, "status", "epochs", comparison.metric):
        table.add_column(column, overflow="fold")
    for run in comparison.runs:
        value = run.value(comparison.metric)
        table.add_row(run.run_dir.name, *[_show(run.config.get(key)) for key in comparison.differing],
                      states.status_of(run.metrics), str(run.epochs),
                      "-" if value is None else f"{value:.4f}")
    return table


def _show(value: Any) -> str:
    return "-" if value is None else format_value(value)


LEGEND_KEYS = 3  # differing keys that fit in a legend entry; with more, the run's name (the table has them)


def curve_labels(comparison: Comparison) -> list[str]:
    """One legend entry per run, all different: the differing keys and values when there are
    few, else (or when runs share them) the run directory's name."""
    keys = comparison.differing
    if keys and len(keys) <= LEGEND_KEYS:
        labels = [", ".join(f"{key}={_show(run.config.get(key))}" for key in keys) for run in comparison.runs]
        if len(set(labels)) == len(labels):
            return labels
    return [run.run_dir.name for run in comparison.runs]


X_AXES = {"epoch": "epoch", "step": "weight updates", "time": "seconds of training"}


def x_values(run: RunFacts, axis: str) -> list[float]:
    """Where each history row lies on the x-axis: its epoch; the weight updates made by then
    (epochs x the run's steps per epoch); or the training seconds by then, at the run's mean
    time per epoch (metrics.json's duration_s / epochs_run)."""
    epochs = [row["epoch"] for row in run.history]
    if axis == "epoch":
        return epochs
    if axis == "step":
        return [epoch * steps_per_epoch(run) for epoch in epochs]
    duration, done = run.metrics.get("duration_s"), run.metrics.get("epochs_run")
    if not isinstance(duration, (int, float)) or not done:
        raise DataError(f"--x time: {run.run_dir} has no training time (it did not finish)")
    return [epoch * duration / done for epoch in epochs]


def steps_per_epoch(run: RunFacts) -> int:
    """Weight updates per epoch of a run, for the plot's step axis (from its rows and batch size)."""
    rows = (run.metrics.get("rows") or {}).get("train")
    if not isinstance(rows, int) or rows < 1:
        raise DataError(f"--x step: {run.run_dir / 'metrics.json'} does not say how many training rows it had")
    batch = run.config.get("training.batch_size", "full")
    return 1 if batch == "full" else math.ceil(rows / min(int(batch), rows))


def overlay_plot(comparison: Comparison, output: Path, axis: str = "epoch") -> None:
    """Every run's per-epoch curve of the metric on one plot, each named apart (`curve_labels`),
    over epochs, weight updates or seconds (`axis`)."""
    column = history_column(comparison.metric)
    curves = [(label, x_values(run, axis), [row[column] for row in run.history])
              for label, run in zip(curve_labels(comparison), comparison.runs)
              if run.history and column in run.history[0]]
    try:
        title = f"{column} per epoch" if axis == "epoch" else f"{column} by {X_AXES[axis]}"
        plots.overlay(curves, output, column, title, xlabel=X_AXES[axis])
    except FileNotFoundError:
        raise ConfigError(f"--output: folder {output.parent} does not exist") from None
