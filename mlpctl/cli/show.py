"""`mlpctl show`: a config with every default filled in; for a run directory, its status too."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from mlpctl.cli.app import DebugOption, SetOption, app, guarded, out
from mlpctl.files import follow_latest
from mlpctl.rundir.layout import FILES


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

    config = follow_latest(config)
    if config.is_dir():
        _print_run_status(config)
        config = config / FILES["config"]
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
    from mlpctl.rundir import reader
    from mlpctl.rundir.states import describe

    try:
        document = reader.record(run_dir)
    except FileNotFoundError:
        return
    print(f"run: {describe(document, run_dir)}", file=sys.stderr)
