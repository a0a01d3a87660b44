"""`mlpctl train`: one config, or --resume RUN_DIR, into a run directory (`api.start`)."""

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlpctl.cli.app import (
    DebugOption,
    JsonMetricsOption,
    OutputDirOption,
    QuietOption,
    SetOption,
    VerboseOption,
    app,
    guarded,
    out,
    warn_config,
)
from mlpctl.errors import exit_code_of
from mlpctl.files import follow_latest
from mlpctl.rundir.layout import FILES


@app.command()
@guarded
def train(
    config: Annotated[Optional[Path], typer.Argument(help="The run's YAML config file (not with --resume).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", metavar="RUN_DIR", help="Go on with an interrupted or killed run from its last checkpoint, in its own directory.", callback=lambda path: path and follow_latest(path))] = None,
    force: Annotated[bool, typer.Option("--force", help="With --resume: take a run still recorded as running as gone (its process died on another host); refused while its lock is held.")] = False,
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
    from mlpctl.console import make_console, make_progress
    from mlpctl.errors import ConfigError
    from mlpctl.rundir.reader import run_config

    console = make_console()
    if force and resume is None:
        raise ConfigError("--force is for --resume RUN_DIR")
    if (config is None) == (resume is None) or (resume and (set_ or smoke)):
        raise ConfigError("train needs a CONFIG file, or --resume RUN_DIR (which takes the run's own "
                          "config.yaml: no CONFIG, --set or --smoke)")
    if resume is not None:  # a resumed run goes on with its own config
        config = resume / FILES["config"]
    assert config is not None
    loaded = run_config(config, set_ or [])
    warn_config(loaded, config, quiet)

    def announce(run_dir: Path) -> None:
        if not quiet:
            console.print(f"run directory: {run_dir}")

    def warn(line: str) -> None:
        if not quiet:
            print(f"warning: {line}", file=sys.stderr)

    run = start(loaded, output_dir, make_progress(console, quiet), smoke=smoke, resume=resume, force=force, source=config, verbose=verbose,
                on_start=announce, on_warning=warn)
    document = run.record
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not quiet:
        _print_outcome(console, document, run.run_dir)
    if json_output:
        out(json.dumps(document, indent=2))
    raise typer.Exit(int(exit_code_of(document["status"], document.get("signal"))))


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
