"""mlpctl from Python: train a config and read a run back, as the command line does.

    import mlpctl

    run = mlpctl.train("configs/xor.yaml", overrides={"training.epochs": 500})
    run.status, run.metrics["train"]["accuracy"], run.history["loss"][-1]
    run.predict(frame)                      # a DataFrame of the run's features -> predictions
    again = mlpctl.load_run(run.run_dir)    # any run directory, read back

`train` is the one path of `mlpctl train` too (`start`): the same checks, the same TensorFlow
start-up, the same run directory. Errors are mlpctl's own (`mlpctl.errors`: ConfigError,
DataError, OutputError), raised with the line the command line prints; a run that diverged or
was interrupted is returned, with its status, as the command line leaves it.
"""

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mlpctl.config import RunConfig, config_from_mapping, read_raw
from mlpctl.config.loading import set_key
from mlpctl.errors import ConfigError, OutputError
from mlpctl.files import follow_latest, point_latest
from mlpctl.progress import Progress
from mlpctl.rundir import reader, states
from mlpctl.signals import stop_signals_handled
from mlpctl.workflows.run import execute, make_smoke


class Run:
    """A run directory read back: how it ended, its numbers, and its model on demand.

    Attributes are read from the directory's files when asked (a run still going shows its
    progress so far); `model`, `predict` and `evaluate` start TensorFlow the first time."""

    def __init__(self, run_dir: str | Path, warnings: Iterable[str] = ()):
        self.run_dir = Path(run_dir)
        self.warnings = list(warnings)  # what did not stop the run: a plot not drawn, `latest` not moved
        self._trained = None

    def __repr__(self) -> str:
        return f"Run({str(self.run_dir)!r}, status={self.status!r})"

    @property
    def record(self) -> dict:
        """metrics.json, as written."""
        return reader.record(self.run_dir)

    @property
    def status(self) -> str:
        """completed, interrupted, diverged, running, killed, ... (README, "Outputs")."""
        return states.status_of(self.record)

    @property
    def metrics(self) -> dict[str, dict[str, float | None]]:
        """split -> metric -> final value, e.g. `run.metrics["validation"]["loss"]`."""
        return self.record.get("metrics") or {}

    @property
    def history(self) -> dict[str, list[float]]:
        """history.csv as columns, like Keras' `History.history`: name -> one value per epoch."""
        rows = reader.history(self.run_dir)
        return {name: [row[name] for row in rows] for name in (rows[0] if rows else {})}

    @property
    def config(self) -> RunConfig:
        """The run's own config.yaml, every default filled in."""
        return reader.config(self.run_dir)

    @property
    def model(self):
        """The trained keras.Model, rebuilt from the run's config with its saved weights."""
        return self._opened().model

    def predict(self, frame: pd.DataFrame, proba: bool = False, keep: Iterable[str] = ()) -> pd.DataFrame:
        """`mlpctl predict` on a DataFrame: the `keep` columns, `prediction` (the original labels,
        or values) and with `proba` one `proba_<class>` column per class."""
        from mlpctl.workflows.predict import predict_frame

        return predict_frame(self._opened(), frame, list(keep), proba)

    def evaluate(self, frame: pd.DataFrame) -> dict[str, float | None]:
        """`mlpctl evaluate` on a DataFrame of labelled rows: the metrics (no files written)."""
        from mlpctl.workflows.evaluate import evaluate_frame

        return evaluate_frame(self._opened(), frame)[0]

    def _opened(self):
        if self._trained is None:
            from mlpctl.workflows.predict import open_run

            self._trained = open_run(self.run_dir)
        return self._trained


def load_run(path: str | Path) -> Run:
    """A run directory made by `mlpctl train` or `mlpctl.train`, read back."""
    run = Run(follow_latest(Path(path)))
    try:
        run.record  # noqa: B018 - a directory without a readable metrics.json is refused here, not later
    except FileNotFoundError:
        raise ConfigError(f"{path}: not a run directory (no metrics.json)") from None
    return run


def resolve(config: str | Path | Mapping | RunConfig, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """A validated config from a YAML file's path, a mapping (as the YAML would be; a relative
    data.path is relative to the current folder) or a RunConfig, with `overrides`: dotted keys
    to values, as `--set` takes them (`{"training.epochs": 5, "model.layers.0.units": 8}`)."""
    if isinstance(config, RunConfig):
        path: str | Path = "config"
        raw = config.model_dump(mode="json")
    elif isinstance(config, Mapping):
        raw = copy.deepcopy(dict(config))  # the overrides must not change the caller's
        path = "config"
    else:
        raw, path = read_raw(Path(config)), config
    for key, value in (overrides or {}).items():
        set_key(raw, key, value, f"overrides[{key!r}]")
    return config_from_mapping(raw, [], path)


class Callbacks(Progress):
    """The user's callbacks, with Keras' hook names and meanings (`on_train_begin()`,
    `on_epoch_end(epoch, logs)` with a 0-based epoch, `on_train_end()`; each optional), called
    beside what is shown."""

    def __init__(self, callbacks: Iterable, shown: Progress):
        self.callbacks, self.shown = list(callbacks), shown

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(*args)

    def start(self, epochs: int) -> None:
        self.shown.start(epochs)
        self._call("on_train_begin")

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self.shown.epoch(epoch, logs)
        self._call("on_epoch_end", epoch - 1, dict(logs))

    def finish(self) -> None:
        self.shown.finish()
        self._call("on_train_end")


def train(config: str | Path | Mapping | RunConfig, *, overrides: Mapping[str, Any] | None = None,
          output_dir: str | Path = "runs", callbacks: Iterable = (), quiet: bool = True,
          smoke: bool = False) -> Run:
    """Train a config, as `mlpctl train` does, into a new run directory under `output_dir`.

    Args:
        config: a YAML file's path, a mapping, or a RunConfig.
        overrides: dotted keys to values, as `--set` (`{"optimizer.learning_rate": 0.01}`).
        callbacks: objects with any of Keras' `on_train_begin()`, `on_epoch_end(epoch, logs)`,
            `on_train_end()`.
        quiet: False shows the progress bar (or plain lines) on stderr, as the command line does.
        smoke: `--smoke`: at most 2 epochs on at most 300 rows, metrics.json alone.

    Returns the Run, whatever its status; raises mlpctl's errors for a bad config or data."""
    source = Path(config) if isinstance(config, str | Path) else None
    return start(resolve(config, overrides), Path(output_dir), Callbacks(callbacks, _shown(quiet)), smoke=smoke,
                 source=source)


def resume(run_dir: str | Path, *, force: bool = False, callbacks: Iterable = (), quiet: bool = True) -> Run:
    """Go on with an interrupted, killed or output_error run from its checkpoint, in its own
    directory, as `mlpctl train --resume` does (`force`: as `--force`, for a run recorded as
    running whose process died on another host). Returns the Run; raises mlpctl's errors."""
    run_dir = follow_latest(Path(run_dir))
    return start(reader.config(run_dir), run_dir.parent, Callbacks(callbacks, _shown(quiet)), resume=run_dir,
                 force=force)


def _shown(quiet: bool) -> Progress:
    """What a run from Python shows beside its callbacks: nothing, or the command line's progress."""
    if quiet:
        return Progress()
    from mlpctl.console import make_console, make_progress

    return make_progress(make_console(), False)


def start(config: RunConfig, output_dir: Path, progress: Progress, *, smoke: bool = False,
          resume: Path | None = None, verbose: bool = False, on_start=None, on_warning=None,
          force: bool = False, source: Path | None = None) -> Run:
    """The one path of `mlpctl train` and `mlpctl.train`: stop signals handled, the run
    executed (`run.execute`), `latest` pointed at a completed run. `on_start(run_dir)` as the
    directory is made; `on_warning(line)` for the data's warnings before training."""
    if smoke:
        config = make_smoke(config)
    with stop_signals_handled():
        done = execute(config, output_dir, progress, smoke=smoke, verbose=verbose, on_start=on_start,
                       resume=resume, on_warning=on_warning, force=force, source=source)
    warnings = list(done.warnings)
    if done.result.status == "completed" and not smoke:
        try:
            point_latest(done.run_dir)
        except OutputError as error:
            warnings.append(f"{error} (the run itself is complete)")
    return Run(done.run_dir, warnings)
