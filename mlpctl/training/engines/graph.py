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

import time

import tensorflow as tf

from mlpctl.config import RunConfig
from mlpctl.rundir.checkpoint import Checkpoints, restore, values
from mlpctl.runtime import native_logs_hidden, xla_cache_folder
from mlpctl.scoring import EVAL_BATCH
from mlpctl.training.engines import Outcome, logged_columns, validation_rows
from mlpctl.training.engines.batches import class_rows, epoch_order, tensor
from mlpctl.training.engines.monitors import InGraphBoldDriver, InGraphEarlyStopping, InGraphReduceLROnPlateau
from mlpctl.training.engines.watch import GradientProbe, Snapshots, probe_of, snapshots_of

CHUNK_SECONDS = 0.5  # aim for a progress update about this often
MAX_CHUNK = 100_000


def run(config: RunConfig, model, x: dict, y: dict, weights, batch: int, progress,
        checkpoints: Checkpoints | None = None, jit: bool = False) -> Outcome:
    """Train with the graph engine: many epochs per TensorFlow call, XLA where it pays."""
    schedule = config.optimizer.schedule
    engine = GraphEngine(
        model, logged_columns(config), x["train"], y["train"],
        validation=validation_rows(x, y), batch=batch, seed=config.seed, weights=weights,
        early_stopping=config.training.early_stopping, stop_at=config.training.stop_at,
        plateau=schedule if schedule.name == "reduce_on_plateau" else None,
        bold_driver=schedule if schedule.name == "bold_driver" else None,
        classes=class_rows(y["train"]) if config.training.balanced_batches else None,
        snapshots=snapshots_of(config), probe=probe_of(config, model, x["train"], y["train"], weights),
        jit=jit,
    )
    return engine.train(config.training.epochs, progress, checkpoints)


class GraphEngine:
    """`early_stopping`, `stop_at`, `plateau` and `bold_driver` are the config's sections, or
    None; `classes` each class's rows (balanced batches); `snapshots` and `probe` what to watch
    (engines.watch)."""

    def __init__(self, model, keys, x, y, validation, batch: int, seed: int, weights=None,
                 early_stopping=None, stop_at=None, plateau=None, eval_batch: int = EVAL_BATCH, classes=None,
                 bold_driver=None, snapshots: Snapshots | None = None, probe: GradientProbe | None = None,
                 jit: bool = False):
        self.model = model
        self.keys = keys  # column names of a history row: metrics, learning_rate, gradient norms
        self.x, self.y = tensor(x), tensor(y)
        self.weights = None if weights is None else tensor(weights)
        self.stop_at = stop_at  # config.training.stop_at: checked in the graph, like fit's check
        self.validation = tuple(tensor(a) for a in validation) if validation else None
        self.rows = len(x)
        self.batch = batch
        self.seed = seed
        self.classes = classes  # each class's rows, for balanced batches
        self.eval_batch = eval_batch
        self.diverged = tf.Variable(False, trainable=False)
        build_variables(model, x, y)  # before the monitors, which copy the weights that restore_best keeps
        self.snapshots = snapshots or Snapshots([])
        self.probe = probe
        self.stopping = InGraphEarlyStopping(model, early_stopping, keys) if early_stopping else None
        self.plateau = InGraphReduceLROnPlateau(model, plateau, keys) if plateau else None
        self.bold_driver = InGraphBoldDriver(model, bold_driver, keys) if bold_driver else None
        self.jit = jit  # the whole chunk compiled by XLA (training.jit)
        self.compiled = False
        self.notes: list[str] = []
        self._run = tf.function(self._run_chunk, reduce_retracing=True, autograph=False, jit_compile=jit or None)

    def state_variables(self) -> list:
        """Everything a checkpoint needs to go on exactly: the model's and optimizer's
        variables, then the engine's own (divergence, early stopping, plateau)."""
        own = [self.diverged]
        for monitor in (self.stopping, self.plateau, self.bold_driver):
            if monitor is not None:
                own += [v for v in vars(monitor).values() if isinstance(v, tf.Variable)]
                for kept in ("best_weights", "start_weights", "kept_weights"):
                    own += getattr(monitor, kept, [])
        return [*self.model.variables, *self.model.optimizer.variables, *own]

    def train(self, epochs: int, progress, checkpoints: Checkpoints | None = None) -> Outcome:
        checkpoints = checkpoints or Checkpoints(None, None, None)
        history: list[dict[str, float]] = []
        if checkpoints.resume:
            restore(self.state_variables(), checkpoints.resume.arrays)
            history = list(checkpoints.resume.history)
        chunk, interrupted = 1, False
        try:
            while len(history) < epochs:
                size = min(chunk, epochs - len(history), checkpoints.epochs_to_next(len(history)) or epochs,
                           self.snapshots.epochs_to_next(len(history)) or epochs)
                started = time.perf_counter()
                rows, done, stop = self._call(len(history), size)
                elapsed = time.perf_counter() - started
                for row in rows.numpy()[: int(done)].tolist():
                    history.append({"epoch": len(history) + 1, **dict(zip(self.keys, row))})
                    progress.epoch(len(history), history[-1])
                self.snapshots.after_epoch(len(history), self.model)  # chunks end at the snapshot epochs
                ended = bool(stop.numpy()) or len(history) >= epochs
                checkpoints.take_stop(len(history), lambda done: checkpoints.save(  # between chunks
                    done, history, values(self.state_variables())), ended)
                if ended:
                    break
                if checkpoints.due(len(history)):
                    checkpoints.save(len(history), history, values(self.state_variables()))
                chunk = max(1, min(MAX_CHUNK, int(size * CHUNK_SECONDS / max(elapsed, 1e-4))))
        except KeyboardInterrupt:
            interrupted = True
        stopped_at = self.stopping.on_train_end() if self.stopping else None
        return Outcome(history, bool(self.diverged.numpy()), interrupted, stopped_at, self.snapshots.taken,
                       notes=self.notes, compiled=self.jit)

    def _call(self, first_epoch: int, count: int):
        """One chunk. When XLA cannot compile it (an op without an XLA kernel, in a component
        of the config) or cannot load it from its cache (a damaged file), the first call fails
        before running anything: the run goes on without XLA and says so."""
        arguments = (tf.constant(first_epoch, tf.int64), tf.constant(count, tf.int64))
        if not self.jit or self.compiled:
            return self._run(*arguments)
        try:
            with native_logs_hidden():  # XLA's compile, or its load from the cache, logs in C++
                result = self._run(*arguments)
        except tf.errors.ResourceExhaustedError:
            raise
        except tf.errors.OpError as error:
            reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
            cache = xla_cache_folder()
            self.notes.append(f"training.jit: XLA could not compile this run or load it from its cache "
                              f"({reason}), so it ran without XLA"
                              + (f"; the cache ({cache}) is safe to delete" if cache else ""))
            self.jit = False
            self._run = tf.function(self._run_chunk, reduce_retracing=True, autograph=False)
            return self._run(*arguments)
        self.compiled = True
        return result

    def _run_chunk(self, first_epoch, count):
        """Epochs first_epoch .. first_epoch + count - 1, or until something says stop."""

        def more(done, stop, rows):
            return tf.logical_and(done < count, tf.logical_not(stop))

        def one_epoch(done, stop, rows):
            epoch = first_epoch + done
            if self.bold_driver:
                self.bold_driver.before_epoch()
            values = self._epoch(epoch)
            norms = self.probe.norms() if self.probe else []  # the epoch's end weights, before any undo
            if self.plateau:  # Keras' order: the plateau callback, then early stopping, then the row
                self.plateau.after_epoch(values)
            if self.bold_driver:
                self.bold_driver.after_epoch(values)
            row = tf.stack([*values, tf.cast(self.model.optimizer.learning_rate, tf.float32), *norms])
            return done + 1, self._should_stop(epoch, row), rows.write(tf.cast(done, tf.int32), row)

        # XLA needs a history of fixed size: MAX_CHUNK rows, the first `done` of them written
        rows = tf.TensorArray(tf.float32, size=MAX_CHUNK if self.jit else 0, dynamic_size=not self.jit,
                              element_shape=[len(self.keys)])
        start = (tf.constant(0, tf.int64), tf.constant(False), rows)
        done, stop, rows = tf.while_loop(more, one_epoch, start)
        return rows.stack(), done, stop

    def _epoch(self, epoch):
        """One epoch as `fit` does it: reset metrics, train on every batch, read the training
        metrics, then a fresh validation pass. Returns the row's values but the learning rate."""
        self.model.reset_metrics()
        order = epoch_order(self.seed, epoch, self.rows, shuffle=self.batch < self.rows, classes=self.classes)
        batch = (self.x, self.y) if self.weights is None else (self.x, self.y, self.weights)

        def train_on(start, size: int):
            indices = tf.slice(order, [start], [size])
            self.model.train_step(tuple(tf.gather(part, indices) for part in batch))

        _batches(self.rows, self.batch, train_on)
        values = self._metric_values(prefix="")
        if self.validation is not None:
            self.model.reset_metrics()
            x_val, y_val = self.validation

            def test_on(start, size: int):
                self.model.test_step((_rows(x_val, start, size), _rows(y_val, start, size)))

            _batches(len(x_val), self.eval_batch, test_on)
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


def _batches(rows: int, batch: int, body) -> None:
    """body(start, size) for each batch of `rows` in the graph: the full batches in a loop
    (none when there is one: full batch), then the last, smaller one. Every slice has a size
    known when tracing, which XLA needs (training.jit): a loop over slices of changing size ran
    each step ~100x slower compiled."""
    full, rest = divmod(rows, batch)
    if full == 1:
        body(tf.constant(0, tf.int64), batch)
    elif full > 1:
        def step(index):
            body(index * batch, batch)
            return (index + 1,)

        tf.while_loop(lambda index: index < full, step, (tf.constant(0, tf.int64),))
    if rest:
        body(tf.constant(full * batch, tf.int64), rest)


def _rows(tensor, start, size: int):
    """`size` rows of `tensor` from `start`."""
    rank = len(tensor.shape)
    return tf.slice(tensor, tf.stack([start, *[tf.constant(0, tf.int64)] * (rank - 1)]), [size] + [-1] * (rank - 1))


def _is_split(key: str, prefix: str) -> bool:
    if key == "learning_rate" or key.startswith("grad_norm_"):
        return False
    return key.startswith("val_") if prefix else not key.startswith("val_")


def build_variables(model, x, y) -> None:
    """Create the optimizer's and metrics' variables now: a graph loop cannot create variables
    inside its body, and Keras (with no distribution strategy) would otherwise create them on
    the first traced step. One row through the public APIs, then every metric reset."""
    y_pred = model(x[:1], training=False)
    model.compute_loss(x=x[:1], y=y[:1], y_pred=y_pred)
    model.compute_metrics(x[:1], y[:1], y_pred, sample_weight=None)
    model.optimizer.build(model.trainable_variables)
    model.reset_metrics()
