"""The L-BFGS engine: full-batch L-BFGS (scipy's L-BFGS-B) over all of the model's weights, for
small data sets, as the course notes suggest. TensorFlow computes the loss and its gradient;
scipy chooses the steps. One history row per iteration, like an epoch of the other engines."""

import math

import numpy as np
import scipy.optimize
import tensorflow as tf

from mlpctl.config import RunConfig
from mlpctl.config.optimizers import LbfgsConfig
from mlpctl.rundir.checkpoint import Checkpoints, restore, values
from mlpctl.training.engines import Outcome, logged_columns, validation_rows
from mlpctl.training.engines.batches import tensor
from mlpctl.training.engines.graph import build_variables
from mlpctl.training.engines.watch import GradientProbe, Snapshots, probe_of, snapshots_of


def run(config: RunConfig, model, x: dict, y: dict, weights, batch: int, progress,
        checkpoints: Checkpoints | None = None) -> Outcome:
    """`batch` is the whole training set: the config checks that lbfgs gets full batches.
    A resumed run restarts L-BFGS from the checkpointed weights: scipy's curvature pairs are not
    saved, so the iterations after it are not those of an unstopped run (a note says so)."""
    options = config.optimizer
    assert isinstance(options, LbfgsConfig), "the lbfgs engine runs only the lbfgs optimizer"
    engine = LbfgsEngine(model, logged_columns(config), x["train"], y["train"], weights, validation_rows(x, y),
                         snapshots_of(config), probe_of(config, model, x["train"], y["train"], weights))
    return engine.train(options.max_iterations or config.training.epochs, options.history_size,
                        options.tolerance, progress, checkpoints or Checkpoints(None, None, None))


class LbfgsEngine:
    """Full-batch L-BFGS over every weight of the model (scipy), one iteration per history row."""
    def __init__(self, model, keys, x, y, weights, validation, snapshots: Snapshots | None = None,
                 probe: GradientProbe | None = None):
        self.model, self.keys = model, keys
        self.snapshots, self.probe = snapshots or Snapshots([]), probe
        self.variables = model.trainable_variables
        self.sizes = [int(np.prod(v.shape)) for v in self.variables]
        self.x, self.y = tensor(x), tensor(y)
        self.weights = None if weights is None else tensor(weights)
        self.validation = tuple(tensor(a) for a in validation) if validation else None
        # the metrics' variables exist before `_metrics` is traced, so that its reset_metrics
        # resets them too: each history row is that iteration's value, not a running average
        build_variables(model, x, y)
        self._loss_and_gradient = tf.function(self._loss_and_gradient_graph, autograph=False)
        self._metrics = tf.function(self._metrics_graph, autograph=False)

    def _assign(self, flat):
        for variable, part in zip(self.variables, tf.split(flat, self.sizes)):
            variable.assign(tf.reshape(part, variable.shape))

    def _loss_and_gradient_graph(self, flat):
        self._assign(flat)
        with tf.GradientTape() as tape:
            y_pred = self.model(self.x, training=True)
            loss = self.model.compute_loss(x=self.x, y=self.y, y_pred=y_pred, sample_weight=self.weights,
                                           training=True)
        gradients = tape.gradient(loss, self.variables)
        return loss, tf.concat([tf.reshape(g, [-1]) for g in gradients], axis=0)

    def _metrics_graph(self):
        """The row of one iteration: the model's own test step on the training rows (no
        dropout or noise is allowed with lbfgs, so this is the objective), then validation."""
        self.model.reset_metrics()
        results = self.model.test_step((self.x, self.y) if self.weights is None else (self.x, self.y, self.weights))
        row = {name: results[name] for name in self.keys if name in results}
        if self.validation is not None:
            self.model.reset_metrics()
            validated = self.model.test_step(self.validation)
            row.update({f"val_{name}": validated[name] for name in validated})
        return row

    def train(self, max_iterations: int, history_size: int, tolerance: float, progress,
              checkpoints: Checkpoints) -> Outcome:
        history: list[dict[str, float]] = []
        if checkpoints.resume:
            restore(self.model.variables, checkpoints.resume.arrays)
            history = list(checkpoints.resume.history)

        def objective(flat):
            loss, gradient = self._loss_and_gradient(tf.constant(flat, tf.float32))
            return float(loss), gradient.numpy().astype(np.float64)

        def record(flat):
            self._assign(tf.constant(flat, tf.float32))
            logged = {name: float(value) for name, value in self._metrics().items()}
            row = {"epoch": len(history) + 1, **{key: logged.get(key, math.nan) for key in self.keys}}
            row["learning_rate"] = math.nan  # L-BFGS has no learning rate: its line search picks steps
            row.update(self.probe.row() if self.probe else {})
            self.snapshots.after_epoch(len(history) + 1, self.model)
            history.append(row)
            progress.epoch(len(history), row)
            checkpoints.take_stop(len(history), lambda done: checkpoints.save(  # between iterations
                done, history, values(self.model.variables)))
            if checkpoints.due(len(history)):
                checkpoints.save(len(history), history, values(self.model.variables))
            if not math.isfinite(row["loss"]):
                raise StopIteration  # scipy ends the run; reported as diverged

        start = np.concatenate([v.numpy().ravel() for v in self.variables]).astype(np.float64)
        interrupted = False
        try:
            result = scipy.optimize.minimize(
                objective, start, jac=True, method="L-BFGS-B", callback=record,
                options={"maxiter": max(max_iterations - len(history), 1), "maxcor": history_size,
                         "gtol": tolerance},
            )
            self._assign(tf.constant(result.x, tf.float32))
        except KeyboardInterrupt:
            interrupted = True
        diverged = bool(history) and not math.isfinite(history[-1]["loss"])
        return Outcome(history, diverged, interrupted, None, self.snapshots.taken)
