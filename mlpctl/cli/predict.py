"""`mlpctl predict`: a trained run's answers for new rows, streamed from a file or stdin."""

import sys
from typing import Annotated, Literal, Optional

import typer

from mlpctl.cli.app import DebugOption, RunDirArgument, VerboseOption, app, guarded
from mlpctl.signals import stop_signals_handled


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
    from mlpctl.workflows.predict import check_formats, check_input, open_run, predict_file

    check_input(input_)
    check_formats(input_, output, fmt)
    with stop_signals_handled():  # a stop removes the output's temporary file and says so
        run = open_run(run_dir, verbose)
        rows, warnings = predict_file(run, input_, output, keep or [], proba, fmt)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if output != "-":
        print(f"wrote {rows} predictions to {output}", file=sys.stderr)
