"""`mlpctl evaluate`: a trained run's metrics and plots on new labelled rows."""

import json
from pathlib import Path
from typing import Annotated

import typer

from mlpctl.cli.app import (
    DebugOption,
    JsonEvaluationOption,
    QuietOption,
    RunDirArgument,
    VerboseOption,
    app,
    guarded,
    out,
)


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
    from mlpctl.workflows.evaluate import evaluate_run
    from mlpctl.workflows.predict import open_run

    document, directory = evaluate_run(open_run(run_dir, verbose), data)
    if not quiet:
        console = make_console()
        console.print(metrics_table({data.name: document["metrics"]}))
        console.print(f"evaluation: {directory}")
    if json_output:
        out(json.dumps(document, indent=2))
