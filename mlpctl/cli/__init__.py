"""The command line: parse, call a workflow, print, map errors to exit codes. Nothing else.

`app` (the Typer app, the shared options and the error guard) and one module per command, each
registering itself on import. Workflows are imported inside the commands, so that `mlpctl --help`
and `mlpctl validate` stay fast and never load TensorFlow (or pandas).
"""

import importlib
import os
import sys
from typing import Annotated

import typer

from mlpctl import __version__
from mlpctl.cli.app import app, fail, out
from mlpctl.errors import MlpctlError

__all__ = ["app", "main"]

COMMANDS = ("train", "validate", "sweep", "evaluate", "predict", "compare", "show", "schema", "init")  # as --help lists them
for _command in COMMANDS:
    importlib.import_module(f"mlpctl.cli.{_command}")  # each module registers its command on `app`


def _show_version(value: bool) -> None:
    if value:
        try:
            out(f"mlpctl {__version__}")
        except MlpctlError as error:  # an eager option: before any command's own guard
            fail(error, str(error), error.exit_code, debug=False)
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
    137 a sweep's trial was killed (SIGKILL), 143 terminated (SIGTERM).
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
    """The `mlpctl` command: standard streams made usable, then the Typer app."""
    standard_streams_open()
    app()
