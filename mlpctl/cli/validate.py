"""`mlpctl validate`: configs (and with --data their data files) checked, nothing trained."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from mlpctl.cli.app import DebugOption, SetOption, app, guarded, warn_config


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
            warn_config(run_config, path, quiet=False)
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
    from mlpctl.training.engines import check_model_fits

    dataset = load_dataset(run_config)
    check_model_fits(run_config, dataset)
    for warning in dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    rows = ", ".join(f"{split} {count}" for split, count in dataset.rows.items())
    return f" (data: {rows} rows; {dataset.preprocessing.n_inputs} inputs)"
