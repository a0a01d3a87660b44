"""A sweep's results: one row per trial, the ranking, sweep.json and sweep.csv, the exit code.
sweep.json holds the plan too, so that --resume can rebuild the trials from it alone."""

import csv
import io
import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlpctl import catalog
from mlpctl.config import format_value, read_raw
from mlpctl.errors import EXIT_BY_STATUS, ConfigError, DataError, ExitCode
from mlpctl.files import atomic_write, read_json, write_json
from mlpctl.rundir.layout import SWEEP_FILES
from mlpctl.workflows.sweep.plan import Plan, Trial


@dataclass
class Row:
    """One trial's line of sweep.json and sweep.csv: its point, seed, how it ended, where, and its metrics."""
    trial: int
    point: dict[str, Any]
    seed: int | None
    status: str = "pending"
    error: str | None = None
    run_dir: str | None = None
    epochs_run: int | None = None
    duration_s: float | None = None
    metrics: dict = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        return catalog.metric_value(self.metrics, metric)


def ranking(document: dict) -> list[Row]:
    """sweep.json's trials, best first by its metric and mode."""
    return ranked([Row(**row) for row in document["trials"]], document["metric"], document["mode"])


def ranked(rows: list[Row], metric: str, mode: str) -> list[Row]:
    """Completed trials best first, then the rest in trial order."""
    def score(row: Row) -> float:
        value = row.value(metric)
        if row.status != "completed" or value is None:
            return math.inf
        return value if mode == "min" else -value

    return sorted(rows, key=lambda row: (score(row), row.trial))


def points_summary(rows: list[Row], metric: str) -> list[dict]:
    """With several seeds: each grid point's mean and spread (sample standard deviation)."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(json.dumps(row.point, sort_keys=True), []).append(row)
    summary = []
    for group in groups.values():
        values = [value for r in group if r.status == "completed" and (value := r.value(metric)) is not None]
        summary.append({
            "point": group[0].point,
            "seeds": [r.seed for r in group],
            "completed": len(values),
            "mean": statistics.fmean(values) if values else None,
            "std": statistics.stdev(values) if len(values) > 1 else None,
        })
    return summary


def sweep_document(plan: Plan, metric: str, mode: str, rows: list[Row]) -> dict:
    """sweep.json's content: the plan, the ranking metric, every trial, the best, and each point's mean."""
    order = ranked(rows, metric, mode)
    best = order[0] if order and order[0].status == "completed" and order[0].value(metric) is not None else None
    return {
        "plan": asdict(plan),
        "metric": metric,
        "mode": mode,
        "trials": [asdict(row) for row in sorted(rows, key=lambda r: r.trial)],
        "best": asdict(best) if best else None,
        "points": points_summary(rows, metric) if plan.seeds and len(plan.seeds) > 1 else None,
    }


def sweep_csv(plan: Plan, rows: list[Row]) -> str:
    """sweep.csv: one row per trial, its grid values and every final metric as `split.name` columns."""
    metric_names = sorted({f"{split}.{name}" for row in rows for split, values in row.metrics.items()
                           for name in values})
    columns = ["trial", *plan.grid, "seed", "status", "epochs_run", "duration_s", *metric_names, "run_dir", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r.trial):
        cells = {"trial": row.trial, **{k: format_value(v) for k, v in row.point.items()}, "seed": row.seed,
                 "status": row.status, "epochs_run": row.epochs_run, "duration_s": row.duration_s,
                 "run_dir": row.run_dir, "error": row.error}
        cells.update({name: row.value(name) for name in metric_names})
        writer.writerow(cells)
    return buffer.getvalue()


def save(sweep_dir: Path, plan: Plan, metric: str, mode: str, rows: list[Row]) -> dict:
    """sweep.json and sweep.csv rewritten from `rows`; returns sweep.json's content."""
    document = sweep_document(plan, metric, mode, rows)
    write_json(sweep_dir / SWEEP_FILES["record"], document)
    atomic_write(sweep_dir / SWEEP_FILES["table"], sweep_csv(plan, rows))
    return document


ROWS = "rows"  # one file per trial that ended, the sweep's own record: sweep.json is built from them


def save_row(sweep_dir: Path, row: Row) -> None:
    """The trial's row in a file of its own, so that processes running different trials of one
    sweep (shards of a job array) never write over each other's results."""
    (sweep_dir / ROWS).mkdir(exist_ok=True)
    write_json(sweep_dir / ROWS / f"trial-{row.trial:03d}.json", asdict(row))


def rows_on_disk(sweep_dir: Path, plan: Plan) -> dict[str, Row]:
    """The rows every process of the sweep has saved, by trial key; a file that is not a row
    of this plan's trials is a DataError naming it."""
    trials = {trial.index: trial for trial in plan.trials()}
    rows = {}
    for path in sorted((sweep_dir / ROWS).glob("trial-*.json")):
        try:
            row = Row(**read_json(path))
            trial = trials[row.trial]
        except (TypeError, KeyError):
            raise DataError(f"{path}: not a row of this sweep's trials") from None
        if (row.point, row.seed) != (trial.point, trial.seed):
            raise DataError(f"{path}: trial {row.trial} of another plan")
        rows[trial.key] = row
    return rows


def load_previous(sweep_dir: Path) -> tuple[Plan, str, str, dict[str, Row]]:
    """What --resume needs from an earlier sweep directory."""
    path = sweep_dir / SWEEP_FILES["record"]
    try:
        document = read_json(path)
    except FileNotFoundError:
        raise ConfigError(f"--resume: {path} not found; is {sweep_dir} a sweep directory?") from None
    try:
        plan = Plan(**document["plan"])
        rows = {}
        for item in document["trials"]:
            row = Row(**item)
            rows[Trial(row.trial, row.point, row.seed).key] = row
        metric, mode = str(document["metric"]), str(document["mode"])
    except (KeyError, TypeError, AttributeError) as error:
        raise DataError(f"{path}: not a sweep.json mlpctl wrote ({type(error).__name__}: {error})") from None
    if not plan.base:  # a sweep.json from before plans kept their config: read the file, as then
        plan.base = read_raw(Path(plan.config))
    rows.update(rows_on_disk(sweep_dir, plan))  # newer than sweep.json where shards raced to write it
    return plan, metric, mode, rows


def finish(rows: list[Row], interrupted: bool) -> None:
    """Trials that never ran: interrupted by Ctrl-C, or skipped after --fail-fast."""
    for row in rows:
        if row.status == "pending":
            row.status = "interrupted" if interrupted else "skipped"


def describe_best(document: dict, sweep_dir: Path) -> str | None:
    """One line on the best trial (its values, metric and run directory), or None before any completed."""
    best = document["best"]
    if best is None:
        return None
    overrides = " ".join(Trial(best["trial"], best["point"], best["seed"]).overrides) or "the base config"
    value = Row(**best).value(document["metric"])
    return f"best: trial {best['trial']} ({overrides}), {document['metric']}={value:.4g}, {sweep_dir / best['run_dir']}"


def exit_code(rows: list[Row]) -> ExitCode:
    """0 only when every trial completed; else the code of the first trial that failed
    (skipped trials did not fail: something else stopped the sweep). A trial still `pending`
    (a merge before every shard ended) reads as interrupted."""
    for row in sorted(rows, key=lambda r: r.trial):
        if row.status not in ("completed", "skipped"):
            return EXIT_BY_STATUS.get("interrupted" if row.status == "pending" else row.status, ExitCode.INTERNAL)
    return ExitCode.COMPLETED
