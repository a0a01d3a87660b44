"""`mlpctl init`: a starter config written after looking at a CSV (`workflows.starter`)."""

import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mlpctl import catalog
from mlpctl.cli.app import DebugOption, app, guarded


@app.command()
@guarded
def init(
    data: Annotated[Path, typer.Option("--data", help="The CSV file to look at.")],
    target: Annotated[str, typer.Option("--target", help="The label or target column.")],
    scenario: Annotated[Optional[Literal[catalog.SCENARIOS]], typer.Option("--scenario", help="Guessed from the target column if left out.")] = None,  # type: ignore[valid-type]  # Typer reads the names at run time
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Config file to write; default <csv name>.yaml here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file.")] = False,
    debug: DebugOption = False,
) -> None:
    """Write a starter config after looking at a CSV file."""
    from mlpctl.workflows.starter import write_starter

    written = write_starter(data, target, output, scenario, force)
    print(f"wrote {written}; check it with: mlpctl validate {written}", file=sys.stderr)
