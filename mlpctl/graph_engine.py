"""The graph engine: many epochs per call into TensorFlow, for data that fits in memory.

Keras' `fit` pays a fixed cost per epoch (iterators, callbacks, a fresh validation pass, Python
in between) that dominates on small problems. Here one `tf.function` runs a chunk of epochs in a
`while` loop: the seeded shuffle, the mini-batch steps, the epoch's training metrics, the
validation pass and early stopping all happen in the graph. Python sees only chunk boundaries,
where it reports progress and sizes the next chunk.

It calls the model's own `train_step` and `test_step`, with the same loss, metric and optimizer
objects as `fit`, and visits batches in the same order as the fit engine (`epoch_order`), so the
two engines compute the same thing; tests hold them to it.
"""

import math
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

CHUNK_SECONDS = 0.5  # aim for a progress update about this often
MAX_CHUNK = 100_000


def epoch_order(seed: int, epoch, rows: int, shuffle: bool):
    """The row order of one epoch: a permutation that depends only on (seed, epoch)."""
    indices = tf.range(rows, dtype=tf.int64)
    if not shuffle:
        return indices
    pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(indices, seed=pair)


@dataclass
class Outcome:
    history: list[dict[str, float]]
    diverged: bool
    interrupted: bool
    stopped_early_at: int | None


class Improvement:
    """Keras' `MonitorCallback._is_improvement` as a graph op: `current - min_delta` beats the
    best so far. The direction and the sign of min_delta come from the real Keras callback (its
    own resolution of mode="auto"), and the comparison is made in float32, as Keras makes it:
    `keras.ops.less` turns the Python floats of the epoch logs into float32 tensors."""

    def __init__(self, model: keras.Model, callback: keras.callbacks.Callback):
        callback.set_model(model)
        callback._set_monitor_op()
        self.minimize = callback.monitor_op is keras.ops.less
        self.delta = float(callback.min_delta)

    def __call__(self, current, best) -> tf.Tensor:
        shifted, best = tf.cast(current - self.delta, tf.float32), tf.cast(best, tf.float32)
        return shifted < best if self.minimize else shifted > best


class InGraphEarlyStopping:
    """Keras' EarlyStopping, epoch for epoch, as graph state: improvement as `Improvement`
    says; the wait counts epochs since; stopping needs `wait >= patience` after the first epoch;
    with restore_best the best weights come back at the end of training, stopped early or not.
    """

    def __init__(self, model: keras.Model, callback: keras.callbacks.EarlyStopping, monitor_index: int):
        self.beats = Improvement(model, callback)
        self.patience = int(callback.patience)
        self.restore = bool(callback.restore_best_weights)
        self.index = monitor_index
        self.model = model
        self.best = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.has_best = tf.Variable(False, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.stopped_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best_weights = [tf.Variable(w, trainable=False) for w in model.weights] if self.restore else []
        self.has_best_weights = tf.Variable(False, trainable=False)

    def after_epoch(self, epoch, row) -> tf.Tensor:
        """Update the state from this epoch's logs; True when training should stop."""
        current = tf.cast(row[self.index], tf.float64)
        if self.restore:
            tf.cond(self.has_best_weights, lambda: tf.constant(True), self._keep_weights)
        self.wait.assign_add(1)
        improved = tf.logical_or(tf.logical_not(self.has_best), self.beats(current, self.best))

        def improve():
            self.best.assign(current)
            self.has_best.assign(True)
            self.wait.assign(0)
            if self.restore:
                self._keep_weights()
            return tf.constant(False)

        def maybe_stop():
            stop = tf.logical_and(self.wait >= self.patience, epoch > 0)
            self.stopped_epoch.assign(tf.where(stop, tf.cast(epoch, tf.int64), self.stopped_epoch))
            return stop

        return tf.cond(improved, improve, maybe_stop)

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


class InGraphReduceLROnPlateau:
    """Keras' ReduceLROnPlateau, epoch for epoch, as graph state. Per epoch, as Keras does it:
    a cooldown epoch counts down and clears the wait; an improvement resets the wait; otherwise,
    out of cooldown, the wait grows, and at `patience` the rate becomes max(rate * factor, min_lr)
    (computed in float64, as Keras computes it with Python floats) unless it is already at
    min_lr, which starts a cooldown."""

    def __init__(self, model: keras.Model, callback: keras.callbacks.ReduceLROnPlateau, monitor_index: int):
        self.beats = Improvement(model, callback)
        self.index = monitor_index
        self.optimizer = model.optimizer
        self.patience, self.cooldown = int(callback.patience), int(callback.cooldown)
        self.factor, self.min_lr = float(callback.factor), float(callback.min_lr)
        self.best = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.has_best = tf.Variable(False, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.cooling = tf.Variable(0, dtype=tf.int64, trainable=False)  # Keras' cooldown_counter

    def after_epoch(self, values) -> None:
        current = tf.cast(values[self.index], tf.float64)
        in_cooldown = self.cooling > 0
        self.cooling.assign_sub(tf.cast(in_cooldown, tf.int64))
        self.wait.assign(tf.where(in_cooldown, tf.constant(0, tf.int64), self.wait))
        improved = tf.logical_or(tf.logical_not(self.has_best), self.beats(current, self.best))

        def improve():
            self.best.assign(current)
            self.has_best.assign(True)
            self.wait.assign(0)
            return tf.constant(False)

        def count():
            self.wait.assign_add(1)
            return tf.cond(self.wait >= self.patience, self._reduce, lambda: tf.constant(False))

        def plateau():
            return tf.cond(self.cooling > 0, lambda: tf.constant(False), count)

        tf.cond(improved, improve, plateau)

    def _reduce(self):
        rate = tf.cast(self.optimizer.learning_rate, tf.float64)

        def lower():
            self.optimizer.learning_rate = tf.cast(tf.maximum(rate * self.factor, self.min_lr), tf.float32)
            self.cooling.assign(self.cooldown)
            self.wait.assign(0)
            return tf.constant(True)

        # Keras: `old_lr > np.float32(min_lr)`, the Python float of the float32 rate
        return tf.cond(rate > float(np.float32(self.min_lr)), lower, lambda: tf.constant(False))


class GraphEngine:
    def __init__(self, model, keys, x, y, validation, batch: int, seed: int, eval_batch: int,
                 early_stopping: keras.callbacks.EarlyStopping | None, weights=None, stop_at=None,
                 plateau: keras.callbacks.ReduceLROnPlateau | None = None):
        self.model = model
        self.keys = keys  # column names of a history row, learning_rate last
        self.x, self.y = tf.constant(x), tf.constant(y)
        self.weights = None if weights is None else tf.constant(weights)
        self.stop_at = stop_at  # config.training.stop_at: checked in the graph, like fit's check
        self.validation = tuple(tf.constant(a) for a in validation) if validation else None
        self.rows = len(x)
        self.batch = batch
        self.steps = math.ceil(self.rows / batch)
        self.seed = seed
        self.eval_batch = eval_batch
        self.diverged = tf.Variable(False, trainable=False)
        _build(model, x, y)  # before early stopping: Keras resolves mode="auto" from built metrics
        self.stopping = (
            InGraphEarlyStopping(model, early_stopping, keys.index(early_stopping.monitor))
            if early_stopping else None
        )
        self.plateau = InGraphReduceLROnPlateau(model, plateau, keys.index(plateau.monitor)) if plateau else None
        self._run = tf.function(self._run_chunk, reduce_retracing=True, autograph=False)

    def train(self, epochs: int, progress) -> Outcome:
        history: list[dict[str, float]] = []
        chunk, interrupted = 1, False
        try:
            while len(history) < epochs:
                size = min(chunk, epochs - len(history))
                started = time.perf_counter()
                rows, stop = self._run(tf.constant(len(history), tf.int64), tf.constant(size, tf.int64))
                elapsed = time.perf_counter() - started
                for values in rows.numpy().tolist():
                    history.append({"epoch": len(history) + 1, **dict(zip(self.keys, values))})
                    progress.epoch(len(history), history[-1])
                if bool(stop.numpy()):
                    break
                chunk = max(1, min(MAX_CHUNK, int(size * CHUNK_SECONDS / max(elapsed, 1e-4))))
        except KeyboardInterrupt:
            interrupted = True
        stopped_at = self.stopping.on_train_end() if self.stopping else None
        return Outcome(history, bool(self.diverged.numpy()), interrupted, stopped_at)

    def _run_chunk(self, first_epoch, count):
        """Epochs first_epoch .. first_epoch + count - 1, or until something says stop."""

        def more(done, stop, rows):
            return tf.logical_and(done < count, tf.logical_not(stop))

        def one_epoch(done, stop, rows):
            epoch = first_epoch + done
            values = self._epoch(epoch)
            if self.plateau:  # Keras' order: the plateau callback, then early stopping, then the row
                self.plateau.after_epoch(values)
            row = tf.stack([*values, tf.cast(self.model.optimizer.learning_rate, tf.float32)])
            return done + 1, self._should_stop(epoch, row), rows.write(tf.cast(done, tf.int32), row)

        start = (tf.constant(0, tf.int64), tf.constant(False), tf.TensorArray(tf.float32, size=0, dynamic_size=True))
        _, stop, rows = tf.while_loop(more, one_epoch, start)
        return rows.stack(), stop

    def _epoch(self, epoch):
        """One epoch as `fit` does it: reset metrics, train on every batch, read the training
        metrics, then a fresh validation pass. Returns the row's values but the learning rate."""
        self.model.reset_metrics()
        order = epoch_order(self.seed, epoch, self.rows, shuffle=self.batch < self.rows)
        def train_on_batch(step):
            indices = order[step * self.batch : (step + 1) * self.batch]
            batch = (self.x, self.y) if self.weights is None else (self.x, self.y, self.weights)
            self.model.train_step(tuple(tf.gather(part, indices) for part in batch))

        _repeat(self.steps, train_on_batch)
        values = self._metric_values(prefix="")
        if self.validation is not None:
            self.model.reset_metrics()
            x_val, y_val = self.validation

            def test_on_batch(step):
                start, end = step * self.eval_batch, (step + 1) * self.eval_batch
                self.model.test_step((x_val[start:end], y_val[start:end]))

            _repeat(math.ceil(len(x_val) / self.eval_batch), test_on_batch)
            values += self._metric_values(prefix="val_")
        return values

    def _metric_values(self, prefix: str) -> list:
        results = self.model.get_metrics_result()
        names = [key.removeprefix(prefix) for key in self.keys if _is_split(key, prefix)]
        return [tf.cast(results[name], tf.float32) for name in names]

    def _should_stop(self, epoch, row):
        diverged = tf.logical_not(tf.math.is_finite(row[self.keys.index("loss")]))
        self.diverged.assign(tf.logical_or(self.diverged, diverged))
        stop = self.stopping.after_epoch(epoch, row) if self.stopping else tf.constant(False)
        if self.stop_at is not None:
            current = tf.cast(row[self.keys.index(self.stop_at.monitor)], tf.float64)
            reached = current <= self.stop_at.value if self.stop_at.minimize else current >= self.stop_at.value
            stop = tf.logical_or(stop, reached)
        return tf.logical_or(diverged, stop)


def _repeat(times: int, body) -> None:
    """body(0) .. body(times - 1) in the graph; no loop at all when times is 1 (full batch)."""
    if times == 1:
        body(tf.constant(0, tf.int64))
        return

    def step(index):
        body(index)
        return (index + 1,)

    tf.while_loop(lambda index: index < times, step, (tf.constant(0, tf.int64),))


def _is_split(key: str, prefix: str) -> bool:
    if key == "learning_rate":
        return False
    return key.startswith("val_") if prefix else not key.startswith("val_")


def _build(model: keras.Model, x, y) -> None:
    """Create the optimizer's and metrics' variables now: a graph loop cannot create variables
    inside its body, and Keras (with no distribution strategy) would otherwise create them on
    the first traced step. One row through the public APIs, then every metric reset."""
    y_pred = model(x[:1], training=False)
    model.compute_loss(x=x[:1], y=y[:1], y_pred=y_pred)
    model.compute_metrics(x[:1], y[:1], y_pred, sample_weight=None)
    model.optimizer.build(model.trainable_variables)
    model.reset_metrics()
