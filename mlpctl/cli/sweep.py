"""`mlpctl sweep`: a grid of overrides (and seeds), its shards, resume and merge (`workflows.sweep`)."""

import json
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mlpctl import catalog
from mlpctl.cli.app import DebugOption, JsonSweepOption, QuietOption, SetOption, app, guarded, out
from mlpctl.errors import ExitCode
from mlpctl.signals import stop_signals_handled


@app.command()
@guarded
def sweep(
    config: Annotated[Optional[Path], typer.Argument(help="The base config (not with --resume).")] = None,
    grid: Annotated[Optional[list[str]], typer.Option("--grid", metavar="KEY=V1,V2", help="A grid axis, values as in --set (repeatable).")] = None,
    set_: SetOption = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", metavar="1,2,3", help="Repeat every grid point with each seed.")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Trials at once; above 1, each in a worker process. Default 1 (with --executor ray: as many as the cluster fits).")] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="SPLIT.NAME to rank by; default validation.loss (train.loss without validation rows).")] = None,
    mode: Annotated[Optional[Literal[catalog.MODES]], typer.Option("--mode", help="Lower (min) or higher (max) is better; default from the metric's name.")] = None,  # type: ignore[valid-type]  # Typer reads the names at run time
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the sweep directory goes.")] = Path("runs"),
    sweep_dir: Annotated[Optional[Path], typer.Option("--sweep-dir", metavar="DIR", help="The sweep directory itself (made if missing), instead of a new one in --output-dir: what the shards of a job array share.")] = None,
    shard: Annotated[Optional[str], typer.Option("--shard", metavar="K/N", help="Run only trials K, K+N, K+2N, ... (0 <= K < N, counting from 0) of the plan, with --sweep-dir.")] = None,
    executor: Annotated[Literal["local", "ray"], typer.Option("--executor", help="local: this process or worker processes (--jobs); ray: each trial a Ray task (pip install 'mlpctl[ray]').")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="With --executor ray: the cluster (auto, or host:port); default a Ray of its own on this machine.")] = None,
    cpus_per_trial: Annotated[float, typer.Option("--cpus-per-trial", min=0.01, help="With --executor ray: CPUs each trial reserves.")] = 1.0,
    gpus_per_trial: Annotated[float, typer.Option("--gpus-per-trial", min=0.0, help="With --executor ray: GPUs each trial reserves (fractions share one).")] = 0.0,
    collect: Annotated[bool, typer.Option("--collect", help="With --executor ray: bring each trial's run directory back to this machine (nodes without shared storage).")] = False,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop at the first trial that does not complete.")] = False,
    resume: Annotated[Optional[Path], typer.Option("--resume", metavar="SWEEP_DIR", help="Run again the trials of an earlier sweep that did not complete.")] = None,
    merge: Annotated[Optional[Path], typer.Option("--merge", metavar="SWEEP_DIR", help="Rebuild sweep.json and sweep.csv from every trial's row (after the shards ran); train nothing.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the trials and their overrides; train nothing.")] = False,
    max_trials: Annotated[int, typer.Option("--max-trials", min=1, help="Refuse a plan of more trials than this (a grid's product, times the seeds).")] = 10_000,
    json_output: JsonSweepOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Train one config over a grid of overrides (and seeds), several trials at once."""
    from mlpctl.errors import ConfigError
    from mlpctl.workflows import sweep as sweeps

    if merge is not None:
        if config or grid or set_ or seeds or resume or shard or sweep_dir:
            raise ConfigError("--merge takes everything from the sweep directory; give it alone (with --metric, --mode)")
        outcome = sweeps.merge(merge, metric, mode)
        _print_sweep(outcome.document, merge, quiet, json_output)
        raise typer.Exit(int(outcome.exit_code))
    plan, stored_metric, stored_mode, rows = sweeps.plan_from_arguments(config, grid or [], set_ or [], seeds, resume,
                                                                        max_trials)
    part = sweeps.parse_shard(shard)
    sweeps.check_directories(part, sweep_dir, resume)
    if resume is not None and not quiet and (change := sweeps.base_file_changed(plan)):
        print(f"warning: {change}", file=sys.stderr)
    metric, mode = sweeps.ranking_metric(plan, metric, mode, stored_metric, stored_mode)
    if dry_run:  # a pre-check for CI: exit 2 when any trial is invalid
        problems = sweeps.check_plan(plan)
        _print_plan(plan, problems, json_output)
        raise typer.Exit(int(ExitCode.CONFIG) if problems else 0)
    ray = sweeps.ray_settings(executor, address, cpus_per_trial, gpus_per_trial, collect, jobs)
    if ray:  # connected before the sweep directory exists: a wrong address leaves nothing behind
        sweeps.check_output_dir(ray, resume or sweep_dir or output_dir)
        sweeps.connect_ray(ray)
    sweep_dir, rows = sweeps.open_sweep_dir(plan, rows, resume, sweep_dir, output_dir)
    outcome = _run_sweep(plan, sweep_dir, rows, metric, mode, jobs or 1, fail_fast, part, quiet, ray)
    _print_sweep(outcome.document, sweep_dir, quiet, json_output)
    raise typer.Exit(int(outcome.exit_code))


def _run_sweep(plan, sweep_dir: Path, rows: dict, metric: str, mode: str, jobs: int, fail_fast: bool, shard,
               quiet: bool, ray=None):
    from mlpctl.console import make_console
    from mlpctl.workflows import sweep as sweeps

    console = make_console()
    total = len(plan.trials())
    if not quiet:
        share = f", shard {shard.index}/{shard.count}" if shard else ""
        how = f"as Ray tasks on {ray.address or 'a local Ray'}" if ray else f"{jobs} at a time"
        console.print(f"sweep directory: {sweep_dir} ({total} trials{share}, {how})")

    def on_row(row) -> None:
        if not quiet:
            value = row.value(metric)
            shown = f"  {metric}={value:.4g}" if value is not None else ""
            console.print(f"trial {row.trial}/{total} {row.status}{shown}  {row.error or row.run_dir}", soft_wrap=True)

    with stop_signals_handled():
        return sweeps.run_sweep(plan, sweep_dir, rows, metric, mode, jobs, fail_fast, on_row, shard, ray)


def _print_sweep(document: dict, sweep_dir: Path, quiet: bool, json_output: bool) -> None:
    from mlpctl.console import make_console, points_table, sweep_table
    from mlpctl.workflows import sweep as sweeps

    if not quiet:
        console = make_console()
        console.print(sweep_table(document, sweeps.ranking(document)))
        if document["points"]:
            console.print(points_table(document))
        if document["best"]:
            console.print(sweeps.describe_best(document, sweep_dir), soft_wrap=True)
        console.print(f"sweep directory: {sweep_dir}")
    if json_output:
        out(json.dumps(document, indent=2))


def _print_plan(plan, problems: dict[int, str], json_output: bool) -> None:
    trials = [{"trial": t.index, "overrides": [*plan.sets, *t.overrides], "error": problems.get(t.index)}
              for t in plan.trials()]
    if json_output:
        out(json.dumps(trials, indent=2))
        return
    for trial in trials:
        line = f"trial {trial['trial']}: {' '.join(trial['overrides']) or '(base config)'}"
        out(line + (f"  INVALID: {trial['error']}" if trial["error"] else ""))
