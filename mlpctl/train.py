"""Train stage: seed, compile, fit, evaluate. Imports TensorFlow; the CLI loads it lazily.

Speed notes (see bench/): Keras rebuilds its input pipeline every epoch when `fit` is given
NumPy arrays, so training data goes in as one repeated `tf.data` pipeline with `steps_per_epoch`,
and `steps_per_execution` runs a whole epoch per call into TensorFlow. Nothing runs in Python
per step; our callbacks act once per epoch.
"""

import math
import platform
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

import mlpctl
from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.console import Progress
from mlpctl.data import Dataset
from mlpctl.model import build_model, get_loss, get_metrics, get_optimizer

EVAL_BATCH = 4096  # rows per step when evaluating: large, since no gradients are kept


@dataclass
class TrainResult:
    model: keras.Sequential
    status: str  # completed | diverged | interrupted
    history: list[dict[str, float]]
    metrics: dict[str, dict[str, float | None]]
    duration_s: float
    stopped_early_at: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.history)


def start_tensorflow() -> None:
    """Touch the devices once, so that TF's one-time start-up logging happens here, where
    the CLI can silence it, and not in the middle of the progress display."""
    tf.config.list_logical_devices()


def seed_everything(seed: int) -> None:
    """Same config and seed, same numbers: seeds Python, NumPy and TF, and makes TF ops
    deterministic (some CPU reductions are otherwise free to change summation order)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train(config: RunConfig, dataset: Dataset, progress: Progress | None = None) -> TrainResult:
    progress = progress or Progress()
    seed_everything(config.seed)
    one_hot = catalog.canonical_loss(config.loss) in catalog.ONE_HOT_LOSSES
    targets = _targets(dataset, one_hot)
    n_train = len(dataset.x["train"])
    batch = n_train if config.training.batch_size == "full" else min(config.training.batch_size, n_train)
    steps = math.ceil(n_train / batch)

    model = build_model(config, dataset.preprocessing)
    model.compile(
        optimizer=get_optimizer(config),
        loss=get_loss(config.loss),
        metrics=get_metrics(config.scenario, one_hot),
        steps_per_execution=steps,
    )
    recorder = EpochRecorder(progress)
    callbacks = [recorder, *_early_stopping(config)]
    validation = _pipeline(dataset.x["validation"], targets["validation"]) if "validation" in targets else None

    progress.start(config.training.epochs)
    started = time.perf_counter()
    status = "completed"
    try:
        model.fit(
            _training_pipeline(dataset.x["train"], targets["train"], batch, config.seed),
            steps_per_epoch=steps,
            epochs=config.training.epochs,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=0,
        )
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        progress.finish()
    duration = time.perf_counter() - started
    if recorder.diverged:
        status = "diverged"
    metrics = {} if status == "interrupted" else evaluate(model, dataset.x, targets)
    return TrainResult(
        model=model,
        status=status,
        history=recorder.rows,
        metrics=metrics,
        duration_s=duration,
        stopped_early_at=_stopped_at(callbacks),
    )


def _targets(dataset: Dataset, one_hot: bool) -> dict[str, np.ndarray]:
    if not one_hot:
        return dataset.y
    classes = len(dataset.preprocessing.classes)
    return {split: keras.utils.to_categorical(y, classes) for split, y in dataset.y.items()}


def _training_pipeline(x: np.ndarray, y: np.ndarray, batch: int, seed: int) -> tf.data.Dataset:
    """One endless pipeline: reshuffled (seeded) every pass, unless each step sees all rows."""
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if batch < len(x):
        data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch).repeat().prefetch(tf.data.AUTOTUNE)


def _pipeline(x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(EVAL_BATCH)


def _early_stopping(config: RunConfig) -> list[keras.callbacks.Callback]:
    stopping = config.training.early_stopping
    if stopping is None:
        return []
    return [
        keras.callbacks.EarlyStopping(
            monitor=stopping.monitor,
            patience=stopping.patience,
            min_delta=stopping.min_delta,
            mode=stopping.mode,
            restore_best_weights=stopping.restore_best,
        )
    ]


def _stopped_at(callbacks: list) -> int | None:
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.EarlyStopping) and callback.stopped_epoch > 0:
            return callback.stopped_epoch + 1
    return None


class EpochRecorder(keras.callbacks.Callback):
    """Keeps one history row per epoch (with the learning rate), reports progress, and stops
    training when the loss stops being a finite number."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress
        self.rows: list[dict[str, float]] = []
        self.diverged = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {key: float(value) for key, value in (logs or {}).items()}
        row = {"epoch": epoch + 1, **dict(sorted(logs.items(), key=_column_order))}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rows.append(row)
        self.progress.epoch(epoch + 1, row)
        if not math.isfinite(row.get("loss", 0.0)):
            self.diverged = True
            self.model.stop_training = True


def _column_order(item: tuple[str, float]) -> tuple[bool, bool]:
    """loss, metrics, val_loss, val_metrics: training before validation, loss first in each."""
    name = item[0]
    return (name.startswith("val_"), name.removeprefix("val_") != "loss")


def evaluate(model: keras.Model, x: dict, y: dict) -> dict[str, dict[str, float | None]]:
    """Final metrics per split, in inference mode (no dropout). Non-finite values become None."""
    metrics = {}
    for split in x:
        values = model.evaluate(_pipeline(x[split], y[split]), verbose=0, return_dict=True)
        metrics[split] = {name: _finite_or_none(value) for name, value in values.items()}
    return metrics


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def versions() -> dict[str, str]:
    return {
        "mlpctl": mlpctl.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
