"""`mlpctl sweep`: many runs of one config over a grid of overrides (and seeds).

The plan (the base config itself, and which trials with which overrides) is worked out and every
trial's config validated before anything trains, without TensorFlow (`plan.py`). Trials then run
in this process (`--jobs 1`) or in worker processes (`trials.py`); every trial is an ordinary run
directory inside the sweep directory. `sweep.json` / `sweep.csv` (`results.py`) are written
before the first trial and rewritten after every trial, so an interrupted sweep can be resumed:
completed trials are kept, the others run again, with the config the sweep started with even if
its file was edited since. This module is the sweep's life cycle, start to exit code.
"""

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from mlpctl.config import read_raw
from mlpctl.config.metric import metric_and_mode
from mlpctl.errors import ConfigError, DataError, ExitCode, OutputError, exit_code_of
from mlpctl.files import JSON_BYTES, create_run_dir, read_regular
from mlpctl.rundir.layout import SWEEP_FILES
from mlpctl.signals import signal_of
from mlpctl.workflows.sweep.plan import (
    MAX_TRIALS,
    Plan,
    Shard,
    base_file_changed,
    check_plan,
    check_size,
    parse_grid,
    parse_seeds,
    parse_shard,
)
from mlpctl.workflows.sweep.remote import RaySettings, check_output_dir, import_ray, ray_settings
from mlpctl.workflows.sweep.remote import connect as _connect
from mlpctl.workflows.sweep.results import (
    Row,
    describe_best,
    exit_code,
    finish,
    load_previous,
    ranking,
    rows_on_disk,
    save,
    save_row,
)
from mlpctl.workflows.sweep.trials import run_trials

__all__ = [
    "Outcome",
    "Plan",
    "RaySettings",
    "Row",
    "Shard",
    "base_file_changed",
    "check_directories",
    "check_output_dir",
    "check_plan",
    "connect_ray",
    "describe_best",
    "load_previous",
    "merge",
    "new_sweep_dir",
    "open_sweep_dir",
    "parse_shard",
    "plan_from_arguments",
    "ranking",
    "ranking_metric",
    "ray_settings",
    "rows_on_disk",
    "run_sweep",
    "shared_sweep_dir",
]


def plan_from_arguments(config: Path | None, grid: list[str], sets: list[str], seeds: str | None,
                        resume: Path | None, max_trials: int = MAX_TRIALS
                        ) -> tuple[Plan, str | None, str | None, dict[str, "Row"]]:
    """A new plan from the command line (at most `max_trials` trials), or an earlier sweep's
    plan, ranking and rows (--resume)."""
    if resume is None:
        if config is None:
            raise ConfigError("sweep needs a CONFIG file, or --resume SWEEP_DIR")
        path = config.resolve()
        plan = Plan(str(path), sets, parse_grid(grid), parse_seeds(seeds), read_raw(path))
        check_size(plan, max_trials)
        return plan, None, None, {}
    if config is not None or grid or sets or seeds:
        raise ConfigError("--resume takes the plan from the sweep directory; leave out CONFIG, --grid, --set "
                          "and --seeds")
    return load_previous(resume)


def ranking_metric(plan: Plan, metric: str | None, mode: str | None, stored_metric: str | None = None,
                   stored_mode: str | None = None) -> tuple[str, str]:
    """What the trials are ranked by: `metric` and `mode` as given, else (a resumed sweep) as
    stored, else the default for the base config (validation.loss, or train.loss without
    validation rows), with a mode from the metric's name."""
    if metric is None:
        metric, mode = stored_metric, mode or stored_mode
    base = plan.load()
    return metric_and_mode(metric, mode, base.scenario, base.data.validation_split > 0)


class Throttle:
    """Calls `write` when SAVE_SECONDS have passed since the last call, and never more than a
    tenth of the time: a summary that grows with the sweep costs it a bounded share, however many
    trials it has. What it summarises is never lost meanwhile (each trial's row is a file)."""

    SAVE_SECONDS = 2.0

    def __init__(self, write, clock=time.monotonic):
        self.write, self.clock = write, clock
        self.last, self.cost = clock(), 0.0

    def maybe(self) -> None:
        if self.clock() - self.last < max(self.SAVE_SECONDS, 10 * self.cost):
            return
        started = self.clock()
        self.write()
        self.last = self.clock()
        self.cost = self.last - started


@dataclass
class Outcome:
    """A sweep's end: sweep.json's content, the exit code, and whether a stop ended it."""
    document: dict  # sweep.json's content
    exit_code: ExitCode
    interrupted: bool


def run_sweep(plan: Plan, sweep_dir: Path, rows: dict[str, Row], metric: str, mode: str, jobs: int,
              fail_fast: bool, on_row=None, shard: Shard | None = None, ray: RaySettings | None = None) -> Outcome:
    """A sweep's whole life: sweep.json with every trial pending before the first one starts,
    each trial's row saved as it ends (rows/) and sweep.json rewritten from them at a bounded
    rate (`Throttle`: a 100,000-trial sweep.json is 38 MB), then `on_row(row)`; Ctrl-C; and
    the exit code at the end. A `shard` runs its own trials only, and its sweep.json shows the
    other shards' rows as far as they have saved them. `ray`: the trials run as Ray tasks."""
    mine = [trial for trial in plan.trials() if shard is None or shard.runs(trial.index)]
    for trial in plan.trials():
        rows.setdefault(trial.key, Row(trial.index, trial.point, trial.seed))

    def everything() -> list[Row]:
        if shard is None:
            return list(rows.values())
        others = {key: row for key, row in rows_on_disk(sweep_dir, plan).items() if not shard.runs(row.trial)}
        return list({**rows, **others}.values())

    save(sweep_dir, plan, metric, mode, everything())

    summary = Throttle(lambda: save(sweep_dir, plan, metric, mode, everything()))

    def record(row: Row) -> None:
        save_row(sweep_dir, row)
        summary.maybe()
        if on_row:
            on_row(row)

    stopped_by = None
    try:
        run_trials(plan, sweep_dir, rows, jobs, fail_fast, record, mine, ray)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: the workers are already ended
        stopped_by = signal_of(stop)
    own = [rows[trial.key] for trial in mine]
    finish(own, stopped_by is not None)
    document = save(sweep_dir, plan, metric, mode, everything())
    code = exit_code_of("interrupted", stopped_by) if stopped_by else exit_code(own)
    return Outcome(document, code, stopped_by is not None)


def merge(sweep_dir: Path, metric: str | None, mode: str | None) -> Outcome:
    """sweep.json and sweep.csv rebuilt from every row a process of the sweep saved (the
    shards of a job array), ranked as stored unless `metric` (and `mode`) say otherwise; a
    trial with no row yet stays `pending`, and the exit code says so."""
    plan, stored_metric, stored_mode, rows = load_previous(sweep_dir)
    if metric is not None:
        metric, mode = ranking_metric(plan, metric, mode)
    for trial in plan.trials():
        rows.setdefault(trial.key, Row(trial.index, trial.point, trial.seed))
    document = save(sweep_dir, plan, metric or stored_metric, mode or stored_mode, list(rows.values()))
    return Outcome(document, exit_code(list(rows.values())), False)


def connect_ray(settings: RaySettings) -> None:
    """Connect to the Ray cluster (or start a local Ray, ended when this process exits)."""
    _connect(import_ray(), settings)


def check_directories(shard: Shard | None, sweep_dir: Path | None, resume: Path | None) -> None:
    """--shard needs --sweep-dir; --resume takes its own directory."""
    if shard and not (sweep_dir or resume):
        raise ConfigError("--shard needs --sweep-dir DIR, the one folder every shard writes into (or --resume DIR)")
    if sweep_dir and resume:
        raise ConfigError("--sweep-dir is for a new sweep; --resume names its directory itself")


def open_sweep_dir(plan: Plan, rows: dict[str, Row], resume: Path | None, sweep_dir: Path | None,
                   output_dir: Path) -> tuple[Path, dict[str, Row]]:
    """Where the sweep runs, and the rows already there: the resumed directory, the one the
    shards share (with what they have saved), or a new one in `output_dir`."""
    if resume:
        return resume, rows
    if sweep_dir:
        sweep_dir = shared_sweep_dir(sweep_dir, plan)
        return sweep_dir, rows_on_disk(sweep_dir, plan) if (sweep_dir / SWEEP_FILES["record"]).is_file() else {}
    return new_sweep_dir(output_dir, plan), rows


def new_sweep_dir(output_dir: Path, plan: Plan) -> Path:
    """A new sweep directory in `output_dir`, named after the base config and the time."""
    return create_run_dir(output_dir, f"{plan.load().name}-sweep")


def shared_sweep_dir(sweep_dir: Path, plan: Plan) -> Path:
    """The sweep directory every shard names (--sweep-dir): the first to arrive claims it for its
    plan, atomically (plan.json, linked into place whole), and every other shard must bring the
    same plan, however close their starts: shards of different sweeps never mix."""
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"--sweep-dir: cannot create {sweep_dir}: {error.strerror}") from None
    mine = plan_identity(plan)
    if (sweep_dir / SWEEP_FILES["record"]).is_file() and not (sweep_dir / SWEEP_FILES["plan"]).is_file():
        claimed = plan_identity(load_previous(sweep_dir)[0])  # a sweep directory from before plan.json
    else:
        claimed = claim(sweep_dir / SWEEP_FILES["plan"], mine)
    if claimed != mine:
        raise ConfigError(f"--sweep-dir: {sweep_dir} holds another sweep's plan; give every shard the same "
                          f"config, --set, --grid and --seeds, or use a new folder")
    return sweep_dir


def plan_identity(plan: Plan) -> str:
    """What makes two shards' plans the same plan, as text."""
    return json.dumps({"base": plan.base, "sets": plan.sets, "grid": plan.grid, "seeds": plan.seeds},
                      sort_keys=True, indent=1) + "\n"


def claim(path: Path, content: str) -> str:
    """`path` made with `content` unless it exists; either way, the content it holds. Linked
    into place from a whole temporary file, so no reader ever sees it half written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.write_text(content)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    except OSError as error:
        raise OutputError(f"--sweep-dir: cannot write {path}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    try:
        return read_regular(path, JSON_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot be read ({error})") from None
