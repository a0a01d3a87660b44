"""The Typer app and what every command shares: options, the error guard, stdout."""

import contextlib
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlpctl.errors import ExitCode, MlpctlError, exit_code_of
from mlpctl.files import follow_latest, write_stdout
from mlpctl.signals import signal_of

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
RunDirArgument = Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory from `mlpctl train`.", callback=follow_latest)]


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
            fail(error, str(error), error.exit_code, debug)
        except KeyboardInterrupt as error:
            name = signal_of(error)
            code = exit_code_of("interrupted", name)
            fail(error, "interrupted" if code == ExitCode.INTERRUPTED else f"terminated ({name})", code, debug)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # noqa: BLE001 - the one place that catches everything
            message = f"internal error: {type(error).__name__}: {error}"
            if not debug:
                message += " (run again with --debug for the traceback)"
            fail(error, message, ExitCode.INTERNAL, debug)

    return wrapper


def fail(error: BaseException, message: str, code: ExitCode, debug: bool) -> None:
    """Print `message` as `error:` lines on stderr (the traceback first with --debug) and exit with `code`."""
    if debug:
        traceback.print_exception(error)
    with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) takes stderr with it
        for line in message.splitlines():
            print(f"error: {line}", file=sys.stderr)
    raise typer.Exit(int(code))


def warn_config(run_config, path: Path, quiet: bool) -> None:
    """What the config allows but probably did not mean: one line each, on stderr."""
    if not quiet:
        for warning in run_config.warnings():
            print(f"warning: {path}: {warning}", file=sys.stderr)
