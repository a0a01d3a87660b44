"""One run, start to finish: data -> run directory -> train -> report. Used by `mlpctl train`
and by every sweep trial, so a trial is exactly an ordinary run. Loads TensorFlow lazily."""

import os
from dataclasses import dataclass
from pathlib import Path

from mlpctl import report
from mlpctl.config import RunConfig
from mlpctl.console import Progress, native_stderr_silenced
from mlpctl.data import Dataset, load_dataset

SMOKE_ROWS = 300
SMOKE_EPOCHS = 2
ONE_THREAD_WORK = 10_000_000  # weights x rows per training step; below it, one TF thread is fastest
TF_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclass
class Run:
    result: object  # train.TrainResult
    document: dict  # metrics.json's content
    run_dir: Path


def import_trainer(verbose: bool = False):
    """Import TensorFlow (the slow part) without starting it, hiding its logs unless asked."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced(enabled=not verbose):
        from mlpctl import train as trainer
    return trainer


def load_trainer(verbose: bool = False, threads: int | None = None):
    """Import TensorFlow and start it with `threads`, hiding its start-up logs unless asked."""
    trainer = import_trainer(verbose)
    with native_stderr_silenced(enabled=not verbose):
        trainer.start_tensorflow(verbose, threads)
    return trainer


def tf_threads(config: RunConfig, dataset: Dataset, cores: int | None = None) -> int | None:
    """1 when each training step is small, else `cores` (None: TF's default, one per core).

    A small step's ops take microseconds, and handing them between TF's threads costs more than
    a second core gives: the digits net's epoch takes 6 ms on one thread and 11 ms on two
    (bench/README.md). Bigger steps get the cores, which they can use. TF's own
    TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, when set, win."""
    if any(name in os.environ for name in TF_THREAD_VARIABLES):
        return None
    preprocessing = dataset.preprocessing
    widths = [preprocessing.n_inputs, *(layer.units for layer in config.model.layers),
              preprocessing.n_outputs(config.scenario)]
    weights = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))
    batch = config.training.batch_rows(len(dataset.x["train"]))
    return 1 if weights * batch < ONE_THREAD_WORK else cores


def check_environment(config: RunConfig) -> None:
    """Before any work, and before a run directory exists: what the config names must be
    importable (the tensorboard package, a custom loss function)."""
    import importlib.util

    from mlpctl.errors import ConfigError

    if config.report.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("report.tensorboard: needs the tensorboard package: pip install 'mlpctl[tensorboard]'")
    if config.loss_name is None:
        with native_stderr_silenced():
            from mlpctl.model import import_custom

        import_custom(config.loss.custom)


def make_smoke(config: RunConfig) -> RunConfig:
    """At most SMOKE_EPOCHS epochs (the rows are capped when the data is read)."""
    config.training.epochs = min(config.training.epochs, SMOKE_EPOCHS)
    return config


def execute(config: RunConfig, output_dir: Path, progress: Progress, *, smoke: bool = False,
            verbose: bool = False, run_name: str | None = None, on_start=None, cores: int | None = None) -> Run:
    """Data is read and checked before a run directory exists; config.yaml is written before
    training. A smoke run writes metrics.json alone. `on_start(run_dir)` is called once the
    directory exists. `cores`: the cores this run may use (a sweep worker's share), if not all."""
    check_environment(config)
    dataset = load_dataset(config, max_rows=SMOKE_ROWS if smoke else None)
    run_dir = (report.create_run_dir(output_dir, run_name, timestamped=False) if run_name
               else report.create_run_dir(output_dir, config.name))
    if not smoke:
        report.write_config(run_dir, config)
    if on_start:
        on_start(run_dir)
    trainer = load_trainer(verbose, tf_threads(config, dataset, cores))
    result = trainer.train(config, dataset, progress)
    if config.report.tensorboard and not smoke and result.history:
        trainer.write_tensorboard(result.history, run_dir / "tensorboard")
    document = report.write_run(run_dir, config, dataset, result, trainer.versions(), smoke=smoke)
    return Run(result, document, run_dir)
