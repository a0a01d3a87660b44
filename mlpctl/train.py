"""Train stage: seed, compile, fit, evaluate. Imports TensorFlow; the CLI loads it lazily.

Speed notes (see bench/): Keras rebuilds its input pipeline every epoch when `fit` is given
NumPy arrays, so training data goes in as one repeated `tf.data` pipeline with `steps_per_epoch`,
and `steps_per_execution` runs a whole epoch per call into TensorFlow. Nothing runs in Python
per step; our callbacks act once per epoch.
"""

import math
import os
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
from mlpctl.inference import EVAL_BATCH
from mlpctl.graph_engine import GraphEngine, Outcome, epoch_order
from mlpctl.model import build_model, get_loss, get_metrics, get_optimizer



@dataclass
class TrainResult:
    model: keras.Sequential
    status: str  # completed | diverged | interrupted
    history: list[dict[str, float]]
    metrics: dict[str, dict[str, float | None]]
    duration_s: float
    engine: str
    stopped_early_at: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.history)


def start_tensorflow(verbose: bool = False, threads: int | None = None) -> None:
    """Touch the devices once, so that TF's one-time start-up logging happens here, where
    the CLI can silence it, and not in the middle of the progress display. Unless verbose,
    TF's Python-side warnings (e.g. about retracing when one process trains many models) go too.
    `threads` caps TF's thread pools before they exist; once TF has started (an earlier run in
    this process) they stay as they are. They change the speed; the numbers were bit-identical
    across thread counts on every problem in bench/."""
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # "cannot be modified after initialization"
            pass
    tf.config.list_logical_devices()
    if not verbose:
        tf.get_logger().setLevel("ERROR")


def seed_everything(seed: int) -> None:
    """Same config and seed, same numbers: seeds Python, NumPy and TF, and makes TF ops
    deterministic (some CPU reductions are otherwise free to change summation order)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def choose_engine(config: RunConfig) -> tuple[str, str | None]:
    """The engine to use and, when `auto` had to fall back to `fit`, why (one line)."""
    if config.optimizer.name == "lbfgs":
        return "lbfgs", None
    if config.training.engine != "auto":
        return config.training.engine, None
    reason = graph_engine_lacks(config)
    return ("fit", f"engine auto: using fit because the graph engine {reason}") if reason else ("graph", None)


def graph_engine_lacks(config: RunConfig) -> str | None:
    """What in the config the graph engine cannot do yet, or None. Nothing at present: this is
    where a new feature that only `fit` has says so, and `auto` falls back for it."""
    return None


def train(config: RunConfig, dataset: Dataset, progress: Progress | None = None) -> TrainResult:
    progress = progress or Progress()
    seed_everything(config.seed)
    one_hot = config.loss_name in catalog.ONE_HOT_LOSSES
    targets = loss_targets(config, dataset.y, dataset.preprocessing.classes)
    rows = len(dataset.x["train"])
    batch = config.training.batch_rows(rows)
    engine, note = choose_engine(config)

    model = build_model(config, dataset.preprocessing)
    model.compile(
        optimizer=get_optimizer(config),
        loss=get_loss(config.loss),
        metrics=get_metrics(config.scenario, one_hot),
        steps_per_execution=math.ceil(rows / batch),  # the fit engine: one call per epoch
    )
    run = {"graph": _train_in_graph, "fit": _train_with_fit, "lbfgs": _train_lbfgs}[engine]
    progress.start(config.training.epochs)
    started = time.perf_counter()
    try:
        outcome = run(config, model, dataset.x, targets, dataset.weights, batch, progress)
    finally:
        progress.finish()
    duration = time.perf_counter() - started
    status = "interrupted" if outcome.interrupted else "diverged" if outcome.diverged else "completed"
    return TrainResult(
        model=model,
        status=status,
        history=outcome.history,
        metrics={} if outcome.interrupted else evaluate(model, dataset.x, targets),
        duration_s=duration,
        engine=engine,
        stopped_early_at=outcome.stopped_early_at,
        notes=([note] if note else []) + _target_note(config, outcome),
    )


def _target_note(config: RunConfig, outcome: Outcome) -> list[str]:
    target = config.training.stop_at
    if target is None or not outcome.history or outcome.diverged or outcome.interrupted:
        return []
    last = outcome.history[-1]
    if target.reached(last[target.monitor]):
        return [f"stopped at epoch {last['epoch']}: {target.monitor} reached {target.value}"]
    return []


def _train_in_graph(config, model, x, y, weights, batch, progress) -> Outcome:
    stopping, plateau = _early_stopping(config), _plateau(config)
    engine = GraphEngine(
        model, history_columns(config), x["train"], y["train"],
        validation=_validation(x, y),
        batch=batch, seed=config.seed, eval_batch=EVAL_BATCH,
        early_stopping=stopping[0] if stopping else None,
        weights=weights, stop_at=config.training.stop_at,
        plateau=plateau[0] if plateau else None,
    )
    return engine.train(config.training.epochs, progress)


def _train_lbfgs(config, model, x, y, weights, batch, progress) -> Outcome:
    from mlpctl.lbfgs import LbfgsEngine

    options = config.optimizer
    engine = LbfgsEngine(model, history_columns(config), x["train"], y["train"], weights, _validation(x, y))
    return engine.train(options.max_iterations or config.training.epochs, options.history_size, options.tolerance,
                        progress)


def _train_with_fit(config, model, x, y, weights, batch, progress) -> Outcome:
    """Keras' own fit: the reference, and the engine for what the graph engine lacks."""
    recorder = EpochRecorder(progress, history_columns(config), config.training.stop_at)
    # the recorder last: it records the rate at the end of the epoch, after any reduction
    callbacks = [*_plateau(config), *_early_stopping(config), recorder]
    interrupted = False
    try:
        model.fit(
            _training_pipeline(x["train"], y["train"], weights, batch, config.seed, config.training.epochs),
            steps_per_epoch=math.ceil(len(x["train"]) / batch),
            epochs=config.training.epochs,
            validation_data=_pipeline(*_validation(x, y)) if "validation" in x else None,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=0,
        )
    except KeyboardInterrupt:
        interrupted = True
    return Outcome(recorder.rows, recorder.diverged, interrupted, _stopped_at(callbacks))


def _validation(x: dict, y: dict) -> tuple | None:
    return (x["validation"], y["validation"]) if "validation" in x else None


def history_columns(config: RunConfig) -> list[str]:
    """A history row's columns after `epoch`: loss, metrics, their val_ twins, learning_rate."""
    names = ["loss", *catalog.METRICS[config.scenario]]
    validation = [f"val_{name}" for name in names] if config.data.validation_split > 0 else []
    return [*names, *validation, "learning_rate"]


def loss_targets(config: RunConfig, y: dict[str, np.ndarray], classes) -> dict[str, np.ndarray]:
    """Labels as the loss wants them: one-hot for categorical_crossentropy and its focal twin,
    integer codes otherwise."""
    if config.loss_name not in catalog.ONE_HOT_LOSSES:
        return y
    return {split: keras.utils.to_categorical(labels, len(classes)) for split, labels in y.items()}


def _training_pipeline(x: np.ndarray, y: np.ndarray, weights, batch: int, seed: int, epochs: int) -> tf.data.Dataset:
    """Every epoch's batches, in the order `epoch_order` gives: the graph engine's order too.
    With per-row weights, each batch is (x, y, weight) as Keras expects."""
    arrays = tuple(tf.constant(a) for a in (x, y, weights) if a is not None)
    rows, shuffle = len(x), batch < len(x)
    orders = tf.data.Dataset.range(epochs).map(lambda epoch: epoch_order(seed, epoch, rows, shuffle))
    batches = orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch))
    return batches.map(lambda indices: tuple(tf.gather(a, indices) for a in arrays)).prefetch(tf.data.AUTOTUNE)


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


def _plateau(config: RunConfig) -> list[keras.callbacks.Callback]:
    schedule = config.optimizer.schedule
    if schedule.name != "reduce_on_plateau":
        return []
    return [keras.callbacks.ReduceLROnPlateau(
        monitor=schedule.monitor, factor=schedule.factor, patience=schedule.patience,
        min_delta=schedule.min_delta, cooldown=schedule.cooldown, min_lr=schedule.min_lr)]


def _stopped_at(callbacks: list) -> int | None:
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.EarlyStopping) and callback.stopped_epoch > 0:
            return callback.stopped_epoch + 1
    return None


class EpochRecorder(keras.callbacks.Callback):
    """Keeps one history row per epoch (with the learning rate), reports progress, and stops
    training when the loss stops being a finite number or a stop_at target is reached."""

    def __init__(self, progress: Progress, columns: list[str], stop_at=None):
        super().__init__()
        self.progress = progress
        self.columns = columns  # history_columns(config): the same order as the other engines
        self.stop_at = stop_at
        self.rows: list[dict[str, float]] = []
        self.diverged = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {**(logs or {}), "learning_rate": keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)}
        row = {"epoch": epoch + 1, **{key: float(logs[key]) for key in self.columns}}
        self.rows.append(row)
        self.progress.epoch(epoch + 1, row)
        if not math.isfinite(row.get("loss", 0.0)):
            self.diverged = True
            self.model.stop_training = True
        if self.stop_at is not None and self.stop_at.reached(row[self.stop_at.monitor]):
            self.model.stop_training = True


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


def write_tensorboard(rows: list[dict[str, float]], logdir) -> None:
    """The per-epoch history as TensorBoard scalars, laid out as Keras' TensorBoard callback
    does (train/ and validation/, `epoch_<name>`), after training so both engines get it."""
    has_validation = any(key.startswith("val_") for key in rows[0])
    for split in ("train", "validation") if has_validation else ("train",):
        writer = tf.summary.create_file_writer(str(logdir / split))
        with writer.as_default():
            for row in rows:
                for key, value in row.items():
                    is_validation = key.startswith("val_")
                    if key == "epoch" or is_validation != (split == "validation"):
                        continue
                    tf.summary.scalar(f"epoch_{key.removeprefix('val_')}", value, step=int(row["epoch"]))
        writer.close()


def versions() -> dict[str, str]:
    return {
        "mlpctl": mlpctl.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "tf_onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "tf_threads": str(tf.config.threading.get_intra_op_parallelism_threads() or "default"),
    }
