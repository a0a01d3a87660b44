"""The command line: parse, call the stages, map errors to exit codes. Nothing else.

Stages are imported inside the commands so that `mlpctl --help` and `mlpctl validate` stay fast
and never load TensorFlow (or pandas).
"""

import contextlib
import functools
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mlpctl import __version__, catalog
from mlpctl.errors import ExitCode, MlpctlError, exit_code_of
from mlpctl.files import write_stdout
from mlpctl.signals import signal_of, stop_signals_handled

app = typer.Typer(
    help="Train multilayer perceptrons from a YAML file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="KEY=VALUE", help="Override a config key, e.g. training.epochs=5 (repeatable)."),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks (also MLPCTL_DEBUG=1).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show TensorFlow's own logs.")]
OutputDirOption = Annotated[Path, typer.Option("--output-dir", "-o", help="Where run directories go.")]
RunDirArgument = Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory from `mlpctl train`.")]


def _json_option(what: str):
    return Annotated[bool, typer.Option("--json", help=f"Print {what} to stdout.")]


JsonMetricsOption = _json_option("metrics.json")
JsonSweepOption = _json_option("sweep.json (or, with --dry-run, the trials)")
JsonEvaluationOption = _json_option("the evaluation's metrics.json")
JsonComparisonOption = _json_option("the comparison as JSON")


def out(text: str = "", end: str = "\n") -> None:
    """A script's output on stdout (`files.write_stdout`: a full disk or closed pipe is exit 2)."""
    write_stdout(text + end)


def guarded(command):
    """Turn every failure into one line on stderr and its documented exit code."""

    @functools.wraps(command)
    def wrapper(*args, debug: bool = False, **kwargs):
        debug = debug or os.environ.get("MLPCTL_DEBUG", "") not in ("", "0")
        try:
            return command(*args, **kwargs)
        except MlpctlError as error:
            _fail(error, str(error), error.exit_code, debug)
        except KeyboardInterrupt as error:
            name = signal_of(error)
            code = exit_code_of("interrupted", name)
            _fail(error, "interrupted" if code == ExitCode.INTERRUPTED else f"terminated ({name})", code, debug)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # noqa: BLE001 - the one place that catches everything
            message = f"internal error: {type(error).__name__}: {error}"
            if not debug:
                message += " (run again with --debug for the traceback)"
            _fail(error, message, ExitCode.INTERNAL, debug)

    return wrapper


def _fail(error: BaseException, message: str, code: ExitCode, debug: bool) -> None:
    if debug:
        traceback.print_exception(error)
    with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) takes stderr with it
        for line in message.splitlines():
            print(f"error: {line}", file=sys.stderr)
    raise typer.Exit(int(code))


@app.command()
@guarded
def train(
    config: Annotated[Optional[Path], typer.Argument(help="The run's YAML config file (not with --resume).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", metavar="RUN_DIR", help="Go on with an interrupted or killed run from its last checkpoint, in its own directory.")] = None,
    set_: SetOption = None,
    output_dir: OutputDirOption = Path("runs"),
    json_output: JsonMetricsOption = False,
    smoke: Annotated[bool, typer.Option("--smoke", help="CI check: at most 2 epochs on at most 300 rows; writes metrics.json only.")] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
) -> None:
    """Train the config's network and write a new run directory."""
    from mlpctl.api import start
    from mlpctl.config import load_config
    from mlpctl.console import make_console, make_progress
    from mlpctl.errors import ConfigError

    console = make_console()
    if (config is None) == (resume is None) or (resume and (set_ or smoke)):
        raise ConfigError("train needs a CONFIG file, or --resume RUN_DIR (which takes the run's own "
                          "config.yaml: no CONFIG, --set or --smoke)")
    config = config or resume / "config.yaml"
    run_config = load_config(config, set_ or [])
    _warn(run_config, config, quiet)

    def announce(run_dir: Path) -> None:
        if not quiet:
            console.print(f"run directory: {run_dir}")

    def warn(line: str) -> None:
        if not quiet:
            print(f"warning: {line}", file=sys.stderr)

    run = start(run_config, output_dir, make_progress(console, quiet), smoke=smoke, resume=resume, verbose=verbose,
                on_start=announce, on_warning=warn)
    document = run.record
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not quiet:
        _print_outcome(console, document, run.run_dir)
    if json_output:
        out(json.dumps(document, indent=2))
    raise typer.Exit(int(exit_code_of(document["status"], document.get("signal"))))


def _warn(run_config, path: Path, quiet: bool) -> None:
    """What the config allows but probably did not mean: one line each, on stderr."""
    if not quiet:
        for warning in run_config.warnings():
            print(f"warning: {path}: {warning}", file=sys.stderr)


def _print_outcome(console, document: dict, run_dir: Path) -> None:
    """What metrics.json says of the run, for a person."""
    from mlpctl.console import metrics_table

    for note in document.get("notes", []):
        console.print(note)
    if document.get("metrics"):
        console.print(metrics_table(document["metrics"]))
    if document["status"] == "diverged":
        console.print(
            f"error: training diverged at epoch {document['epochs_run']}: the loss is no longer a "
            "finite number; lower optimizer.learning_rate or normalize the data",
            style="red",
        )
    elif document["status"] == "interrupted":
        console.print(f"interrupted after {document['epochs_run']} epoch(s)", style="yellow")
    elif document.get("stopped_early_at"):
        console.print(f"early stopping at epoch {document['stopped_early_at']}")
    console.print(f"run directory: {run_dir}")


@app.command()
@guarded
def validate(
    configs: Annotated[list[Path], typer.Argument(help="Config files to check.")],
    set_: SetOption = None,
    data: Annotated[bool, typer.Option("--data", help="Also read each config's data file and check it as train would (columns, empty cells, numbers, labels).")] = False,
    debug: DebugOption = False,
) -> None:
    """Check config files without training (and without loading TensorFlow)."""
    from mlpctl.config import load_config
    from mlpctl.errors import ConfigError, DataError

    codes = []
    for path in configs:
        try:
            run_config = load_config(path, set_ or [])
            _warn(run_config, path, quiet=False)
            summary = _check_data(run_config) if data else ""
        except (ConfigError, DataError) as error:
            codes.append(error.exit_code)
            for line in str(error).splitlines():
                print(f"error: {path}: {line}" if isinstance(error, DataError) else f"error: {line}", file=sys.stderr)
        else:
            print(f"ok: {path}{summary}", file=sys.stderr)
    if codes:
        raise typer.Exit(int(min(codes)))  # a config error (2) before a data error (3)


def _check_data(run_config) -> str:
    """The data file read and checked as `train` reads it, and the network's size against the
    machine's memory as `train` checks it; its warnings printed; a summary."""
    from mlpctl.data import load_dataset
    from mlpctl.engines import check_model_fits

    dataset = load_dataset(run_config)
    check_model_fits(run_config, dataset)
    for warning in dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    rows = ", ".join(f"{split} {count}" for split, count in dataset.rows.items())
    return f" (data: {rows} rows; {dataset.preprocessing.n_inputs} inputs)"


@app.command()
@guarded
def sweep(
    config: Annotated[Optional[Path], typer.Argument(help="The base config (not with --resume).")] = None,
    grid: Annotated[Optional[list[str]], typer.Option("--grid", metavar="KEY=V1,V2", help="A grid axis, values as in --set (repeatable).")] = None,
    set_: SetOption = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", metavar="1,2,3", help="Repeat every grid point with each seed.")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Trials at once; above 1, each in a worker process. Default 1 (with --executor ray: as many as the cluster fits).")] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="SPLIT.NAME to rank by; default validation.loss (train.loss without validation rows).")] = None,
    mode: Annotated[Optional[Literal[catalog.MODES]], typer.Option("--mode", help="Lower (min) or higher (max) is better; default from the metric's name.")] = None,
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
    from mlpctl import sweep as sweeps
    from mlpctl.config.metric import metric_and_mode
    from mlpctl.errors import ConfigError

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
    if metric is None:  # a resumed sweep ranks as before, unless told otherwise
        metric, mode = stored_metric, mode or stored_mode
    base = plan.load()
    metric, mode = metric_and_mode(metric, mode, base.scenario, base.data.validation_split > 0)
    if dry_run:  # a pre-check for CI: exit 2 when any trial is invalid
        problems = sweeps.check_plan(plan)
        _print_plan(plan, problems, json_output)
        raise typer.Exit(int(ExitCode.CONFIG) if problems else 0)
    ray = _ray_settings(executor, address, cpus_per_trial, gpus_per_trial, collect, jobs)
    if ray:  # connected before the sweep directory exists: a wrong address leaves nothing behind
        sweeps.check_output_dir(ray, resume or sweep_dir or output_dir)
        sweeps.connect_ray(ray)
    sweep_dir, rows = sweeps.open_sweep_dir(plan, rows, resume, sweep_dir, output_dir)
    outcome = _run_sweep(plan, sweep_dir, rows, metric, mode, jobs or 1, fail_fast, part, quiet, ray)
    _print_sweep(outcome.document, sweep_dir, quiet, json_output)
    raise typer.Exit(int(outcome.exit_code))


def _ray_settings(executor: str, address, cpus: float, gpus: float, collect: bool, jobs):
    """The Ray settings with --executor ray; the Ray options without it are a usage error."""
    from mlpctl.errors import ConfigError
    from mlpctl.sweep import RaySettings

    if executor == "ray":
        return RaySettings(address, cpus, gpus, collect, jobs)
    if address or collect or cpus != 1.0 or gpus:
        raise ConfigError("--address, --collect, --cpus-per-trial and --gpus-per-trial are for --executor ray")
    return None


def _run_sweep(plan, sweep_dir: Path, rows: dict, metric: str, mode: str, jobs: int, fail_fast: bool, shard,
               quiet: bool, ray=None):
    from mlpctl import sweep as sweeps
    from mlpctl.console import make_console

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
    from mlpctl import sweep as sweeps
    from mlpctl.console import make_console, points_table, sweep_table

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


@app.command()
@guarded
def evaluate(
    run_dir: RunDirArgument,
    data: Annotated[Path, typer.Option("--data", help="Labelled rows (CSV or Parquet) with the run's columns.")],
    json_output: JsonEvaluationOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
) -> None:
    """Metrics and plots of a trained run on new labelled data."""
    from mlpctl.console import make_console, metrics_table
    from mlpctl.predict import evaluate_run, open_run

    document, directory = evaluate_run(open_run(run_dir, verbose), data)
    if not quiet:
        console = make_console()
        console.print(metrics_table({data.name: document["metrics"]}))
        console.print(f"evaluation: {directory}")
    if json_output:
        out(json.dumps(document, indent=2))


@app.command()
@guarded
def predict(
    run_dir: RunDirArgument,
    input_: Annotated[str, typer.Option("--input", "-i", help="Rows to predict: CSV or Parquet, or - for stdin.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Where predictions go: .csv or .parquet, or - for stdout.")] = "-",
    proba: Annotated[bool, typer.Option("--proba", help="Add one probability column per class.")] = False,
    keep: Annotated[Optional[list[str]], typer.Option("--keep", metavar="COLUMN", help="Carry an input column (an id) into the output (repeatable).")] = None,
    fmt: Annotated[Optional[Literal["csv", "parquet"]], typer.Option("--format", help="For - (stdin/stdout) and names without .csv/.parquet/.pq; a named file's own format otherwise (a --format that contradicts it is an error).")] = None,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
) -> None:
    """Predict new rows with a trained run: the same preprocessing and labels as in training."""
    from mlpctl.predict import check_formats, check_input, open_run, predict_file

    check_input(input_)
    check_formats(input_, output, fmt)
    with stop_signals_handled():  # a stop removes the output's temporary file and says so
        run = open_run(run_dir, verbose)
        rows, warnings = predict_file(run, input_, output, keep or [], proba, fmt)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if output != "-":
        print(f"wrote {rows} predictions to {output}", file=sys.stderr)


@app.command()
@guarded
def compare(
    runs: Annotated[list[Path], typer.Argument(metavar="RUN_OR_SWEEP_DIR...", help="Run directories, or sweep directories (all their trials).")],
    metric: Annotated[Optional[str], typer.Option("--metric", help="SPLIT.NAME to show and plot; default validation.loss (train.loss without validation rows).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="The overlay plot of the learning curves; default comparison.png, none with --json unless given.")] = None,
    x_axis: Annotated[Literal["epoch", "step", "time"], typer.Option("--x", help="The plot's x-axis: epochs, weight updates, or seconds of training.")] = "epoch",
    json_output: JsonComparisonOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare runs: the config keys that differ, final metrics, learning curves overlaid."""
    from mlpctl import compare as comparing
    from mlpctl.console import make_console

    comparison = comparing.collect(runs, metric)
    for line in comparison.unreadable:
        print(f"warning: left out, unreadable: {line}", file=sys.stderr)
    if output is None and not json_output:
        output = Path("comparison.png")
    if output is not None:
        comparing.overlay_plot(comparison, output, x_axis)
    if json_output:
        out(json.dumps(comparison.document(), indent=2))
    else:
        console = make_console()
        console.print(comparing.table(comparison))
        console.print(f"learning curves: {output}")


@app.command()
@guarded
def show(
    config: Annotated[Path, typer.Argument(help="The YAML config file, or a run directory.")],
    set_: SetOption = None,
    model: Annotated[bool, typer.Option("--model", help="Also build the model and print its summary (reads the data, loads TensorFlow).")] = False,
    debug: DebugOption = False,
) -> None:
    """Print the resolved config (every default filled in) without training; for a run
    directory, its config and (on stderr) the run's status."""
    from mlpctl.config import load_config, resolved_yaml

    if config.is_dir():
        _print_run_status(config)
        config = config / "config.yaml"
    run_config = load_config(config, set_ or [])
    out(resolved_yaml(run_config), end="")
    if model:
        from mlpctl.data import load_dataset
        from mlpctl.runtime import start_tensorflow

        dataset = load_dataset(run_config)
        start_tensorflow()
        from mlpctl.model import build_model

        network = build_model(run_config, dataset.preprocessing)
        out()
        network.summary(print_fn=lambda line, **_: out(line))
        out(f"parameters: {network.count_params()}")


def _print_run_status(run_dir: Path) -> None:
    """`run: killed after 120 epoch(s) (pid 4242 on host)`, and the like, on stderr."""
    from mlpctl.runstate import describe, read_record

    try:
        document = read_record(run_dir / "metrics.json")
    except FileNotFoundError:
        return
    print(f"run: {describe(document, run_dir)}", file=sys.stderr)


@app.command()
@guarded
def schema(debug: DebugOption = False) -> None:
    """Print the config's JSON Schema, for editors that validate and complete YAML."""
    from mlpctl.config import RunConfig

    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "mlpctl config",
                **RunConfig.model_json_schema()}
    out(json.dumps(document, indent=2))


@app.command()
@guarded
def init(
    data: Annotated[Path, typer.Option("--data", help="The CSV file to look at.")],
    target: Annotated[str, typer.Option("--target", help="The label or target column.")],
    scenario: Annotated[Optional[Literal[catalog.SCENARIOS]], typer.Option("--scenario", help="Guessed from the target column if left out.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Config file to write; default <csv name>.yaml here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file.")] = False,
    debug: DebugOption = False,
) -> None:
    """Write a starter config after looking at a CSV file."""
    from mlpctl.starter import write_starter

    written = write_starter(data, target, output, scenario, force)
    print(f"wrote {written}; check it with: mlpctl validate {written}", file=sys.stderr)


def _show_version(value: bool) -> None:
    if value:
        try:
            out(f"mlpctl {__version__}")
        except MlpctlError as error:  # an eager option: before any command's own guard
            _fail(error, str(error), error.exit_code, debug=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Train multilayer perceptrons from a YAML file.

    Exit codes: 0 completed, 1 internal error (a bug), 2 usage, config or unwritable output,
    3 data error, 4 training diverged, 129 hung up (SIGHUP), 130 interrupted (Ctrl-C),
    143 terminated (SIGTERM).
    """


def standard_streams_open() -> None:
    """Standard input, output and error on /dev/null where the process was started without them
    (`2>&-`, as daemons and some job runners do). Python sets such a stream to None, and the
    first message would fail the run; worse, the next file opened would take the free descriptor
    and get TensorFlow's own log lines written into it. Messages to a missing stream are dropped."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False, encoding="utf-8", errors="replace"))


def main() -> None:
    standard_streams_open()
    app()
