"""`mlpctl sweep`: many runs of one config over a grid of overrides (and seeds).

The plan (the base config itself, and which trials with which overrides) is worked out and every
trial's config validated before anything trains, without TensorFlow. Trials then run in this
process (`--jobs 1`) or in worker processes that import TensorFlow once each and share the cores;
every trial is an ordinary run directory inside the sweep directory. `sweep.json` / `sweep.csv`
are written before the first trial and rewritten after every trial, so an interrupted sweep can
be resumed: completed trials are kept, the others run again, with the config the sweep started
with even if its file was edited since.
"""

import csv
import io
import itertools
import json
import math
import multiprocessing
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpctl import catalog
from mlpctl.config import RunConfig, config_from_mapping, format_value, read_raw
from mlpctl.errors import EXIT_BY_STATUS, ConfigError, DataError, ExitCode, MlpctlError
from mlpctl.files import atomic_write, create_run_dir, write_json


@dataclass
class Plan:
    """Everything that decides the trials; stored in sweep.json so --resume can rebuild them."""

    config: str  # absolute path of the base config file, as given
    sets: list[str]  # fixed --set overrides
    grid: dict[str, list]  # key -> values, in the order given
    seeds: list[int] | None
    base: dict = field(default_factory=dict)  # the base config file's mapping, data path absolute

    def load(self, overrides: list[str] = ()) -> RunConfig:
        """The validated config of the base with the fixed --set and `overrides` applied."""
        return config_from_mapping(self.base, [*self.sets, *overrides], self.config)

    def trials(self) -> list["Trial"]:
        points = itertools.product(*self.grid.values()) if self.grid else [()]
        seeds = self.seeds or [None]
        return [
            Trial(index, dict(zip(self.grid, values)), seed)
            for index, (values, seed) in enumerate(itertools.product(points, seeds), start=1)
        ]


@dataclass
class Trial:
    index: int  # 1-based
    point: dict[str, Any]  # grid key -> value
    seed: int | None

    @property
    def overrides(self) -> list[str]:
        pairs = [*self.point.items(), *([("seed", self.seed)] if self.seed is not None else [])]
        return [f"{key}={format_value(value)}" for key, value in pairs]

    @property
    def key(self) -> str:
        """Identity across --resume: the same point and seed is the same trial."""
        return json.dumps({"point": self.point, "seed": self.seed}, sort_keys=True)


@dataclass
class Row:
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


def plan_from_arguments(config: Path | None, grid: list[str], sets: list[str], seeds: str | None,
                        resume: Path | None) -> tuple[Plan, str | None, str | None, dict[str, "Row"]]:
    """A new plan from the command line, or an earlier sweep's plan, ranking and rows (--resume)."""
    if resume is None:
        if config is None:
            raise ConfigError("sweep needs a CONFIG file, or --resume SWEEP_DIR")
        path = config.resolve()
        return Plan(str(path), sets, parse_grid(grid), parse_seeds(seeds), read_raw(path)), None, None, {}
    if config is not None or grid or sets or seeds:
        raise ConfigError("--resume takes the plan from the sweep directory; leave out CONFIG, --grid, --set and --seeds")
    return load_previous(resume)


def parse_grid(arguments: list[str]) -> dict[str, list]:
    """`key=v1,v2,...` -> {key: [v1, v2, ...]}; values are YAML, so `[16, 32]` stays a list."""
    grid: dict[str, list] = {}
    for argument in arguments:
        key, sep, text = argument.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--grid {argument!r}: expected KEY=V1,V2,..., e.g. optimizer.learning_rate=0.1,0.01")
        try:
            values = yaml.safe_load(f"[{text}]")
        except yaml.YAMLError:
            raise ConfigError(f"--grid {argument!r}: the values are not valid YAML") from None
        if key in grid:
            raise ConfigError(f"--grid {argument!r}: {key} is already a grid key; give all its values at once")
        grid[key] = values
    return grid


def parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected integers separated by commas, e.g. 1,2,3") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: a seed is repeated")
    return seeds


def check_plan(plan: Plan) -> dict[int, str]:
    """Validate the base config (errors stop the sweep) and each trial (errors are recorded)."""
    plan.load()
    problems = {}
    for trial in plan.trials():
        try:
            plan.load(trial.overrides)
        except ConfigError as error:
            problems[trial.index] = str(error).replace("\n", "; ")
    return problems


@dataclass
class Outcome:
    document: dict  # sweep.json's content
    exit_code: ExitCode
    interrupted: bool


def run_sweep(plan: Plan, sweep_dir: Path, rows: dict[str, Row], metric: str, mode: str, jobs: int,
              fail_fast: bool, on_row=None) -> Outcome:
    """A sweep's whole life: sweep.json with every trial pending before the first one starts,
    rewritten after each trial (then `on_row(row)`), Ctrl-C, and the exit code at the end."""
    for trial in plan.trials():
        rows.setdefault(trial.key, Row(trial.index, trial.point, trial.seed))
    save(sweep_dir, plan, metric, mode, list(rows.values()))

    def record(row: Row) -> None:
        save(sweep_dir, plan, metric, mode, list(rows.values()))
        if on_row:
            on_row(row)

    interrupted = False
    try:
        run_trials(plan, sweep_dir, rows, jobs, fail_fast, record)
    except KeyboardInterrupt:
        interrupted = True
    finish(rows, interrupted)
    document = save(sweep_dir, plan, metric, mode, list(rows.values()))
    code = ExitCode.INTERRUPTED if interrupted else exit_code(list(rows.values()))
    return Outcome(document, code, interrupted)


def new_sweep_dir(output_dir: Path, plan: Plan) -> Path:
    return create_run_dir(output_dir, f"{plan.load().name}-sweep")


def run_trials(plan: Plan, sweep_dir: Path, rows: dict[str, Row], jobs: int, fail_fast: bool, on_row) -> None:
    """Run every trial that has not completed, `jobs` at a time; `on_row(row)` after each."""
    problems = check_plan(plan)
    todo = []
    for trial in plan.trials():
        if rows.get(trial.key) and rows[trial.key].status == "completed":
            continue
        row = Row(trial.index, trial.point, trial.seed)
        rows[trial.key] = row
        if trial.index in problems:
            row.status, row.error = "invalid", problems[trial.index]
            on_row(row)
        else:
            todo.append(trial)
    if not todo or (fail_fast and len(todo) < len(plan.trials()) - _completed(rows)):
        return  # nothing to do, or --fail-fast and a trial is already invalid
    workers = min(jobs, len(todo))
    cores = max(1, (os.cpu_count() or 1) // workers)  # each worker's share
    tasks = [(plan, trial.overrides, str(sweep_dir), trial.index, trial.key, cores) for trial in todo]
    results = _in_this_process(tasks) if workers == 1 else _in_workers(tasks, workers)
    try:
        for key, result in results:
            row = rows[key]
            for name, value in result.items():
                setattr(row, name, value)
            on_row(row)
            if row.status == "interrupted":  # Ctrl-C reached the trial's training loop
                raise KeyboardInterrupt
            if fail_fast and row.status != "completed":
                break
    finally:
        results.close()  # on fail-fast or Ctrl-C, stops the trials still running


def _in_this_process(tasks):
    """One trial after another, here: no worker to start, TensorFlow imported once."""
    for task in tasks:
        yield _run_trial(task)


def _in_workers(tasks, workers: int):
    """Trials in `workers` processes, results as they finish."""
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_start_worker)
    try:
        yield from pool.imap_unordered(_run_trial, tasks)
    finally:
        pool.terminate()
        pool.join()


def _completed(rows: dict[str, Row]) -> int:
    return sum(row.status == "completed" for row in rows.values())


def _start_worker() -> None:
    """Each worker imports TensorFlow once, and leaves Ctrl-C to the parent (which ends the
    pool). TensorFlow starts with the worker's first trial, which picks its threads: one for
    small steps, as `mlpctl train` does, else the worker's share of the cores."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from mlpctl.runtime import import_tensorflow

    import_tensorflow()


def _run_trial(task) -> tuple[str, dict]:
    plan, overrides, sweep_dir, index, key, cores = task
    from mlpctl.progress import Progress
    from mlpctl.run import execute

    started = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        run = execute(plan.load(overrides), Path(sweep_dir), Progress(), run_name=f"trial-{index:03d}", cores=cores)
        result.update(status=run.result.status, run_dir=os.path.relpath(run.run_dir, sweep_dir),
                      epochs_run=run.result.epochs_run, metrics=run.document["metrics"])
    except MlpctlError as error:
        result.update(status="invalid" if isinstance(error, ConfigError) else "data_error"
                      if isinstance(error, DataError) else "failed", error=str(error))
    except Exception as error:  # noqa: BLE001 - one trial's bug must not stop the others
        result.update(status="failed", error=f"{type(error).__name__}: {error}")
    result["duration_s"] = round(time.perf_counter() - started, 3)
    return key, result


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
        values = [r.value(metric) for r in group if r.status == "completed" and r.value(metric) is not None]
        summary.append({
            "point": group[0].point,
            "seeds": [r.seed for r in group],
            "completed": len(values),
            "mean": statistics.fmean(values) if values else None,
            "std": statistics.stdev(values) if len(values) > 1 else None,
        })
    return summary


def sweep_document(plan: Plan, metric: str, mode: str, rows: list[Row]) -> dict:
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
    metric_names = sorted({f"{split}.{name}" for row in rows for split, values in row.metrics.items() for name in values})
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
    document = sweep_document(plan, metric, mode, rows)
    write_json(sweep_dir / "sweep.json", document)
    atomic_write(sweep_dir / "sweep.csv", sweep_csv(plan, rows))
    return document


def load_previous(sweep_dir: Path) -> tuple[Plan, str, str, dict[str, Row]]:
    """What --resume needs from an earlier sweep directory."""
    path = sweep_dir / "sweep.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--resume: {path} not found; is {sweep_dir} a sweep directory?") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"--resume: {path} is not valid JSON ({error})") from None
    plan = Plan(**document["plan"])
    if not plan.base:  # a sweep.json from before plans kept their config: read the file, as then
        plan.base = read_raw(Path(plan.config))
    rows = {}
    for item in document["trials"]:
        row = Row(**item)
        rows[Trial(row.trial, row.point, row.seed).key] = row
    return plan, document["metric"], document["mode"], rows


def base_file_changed(plan: Plan) -> str | None:
    """A warning when the base config file now says something else than the sweep started with."""
    try:
        now = read_raw(Path(plan.config))
    except ConfigError:
        now = None
    if now == plan.base:
        return None
    state = "was edited" if now is not None else "is gone or unreadable"
    return f"{plan.config} {state} since the sweep started; --resume runs the config the sweep started with"


def finish(rows: dict[str, Row], interrupted: bool) -> None:
    """Trials that never ran: interrupted by Ctrl-C, or skipped after --fail-fast."""
    for row in rows.values():
        if row.status == "pending":
            row.status = "interrupted" if interrupted else "skipped"


def describe_best(document: dict, sweep_dir: Path) -> str | None:
    best = document["best"]
    if best is None:
        return None
    overrides = " ".join(Trial(best["trial"], best["point"], best["seed"]).overrides) or "the base config"
    value = Row(**best).value(document["metric"])
    return f"best: trial {best['trial']} ({overrides}), {document['metric']}={value:.4g}, {sweep_dir / best['run_dir']}"


def exit_code(rows: list[Row]) -> ExitCode:
    """0 only when every trial completed; else the code of the first trial that failed
    (skipped trials did not fail: something else stopped the sweep)."""
    for row in sorted(rows, key=lambda r: r.trial):
        if row.status not in ("completed", "skipped"):
            return EXIT_BY_STATUS.get(row.status, ExitCode.INTERNAL)
    return ExitCode.COMPLETED
