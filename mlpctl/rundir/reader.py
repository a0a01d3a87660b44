"""Reading a run directory back: its record, history and config, and a trained run whole."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpctl.config import RunConfig, config_from_mapping, read_raw
from mlpctl.data import Preprocessing
from mlpctl.data.preprocessing import read_saved
from mlpctl.errors import ConfigError, DataError, described
from mlpctl.files import JSON_BYTES, read_regular
from mlpctl.rundir import states
from mlpctl.rundir.history import read_history
from mlpctl.rundir.layout import FILES


def record(run_dir: Path) -> dict:
    """metrics.json, checked (`states.read_record`)."""
    return states.read_record(run_dir / FILES["metrics"])


def history(run_dir: Path) -> list[dict[str, float]]:
    """history.csv's complete rows as numbers; none for a run without one."""
    return read_history(run_dir / FILES["history"])


def config(run_dir: Path) -> RunConfig:
    """config.yaml, validated as any config is (`run_config`)."""
    return run_config(run_dir / FILES["config"])


def run_config(path: Path, overrides: Sequence[str] = ()) -> RunConfig:
    """A config file, read as `config.load_config` reads it, except that a run directory's own
    config.yaml written before data.split_seed existed splits by its `seed`, as that run did: a
    repeated or resumed old run sees its own rows."""
    raw = read_raw(path)
    data = raw.get("data")
    if path.name == FILES["config"] and (path.parent / FILES["metrics"]).is_file() and isinstance(data, dict):
        data.setdefault("split_seed", raw.get("seed", 0))
    return config_from_mapping(raw, overrides, path)


@dataclass
class TrainedRun:
    """A trained run opened for use: its config, its fitted preprocessing and its model."""
    run_dir: Path
    config: RunConfig
    preprocessing: Preprocessing
    model: Any  # keras.Model

    @property
    def classes(self) -> list | None:
        return self.preprocessing.classes


def load_run(run_dir: Path, load_model) -> TrainedRun:
    """`load_model(path, config, preprocessing)` loads the model (passed in, so that reading the
    rest needs no TF); the config and preprocessing are read and checked first."""
    _check_ended(run_dir)
    for name in (FILES["config"], FILES["preprocessing"], FILES["model"]):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir}: not a usable run directory (no {name})")
    config = run_config(run_dir / FILES["config"])
    path = run_dir / FILES["preprocessing"]
    try:
        preprocessing = read_saved(read_regular(path, JSON_BYTES), config.scenario)
    except DataError as error:
        raise DataError(f"{path}: not what mlpctl wrote: {str(error).removeprefix(f'{path}: ')}") from None
    try:
        model = load_model(run_dir / FILES["model"], config, preprocessing)
    except DataError as error:
        raise DataError(f"{run_dir / FILES['model']}: not this run's model: {error}") from None
    except Exception as error:  # noqa: BLE001 - a damaged file fails in many ways inside Keras
        raise DataError(f"{run_dir / FILES['model']}: cannot be loaded ({described(error)})") from None
    return TrainedRun(run_dir, config, preprocessing, model)


def _check_ended(run_dir: Path) -> None:
    """A run that is still training, or was killed, has no model yet: say so, not "no model.keras"."""
    try:
        document = states.read_record(run_dir / FILES["metrics"])
    except (FileNotFoundError, DataError):
        return  # the files themselves are checked next
    if states.status_of(document) in ("running", "killed"):
        raise ConfigError(f"{run_dir}: the run is {states.describe(document, run_dir)}; it has no model to use")
