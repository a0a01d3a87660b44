"""Running a sweep's trials: one after another in this process (`--jobs 1`), or in worker
processes (`workers.py`) that import TensorFlow once each and share the cores. Every trial is an
ordinary run (`run.execute`) in the sweep directory."""

import os
import time
from pathlib import Path
from typing import Any

from mlpctl.config import RunConfig
from mlpctl.errors import MlpctlError, status_of_error
from mlpctl.workflows.sweep.plan import Plan, Trial, check_plan
from mlpctl.workflows.sweep.remote import RaySettings, run_in_ray
from mlpctl.workflows.sweep.results import Row
from mlpctl.workflows.sweep.workers import run_in_workers


def run_trials(plan: Plan, sweep_dir: Path, rows: dict[str, Row], jobs: int, fail_fast: bool, on_row,
               trials: list[Trial] | None = None, ray: RaySettings | None = None) -> None:
    """Run every trial (of `trials`, default the plan's) that has not completed, `jobs` at a
    time, or as Ray tasks (`ray`); `on_row(row)` after each."""
    problems = check_plan(plan)
    trials = plan.trials() if trials is None else trials
    todo = []
    for trial in trials:
        if rows.get(trial.key) and rows[trial.key].status == "completed":
            continue
        row = Row(trial.index, trial.point, trial.seed)
        rows[trial.key] = row
        if trial.index in problems:
            row.status, row.error = "invalid", problems[trial.index]
            on_row(row)
        else:
            todo.append(trial)
    if not todo or (fail_fast and len(todo) < len(trials) - _completed(rows, trials)):
        return  # nothing to do, or --fail-fast and a trial is already invalid
    workers = min(jobs, len(todo))
    cores = max(1, int(ray.cpus_per_trial)) if ray else max(1, (os.cpu_count() or 1) // workers)  # each trial's share
    tasks = [(plan, trial.overrides, str(sweep_dir.resolve()), trial.index, trial.key, cores) for trial in todo]
    if ray:
        results = run_in_ray(tasks, _run_trial, ray, sweep_dir)
    else:
        results = _in_this_process(tasks) if workers == 1 else run_in_workers(tasks, workers, _run_trial, sweep_dir)
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


def _completed(rows: dict[str, Row], trials: list[Trial]) -> int:
    return sum(rows[trial.key].status == "completed" for trial in trials if trial.key in rows)


def unfinished_run(sweep_dir: Path, index: int, config: RunConfig) -> Path | None:
    """The trial's own run directory from an earlier attempt that can go on (interrupted, killed,
    a full disk) with this very config and no process in it, the newest first; None: start anew.
    So `sweep --resume` resumes a stopped trial from its checkpoint instead of starting it over."""
    # imported here: reading a run directory back loads pandas, which --dry-run does without
    from mlpctl.rundir import lock, reader, states
    from mlpctl.workflows.run import RESUMABLE_STATES

    wanted = config.model_dump(mode="json")
    candidates = sorted(sweep_dir.glob(f"trial-{index:03d}*"), key=lambda path: path.stat().st_mtime, reverse=True)
    for run_dir in candidates:
        try:
            if (states.status_of(reader.record(run_dir)) in RESUMABLE_STATES and not lock.is_held(run_dir)
                    and reader.config(run_dir).model_dump(mode="json") == wanted):
                return run_dir
        except (OSError, MlpctlError):
            continue  # not one that can go on: a new directory, as before
    return None


def _run_trial(task) -> tuple[str, dict]:
    plan, overrides, sweep_dir, index, key, cores = task
    from mlpctl.progress import Progress
    from mlpctl.workflows.run import execute

    started = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        config = plan.load(overrides)
        resume = unfinished_run(Path(sweep_dir), index, config)
        run = execute(config, Path(sweep_dir), Progress(), run_name=f"trial-{index:03d}", cores=cores, resume=resume,
                      source=Path(plan.config))
        result.update(status=run.result.status, run_dir=os.path.relpath(run.run_dir, sweep_dir),
                      epochs_run=run.result.epochs_run, metrics=run.document["metrics"])
    except MlpctlError as error:
        result.update(status=status_of_error(error), error=str(error))
    except Exception as error:  # noqa: BLE001 - one trial's bug must not stop the others
        result.update(status="failed", error=f"{type(error).__name__}: {error}")
    result["duration_s"] = round(time.perf_counter() - started, 3)
    return key, result
