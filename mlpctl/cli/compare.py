"""`mlpctl compare`: runs side by side, the keys that differ, learning curves overlaid."""

import json
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mlpctl.cli.app import DebugOption, JsonComparisonOption, app, guarded, out


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
    from mlpctl.console import make_console
    from mlpctl.workflows import compare as comparing

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
