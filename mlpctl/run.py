"""One run, start to finish: data -> run directory -> train -> report. Used by `mlpctl train`
and by every sweep trial, so a trial is exactly an ordinary run. Loads TensorFlow lazily."""

from dataclasses import dataclass
from pathlib import Path

from mlpctl import report, runtime
from mlpctl.config import RunConfig
from mlpctl.data import Dataset, load_dataset
from mlpctl.files import create_run_dir
from mlpctl.progress import Progress

SMOKE_ROWS = 300
SMOKE_EPOCHS = 2


@dataclass
class Run:
    result: object  # train.TrainResult
    document: dict  # metrics.json's content
    run_dir: Path


def step_work(config: RunConfig, dataset: Dataset) -> int:
    """Weights x rows of one training step: what decides TensorFlow's threads (runtime.tf_threads)."""
    preprocessing = dataset.preprocessing
    widths = [preprocessing.n_inputs, *(layer.units for layer in config.model.layers),
              preprocessing.n_outputs(config.scenario)]
    weights = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))
    return weights * config.training.batch_rows(len(dataset.x["train"]))


def load_trainer(config: RunConfig, dataset: Dataset, verbose: bool = False, cores: int | None = None):
    """TensorFlow started with the threads this run's steps want, and the train stage."""
    runtime.start_tensorflow(verbose, runtime.tf_threads(step_work(config, dataset), cores))
    from mlpctl import train as trainer

    return trainer


def check_environment(config: RunConfig) -> None:
    """Before any work, and before a run directory exists: what the config names must be
    importable (the tensorboard package, a custom loss function)."""
    import importlib.util

    from mlpctl.errors import ConfigError

    if config.report.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("report.tensorboard: needs the tensorboard package: pip install 'mlpctl[tensorboard]'")
    if config.loss_name is None:
        runtime.import_tensorflow()  # the user's loss module may import it: the door sets its defaults
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
    run_dir = (create_run_dir(output_dir, run_name, timestamped=False) if run_name
               else create_run_dir(output_dir, config.name))
    if not smoke:
        report.write_config(run_dir, config)
    if on_start:
        on_start(run_dir)
    trainer = load_trainer(config, dataset, verbose, cores)
    result = trainer.train(config, dataset, progress)
    if config.report.tensorboard and not smoke and result.history:
        report.write_tensorboard(result.history, run_dir / "tensorboard")
    document = report.write_run(run_dir, config, dataset, result, runtime.versions(), smoke=smoke)
    return Run(result, document, run_dir)
