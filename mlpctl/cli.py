"""The command line: parse, call the stages, map errors to exit codes. Nothing else.

Stages are imported inside the commands so that `mlpctl --help` and `mlpctl validate` stay fast
and never load TensorFlow (or pandas).
"""

import functools
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlpctl import __version__
from mlpctl.errors import ExitCode, MlpctlError

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
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks (also MLPCTL_DEBUG=1).")
]
EXIT_BY_STATUS = {
    "completed": ExitCode.COMPLETED,
    "diverged": ExitCode.DIVERGED,
    "interrupted": ExitCode.INTERRUPTED,
}


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
            _fail(error, "interrupted", ExitCode.INTERRUPTED, debug)
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
    for line in message.splitlines():
        print(f"error: {line}", file=sys.stderr)
    raise typer.Exit(int(code))


@app.command()
@guarded
def train(
    config: Annotated[Path, typer.Argument(help="The run's YAML config file.")],
    set_: SetOption = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where run directories go.")] = Path("runs"),
    json_output: Annotated[bool, typer.Option("--json", help="Print metrics.json to stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show TensorFlow's own logs.")] = False,
    debug: DebugOption = False,
) -> None:
    """Train the config's network and write a new run directory."""
    from mlpctl import report
    from mlpctl.config import load_config
    from mlpctl.console import make_console, make_progress
    from mlpctl.data import load_dataset

    console = make_console()
    run_config = load_config(config, set_ or [])
    dataset = load_dataset(run_config)
    run_dir = report.create_run_dir(output_dir, run_config.name)
    report.write_config(run_dir, run_config)
    trainer = _load_trainer(verbose)
    if not quiet:
        console.print(f"run directory: {run_dir}")
    result = trainer.train(run_config, dataset, make_progress(console, quiet))
    document = report.write_run(run_dir, run_config, dataset.preprocessing, result, trainer.versions())
    if not quiet:
        _print_outcome(console, result, run_dir)
    if json_output:
        print(json.dumps(document, indent=2))
    raise typer.Exit(int(EXIT_BY_STATUS[result.status]))


def _load_trainer(verbose: bool):
    """Import TensorFlow, hiding its start-up logs unless asked for them."""
    from mlpctl.console import native_stderr_silenced

    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced(enabled=not verbose):
        from mlpctl import train as trainer

        trainer.start_tensorflow(verbose)
    return trainer


def _print_outcome(console, result, run_dir: Path) -> None:
    from mlpctl.console import metrics_table

    for note in result.notes:
        console.print(note)
    if result.metrics:
        console.print(metrics_table(result.metrics))
    if result.status == "diverged":
        console.print(
            f"error: training diverged at epoch {result.epochs_run}: the loss is no longer a "
            "finite number; lower optimizer.learning_rate or normalize the data",
            style="red",
        )
    elif result.status == "interrupted":
        console.print(f"interrupted after {result.epochs_run} epoch(s)", style="yellow")
    elif result.stopped_early_at:
        console.print(f"early stopping at epoch {result.stopped_early_at}")
    console.print(f"run directory: {run_dir}")


@app.command()
@guarded
def validate(
    configs: Annotated[list[Path], typer.Argument(help="Config files to check.")],
    set_: SetOption = None,
    debug: DebugOption = False,
) -> None:
    """Check config files without training (and without loading TensorFlow)."""
    from mlpctl.config import load_config
    from mlpctl.errors import ConfigError

    failed = 0
    for path in configs:
        try:
            load_config(path, set_ or [])
        except ConfigError as error:
            failed += 1
            for line in str(error).splitlines():
                print(f"error: {line}", file=sys.stderr)
        else:
            print(f"ok: {path}", file=sys.stderr)
    if failed:
        raise typer.Exit(int(ExitCode.CONFIG))


def _show_version(value: bool) -> None:
    if value:
        print(f"mlpctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Train multilayer perceptrons from a YAML file.

    Exit codes: 0 completed, 1 internal error, 2 usage or config error, 3 data error,
    4 training diverged, 130 interrupted.
    """


def main() -> None:
    app()
