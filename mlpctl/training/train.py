"""Train stage: seed, build and compile the model, run the chosen engine, evaluate every split.

Imports TensorFlow: commands load it after `runtime.start_tensorflow`, never at start-up.
"""

import contextlib
import math
import time
from dataclasses import dataclass, field

import keras

from mlpctl import catalog, scoring, signals
from mlpctl.config import RunConfig
from mlpctl.data import Dataset
from mlpctl.data.spill import SPILL_FOLDER
from mlpctl.data.streaming import CHUNK_ROWS
from mlpctl.errors import ConfigError
from mlpctl.model import build_model, compile_model
from mlpctl.progress import Progress
from mlpctl.rundir.checkpoint import Checkpoints
from mlpctl.runtime import mirrored_strategy, seed_everything
from mlpctl.training import engines
from mlpctl.training.engines import stream
from mlpctl.training.engines.batches import eval_pipeline


@dataclass
class TrainResult:
    """What training hands to the report: the trained model, how it ended, its history and final metrics."""
    model: keras.Sequential
    status: str  # completed | diverged | interrupted
    history: list[dict[str, float]]
    metrics: dict[str, dict[str, float | None]]
    duration_s: float
    engine: str
    stopped_early_at: int | None = None
    notes: list[str] = field(default_factory=list)
    snapshots: dict[int, list] = field(default_factory=dict)  # epoch -> the weights after it (report.snapshots)
    jit: dict = field(default_factory=dict)  # {"on": whether XLA compiled the training, "reason": why}
    distribute: dict | None = None  # {"strategy": "mirrored", "replicas": devices}, training.distribute

    @property
    def epochs_run(self) -> int:
        """The epochs trained (a resumed run's counted from its first)."""
        return len(self.history)


def train(config: RunConfig, dataset: Dataset, progress: Progress | None = None,
          checkpoints: Checkpoints | None = None) -> TrainResult:
    """`checkpoints`: when to write them and, to resume, the one to go on from. A stop signal
    is taken between chunks of epochs (or epochs, or iterations) and after the final
    evaluation, never in the middle of TensorFlow (`signals.polled`)."""
    with signals.polled():
        return _train(config, dataset, progress, checkpoints)


def _train(config: RunConfig, dataset: Dataset, progress: Progress | None,
           checkpoints: Checkpoints | None) -> TrainResult:
    progress = progress or Progress()
    seed_everything(config.seed)
    streaming = getattr(dataset, "streaming", False)
    targets = loss_targets(config, dataset.y, dataset.preprocessing.classes)
    rows = dataset.rows["train"] if streaming else len(dataset.x["train"])
    engine = "fit" if streaming else engines.choose_engine(config)
    jit, jit_reason = engines.choose_jit(config, rows, engines.dense_weights(config, dataset.preprocessing))
    strategy = mirrored_strategy() if config.training.distribute == "mirrored" else None
    if strategy:
        _check_batch_splits(config.training.batch_rows(rows), strategy.num_replicas_in_sync)
    with strategy.scope() if strategy else contextlib.nullcontext():  # mirrored: variables on every device
        model = compile_model(build_model(config, dataset.preprocessing), config, train_rows=rows,
                              steps_per_execution=_steps_per_execution(streaming, strategy))
        model.optimizer.build(model.trainable_variables)  # its variables exist now, for a checkpoint
    progress.start(config.training.epochs)
    started = time.perf_counter()
    try:
        if streaming:
            outcome = stream.run(config, model, dataset, config.training.batch_rows(rows), progress,
                                 checkpoints or Checkpoints(None, None, None))
        else:
            outcome = engines.runner(engine)(config, model, dataset.x, targets, dataset.weights,
                                             config.training.batch_rows(rows), progress, checkpoints,
                                             **({"jit": jit} if engine == "graph" else {}))
    finally:
        progress.finish()
    duration = time.perf_counter() - started
    if checkpoints and checkpoints.resume:
        duration += checkpoints.resume.duration_s
    metrics = {}
    if outcome.history:  # an interrupted run too is evaluated on the weights it stopped with
        try:
            metrics = stream.evaluate(config, model, dataset) if streaming else evaluate(model, dataset.x, targets)
            if not outcome.interrupted:
                signals.check()
        except KeyboardInterrupt:  # stopped (again) while evaluating: the history and the model are kept
            outcome.interrupted = True
    status = "interrupted" if outcome.interrupted else "diverged" if outcome.diverged else "completed"
    return TrainResult(
        model=model,
        status=status,
        history=[scoring.with_data_loss(row) for row in outcome.history],
        metrics=metrics,
        duration_s=duration,
        engine=engine,
        stopped_early_at=outcome.stopped_early_at,
        notes=(_target_note(config, outcome) + _resume_note(engine, checkpoints) + _streaming_note(streaming)
               + outcome.notes),
        snapshots=_with_last(config, outcome, model, status),
        jit={"on": outcome.compiled, "reason": jit_reason},
        distribute=strategy and {"strategy": "mirrored", "replicas": strategy.num_replicas_in_sync},
    )


def _check_batch_splits(batch: int, replicas: int) -> None:
    """Keras reduces the first training batch across the replicas to learn its shapes, which
    fails unless it splits evenly (engines.batches.even_batch)."""
    if batch % replicas:
        raise ConfigError(f"training.batch_size: a batch of {batch} rows does not split evenly over the {replicas} "
                          f"devices of training.distribute: mirrored; use a multiple of {replicas}")


def _steps_per_execution(streaming: bool, strategy) -> int | None:
    """The fit engine's steps per call into TensorFlow: a whole epoch (None), streaming's own,
    or one under a tf.distribute strategy (Keras 3's multi-step function fails there: "You must
    feed a value for placeholder tensor", with plain Keras models too)."""
    if strategy is not None:
        return 1
    return stream.STEPS_PER_EXECUTION if streaming else None


def _with_last(config: RunConfig, outcome: engines.Outcome, model, status: str) -> dict[int, list]:
    """The engine's snapshots, and the weights training ended with where the config asks for
    them (`last`, what model.keras holds: early stopping may have restored an earlier epoch's),
    under the last epoch run."""
    snapshots = dict(outcome.snapshots)
    if config.report.keeps_last and outcome.history and status != "diverged":
        snapshots[len(outcome.history)] = model.get_weights()
    return snapshots


def _target_note(config: RunConfig, outcome: engines.Outcome) -> list[str]:
    target = config.training.stop_at
    if target is None or not outcome.history or outcome.diverged or outcome.interrupted:
        return []
    last = outcome.history[-1]
    if target.reached(last[target.monitor]):
        return [f"stopped at epoch {last['epoch']}: {target.monitor} reached {target.value}"]
    return []


def _streaming_note(streaming: bool) -> list[str]:
    return [f"streamed (data.streaming): the rows read a chunk at a time and spilled, transformed, to float32 "
            f"files in the run directory's {SPILL_FOLDER} folder (removed at the end); rows shuffled within files of "
            f"about {CHUNK_ROWS:,} rows; plots on the first rows of each split"] if streaming else []


def _resume_note(engine: str, checkpoints: Checkpoints | None) -> list[str]:
    if not (checkpoints and checkpoints.resume):
        return []
    note = f"resumed from the checkpoint after epoch {checkpoints.resume.epoch}"
    return [note + (" (L-BFGS restarted from its weights)" if engine == "lbfgs" else "")]


def loss_targets(config: RunConfig, y: dict, classes) -> dict:
    """Labels as the config's loss wants them (see scoring.loss_targets)."""
    return scoring.loss_targets(config.loss_name in catalog.ONE_HOT_LOSSES, y, classes)


def evaluate(model: keras.Model, x: dict, y: dict) -> dict[str, dict[str, float | None]]:
    """Final metrics per split, in inference mode (no dropout). Non-finite values become None."""
    metrics = {}
    for split in x:
        values = model.evaluate(eval_pipeline(x[split], y[split], model), verbose=0, return_dict=True)
        metrics[split] = scoring.with_data_loss({name: _finite_or_none(value) for name, value in values.items()})
    return metrics


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
