"""Keras' EarlyStopping and ReduceLROnPlateau, epoch for epoch, as graph state, for the graph
engine. Both keep what Keras' MonitorCallback keeps (the best value so far and the epochs since
it), so both stand on one base, `InGraphMonitor`."""

import numpy as np
import tensorflow as tf

from mlpctl import catalog


class InGraphMonitor:
    """The best value of one history column and the epochs waited since it (Keras' `wait`).

    Improvement is Keras' `_is_improvement`: `current - min_delta` beats the best so far, with
    min_delta's sign from the direction (`catalog.mode_of`, the same rule the Keras callbacks are
    given), compared in float32 as Keras compares it (`keras.ops.less` turns the Python floats of
    the epoch logs into float32 tensors)."""

    def __init__(self, monitor: str, mode: str, min_delta: float, keys: list[str]):
        self.index = keys.index(monitor)
        self.minimize = catalog.mode_of(monitor, mode) == "min"
        self.delta = -float(min_delta) if self.minimize else float(min_delta)
        self.best = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.has_best = tf.Variable(False, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)

    def current(self, row) -> tf.Tensor:
        return tf.cast(row[self.index], tf.float64)

    def improved(self, current) -> tf.Tensor:
        """True on the first epoch, and whenever `current` beats the best."""
        shifted, best = tf.cast(current - self.delta, tf.float32), tf.cast(self.best, tf.float32)
        beats = shifted < best if self.minimize else shifted > best
        return tf.logical_or(tf.logical_not(self.has_best), beats)

    def keep_best(self, current) -> None:
        self.best.assign(current)
        self.has_best.assign(True)
        self.wait.assign(0)


class InGraphEarlyStopping(InGraphMonitor):
    """Keras' EarlyStopping: the wait counts epochs since the best; stopping needs
    `wait >= patience` after the first epoch; with restore_best the best weights come back at
    the end of training, stopped early or not."""

    def __init__(self, model, stopping, keys: list[str]):
        super().__init__(stopping.monitor, stopping.mode, stopping.min_delta, keys)
        self.patience = int(stopping.patience)
        self.restore = bool(stopping.restore_best)
        self.model = model
        self.stopped_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best_weights = [tf.Variable(w, trainable=False) for w in model.weights] if self.restore else []
        self.has_best_weights = tf.Variable(False, trainable=False)

    def after_epoch(self, epoch, row) -> tf.Tensor:
        """Update the state from this epoch's row; True when training should stop."""
        current = self.current(row)
        if self.restore:
            tf.cond(self.has_best_weights, lambda: tf.constant(True), self._keep_weights)
        self.wait.assign_add(1)

        def improve():
            self.keep_best(current)
            if self.restore:
                self._keep_weights()
            return tf.constant(False)

        def maybe_stop():
            stop = tf.logical_and(self.wait >= self.patience, epoch > 0)
            self.stopped_epoch.assign(tf.where(stop, tf.cast(epoch, tf.int64), self.stopped_epoch))
            return stop

        return tf.cond(self.improved(current), improve, maybe_stop)

    def _keep_weights(self):
        for kept, weight in zip(self.best_weights, self.model.weights):
            kept.assign(weight)
        self.has_best_weights.assign(True)
        return tf.constant(True)

    def on_train_end(self) -> int | None:
        if self.restore and bool(self.has_best_weights.numpy()):
            for kept, weight in zip(self.best_weights, self.model.weights):
                weight.assign(kept)
        stopped = int(self.stopped_epoch.numpy())
        return stopped + 1 if stopped > 0 else None


class InGraphReduceLROnPlateau(InGraphMonitor):
    """Keras' ReduceLROnPlateau. Per epoch, as Keras does it: a cooldown epoch counts down and
    clears the wait; an improvement resets the wait; otherwise, out of cooldown, the wait grows,
    and at `patience` the rate becomes max(rate * factor, min_lr) (computed in float64, as Keras
    computes it with Python floats) unless it is already at min_lr, which starts a cooldown."""

    def __init__(self, model, schedule, keys: list[str]):
        super().__init__(schedule.monitor, "auto", schedule.min_delta, keys)
        self.optimizer = model.optimizer
        self.patience, self.cooldown = int(schedule.patience), int(schedule.cooldown)
        self.factor, self.min_lr = float(schedule.factor), float(schedule.min_lr)
        self.cooling = tf.Variable(0, dtype=tf.int64, trainable=False)  # Keras' cooldown_counter

    def after_epoch(self, values) -> None:
        current = self.current(values)
        in_cooldown = self.cooling > 0
        self.cooling.assign_sub(tf.cast(in_cooldown, tf.int64))
        self.wait.assign(tf.where(in_cooldown, tf.constant(0, tf.int64), self.wait))

        def improve():
            self.keep_best(current)
            return tf.constant(False)

        def count():
            self.wait.assign_add(1)
            return tf.cond(self.wait >= self.patience, self._reduce, lambda: tf.constant(False))

        def plateau():
            return tf.cond(self.cooling > 0, lambda: tf.constant(False), count)

        tf.cond(self.improved(current), improve, plateau)

    def _reduce(self):
        rate = tf.cast(self.optimizer.learning_rate, tf.float64)

        def lower():
            self.optimizer.learning_rate = tf.cast(tf.maximum(rate * self.factor, self.min_lr), tf.float32)
            self.cooling.assign(self.cooldown)
            self.wait.assign(0)
            return tf.constant(True)

        # Keras: `old_lr > np.float32(min_lr)`, the Python float of the float32 rate
        return tf.cond(rate > float(np.float32(self.min_lr)), lower, lambda: tf.constant(False))


class InGraphBoldDriver:
    """The bold driver, for full-batch SGD. An epoch's logged loss is the error of the weights
    it started from (the step is taken after it is computed), so each epoch judges the step
    before it: a lower error than the last accepted one keeps those weights and multiplies the
    rate by `increase`; an error as high or higher puts the accepted weights back, zeroes SGD's
    momentum and multiplies the rate by `decrease`. The epoch after an undo starts from the
    accepted weights again, so its loss is not judged."""

    def __init__(self, model, schedule, keys: list[str]):
        self.model, self.optimizer = model, model.optimizer
        self.index = keys.index("loss")
        self.increase, self.decrease = float(schedule.increase), float(schedule.decrease)
        self.accepted = tf.Variable(0.0, dtype=tf.float64, trainable=False)  # the error of the kept weights
        self.has_accepted = tf.Variable(False, trainable=False)
        self.retrying = tf.Variable(False, trainable=False)
        self.start_weights = [tf.Variable(w, trainable=False) for w in model.weights]
        self.kept_weights = [tf.Variable(w, trainable=False) for w in model.weights]

    def before_epoch(self) -> None:
        for start, weight in zip(self.start_weights, self.model.weights):
            start.assign(weight)

    def after_epoch(self, values) -> None:
        current = tf.cast(values[self.index], tf.float64)

        def accept():
            first = tf.logical_not(self.has_accepted)
            self.accepted.assign(current)
            self.has_accepted.assign(True)
            for kept, start in zip(self.kept_weights, self.start_weights):
                kept.assign(start)
            self._scale_rate(tf.where(first, tf.constant(1.0, tf.float64), tf.constant(self.increase, tf.float64)))
            return tf.constant(True)

        def undo():
            for weight, kept in zip(self.model.weights, self.kept_weights):
                weight.assign(kept)
            for momentum in getattr(self.optimizer, "momentums", None) or []:
                momentum.assign(tf.zeros_like(momentum))
            self._scale_rate(self.decrease)
            self.retrying.assign(True)
            return tf.constant(True)

        def judge():
            better = tf.logical_or(tf.logical_not(self.has_accepted), current < self.accepted)
            return tf.cond(better, accept, undo)

        def retried():
            self.retrying.assign(False)
            return tf.constant(True)

        tf.cond(self.retrying, retried, judge)

    def _scale_rate(self, factor) -> None:
        rate = tf.cast(self.optimizer.learning_rate, tf.float64) * factor
        self.optimizer.learning_rate = tf.cast(rate, tf.float32)
