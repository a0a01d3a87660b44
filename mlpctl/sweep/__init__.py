"""`mlpctl sweep`: many runs of one config over a grid of overrides (and seeds).

The plan (the base config itself, and which trials with which overrides) is worked out and every
trial's config validated before anything trains, without TensorFlow (`plan.py`). Trials then run
in this process (`--jobs 1`) or in worker processes (`trials.py`); every trial is an ordinary run
directory inside the sweep directory. `sweep.json` / `sweep.csv` (`results.py`) are written
before the first trial and rewritten after every trial, so an interrupted sweep can be resumed:
completed trials are kept, the others run again, with the config the sweep started with even if
its file was edited since. This module is the sweep's life cycle, start to exit code.
"""

from dataclasses import dataclass
from pathlib import Path

from mlpctl.config import read_raw
from mlpctl.errors import ConfigError, ExitCode, exit_code_of
from mlpctl.files import create_run_dir
from mlpctl.signals import signal_of
from mlpctl.sweep.plan import Plan, base_file_changed, check_plan, parse_grid, parse_seeds
from mlpctl.sweep.results import Row, describe_best, exit_code, finish, load_previous, ranking, save
from mlpctl.sweep.trials import run_trials

__all__ = ["Outcome", "Plan", "Row", "base_file_changed", "check_plan", "describe_best", "new_sweep_dir",
           "plan_from_arguments", "ranking", "run_sweep"]


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

    stopped_by = None
    try:
        run_trials(plan, sweep_dir, rows, jobs, fail_fast, record)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: the workers are already ended
        stopped_by = signal_of(stop)
    finish(rows, stopped_by is not None)
    document = save(sweep_dir, plan, metric, mode, list(rows.values()))
    code = exit_code_of("interrupted", stopped_by) if stopped_by else exit_code(list(rows.values()))
    return Outcome(document, code, stopped_by is not None)


def new_sweep_dir(output_dir: Path, plan: Plan) -> Path:
    return create_run_dir(output_dir, f"{plan.load().name}-sweep")
