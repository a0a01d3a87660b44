"""The fit engine: Keras' own `model.fit`, the reference the other engines are held to.

Speed notes (see bench/): Keras rebuilds its input pipeline every epoch when `fit` is given
NumPy arrays, so training data goes in as one repeated `tf.data` pipeline with `steps_per_epoch`,
and the model is compiled with `steps_per_execution` of a whole epoch. Nothing runs in Python
per step; our callback acts once per epoch.
"""

import math

import keras
import numpy as np

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.progress import Progress
from mlpctl.rundir.checkpoint import Checkpoints, restore, values
from mlpctl.training.engines import Outcome, logged_columns, validation_rows
from mlpctl.training.engines.batches import eval_pipeline, training_pipeline
from mlpctl.training.engines.watch import GradientProbe, Snapshots, probe_of, snapshots_of


def run(config: RunConfig, model, x: dict, y: dict, weights, batch: int, progress: Progress,
        checkpoints: Checkpoints | None = None) -> Outcome:
    """Train with Keras' `model.fit` on tf.data pipelines of the in-memory rows."""
    checkpoints = checkpoints or Checkpoints(None, None, None)
    validation = validation_rows(x, y)
    training = training_pipeline(x["train"], y["train"], weights, batch, config.seed, config.training.epochs,
                                 checkpoints.start_epoch, config.training.balanced_batches)
    return fit(config, model, training, math.ceil(len(x["train"]) / batch),
               eval_pipeline(*validation, model) if validation else None, progress, checkpoints,
               probe_of(config, model, x["train"], y["train"], weights))


def fit(config: RunConfig, model, training, steps_per_epoch: int | None, validation, progress: Progress,
        checkpoints: Checkpoints, probe: GradientProbe | None = None) -> Outcome:
    """`model.fit` on `tf.data` pipelines (`steps_per_epoch` None: each pass of `training` is
    an epoch), with the callbacks that make its history, checkpoints and stops ours."""
    recorder = EpochRecorder(progress, logged_columns(config), config.training.stop_at, probe, snapshots_of(config))
    monitors = [*plateau_callback(config), *early_stopping_callback(config)]
    keeper = StateKeeper(monitors, recorder, checkpoints)
    # the recorder after the monitors: it records the rate at the end of the epoch, after any
    # reduction; the keeper last: it restores what the monitors reset, saves the epoch's row, and
    # takes a stop there, when every callback has seen the epoch
    callbacks = [*monitors, recorder, keeper]
    start = checkpoints.start_epoch
    if checkpoints.resume:
        restore(model_variables(model), checkpoints.resume.arrays[:len(model_variables(model))])
        recorder.rows = list(checkpoints.resume.history)
    interrupted = False
    try:
        model.fit(
            training,
            steps_per_epoch=steps_per_epoch,
            initial_epoch=start,
            epochs=config.training.epochs,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=0,
        )
    except KeyboardInterrupt:
        interrupted = True
    return Outcome(recorder.rows, recorder.diverged, interrupted, _stopped_at(callbacks), recorder.snapshots.taken)


def model_variables(model) -> list:
    """Every variable a checkpoint keeps: the model's and the optimizer's."""
    return [*model.variables, *model.optimizer.variables]


class StateKeeper(keras.callbacks.Callback):
    """Checkpoints for `fit`: the model's and optimizer's variables and the Keras callbacks'
    own state (wait, best, best weights, cooldown), saved when due and put back on resume."""

    SCALARS = ("wait", "best", "best_epoch", "stopped_epoch", "cooldown_counter")

    def __init__(self, monitors: list, recorder: "EpochRecorder", checkpoints: Checkpoints):
        super().__init__()
        self.monitors, self.recorder, self.checkpoints = monitors, recorder, checkpoints

    def on_train_begin(self, logs=None) -> None:
        resume = self.checkpoints.resume
        if not resume:
            return
        kept = resume.arrays[len(model_variables(self.model)):]
        for monitor, state in zip(self.monitors, resume.state["monitors"]):
            for name, value in state.items():
                setattr(monitor, name, value)
            if state.get("best_weights_count") is not None:
                monitor.best_weights, kept = kept[:state["best_weights_count"]], kept[state["best_weights_count"]:]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        done = epoch + 1
        ended = self.model.stop_training or done >= self.params["epochs"]
        if not ended and self.checkpoints.due(done):
            self.save(done)
        self.checkpoints.take_stop(done, self.save, ended)

    def save(self, done: int) -> None:
        """The checkpoint after epoch `done`: the variables and the monitors' state."""
        arrays, states = values(model_variables(self.model)), []
        for monitor in self.monitors:
            state = {name: getattr(monitor, name) for name in self.SCALARS if hasattr(monitor, name)}
            state = {name: None if value is None else float(value) if name == "best" else int(value)
                     for name, value in state.items()}
            best = getattr(monitor, "best_weights", None)
            state["best_weights_count"] = None if best is None else len(best)
            arrays += [] if best is None else [np.asarray(w) for w in best]
            states.append(state)
        self.checkpoints.save(done, self.recorder.rows, arrays, {"monitors": states})


def early_stopping_callback(config: RunConfig) -> list[keras.callbacks.Callback]:
    """Keras' EarlyStopping as training.early_stopping says, or nothing."""
    stopping = config.training.early_stopping
    if stopping is None:
        return []
    return [keras.callbacks.EarlyStopping(
        monitor=stopping.monitor, patience=stopping.patience, min_delta=stopping.min_delta,
        mode=catalog.mode_of(stopping.monitor, stopping.mode), restore_best_weights=stopping.restore_best)]


def plateau_callback(config: RunConfig) -> list[keras.callbacks.Callback]:
    """Keras' ReduceLROnPlateau as a reduce_on_plateau schedule says, or nothing."""
    schedule = config.optimizer.schedule
    if schedule.name != "reduce_on_plateau":
        return []
    return [keras.callbacks.ReduceLROnPlateau(
        monitor=schedule.monitor, factor=schedule.factor, patience=schedule.patience, min_delta=schedule.min_delta,
        cooldown=schedule.cooldown, min_lr=schedule.min_lr, mode=catalog.mode_of(schedule.monitor))]


def _stopped_at(callbacks: list) -> int | None:
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.EarlyStopping) and callback.stopped_epoch > 0:
            return callback.stopped_epoch + 1
    return None


class EpochRecorder(keras.callbacks.Callback):
    """Keeps one history row per epoch (with the learning rate, and the gradient norms of a
    `probe`), takes the `snapshots` due, reports progress, and stops training when the loss
    stops being a finite number or a stop_at target is reached."""

    def __init__(self, progress: Progress, columns: list[str], stop_at=None, probe: GradientProbe | None = None,
                 snapshots: Snapshots | None = None):
        super().__init__()
        self.progress = progress
        self.columns = columns  # logged_columns(config): the same order as the other engines
        self.stop_at = stop_at
        self.probe, self.snapshots = probe, snapshots or Snapshots([])
        self.rows: list[dict[str, float]] = []
        self.diverged = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {**(logs or {}), "learning_rate": keras.ops.convert_to_numpy(self.model.optimizer.learning_rate),
                **(self.probe.row() if self.probe else {})}
        self.snapshots.after_epoch(epoch + 1, self.model)
        row = {"epoch": epoch + 1, **{key: float(logs[key]) for key in self.columns}}
        self.rows.append(row)
        self.progress.epoch(epoch + 1, row)
        if not math.isfinite(row.get("loss", 0.0)):
            self.diverged = True
            self.model.stop_training = True
        if self.stop_at is not None and self.stop_at.reached(row[self.stop_at.monitor]):
            self.model.stop_training = True
