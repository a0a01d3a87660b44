"""What the engines take for the pictures of a run while it learns (`report.snapshots`,
`report.gradient_norms`): the weights at chosen epochs, and each layer's gradient norm per epoch.

Both are taken between epochs and cost nothing when not asked for: snapshots where a chunk of
the graph engine ends anyway (it ends its chunks at the snapshot epochs), gradient norms as one
more forward and backward pass over a fixed set of training rows per epoch.
"""

import numpy as np
import tensorflow as tf

from mlpctl.config import RunConfig
from mlpctl.scoring import EVAL_BATCH
from mlpctl.training.engines import dense_names
from mlpctl.training.engines.batches import tensor


class Snapshots:
    """The model's weights after each epoch in `epochs` (1-based), kept as NumPy arrays."""

    def __init__(self, epochs: list[int]):
        self.epochs = sorted(set(epochs))
        self.taken: dict[int, list[np.ndarray]] = {}

    def epochs_to_next(self, done: int) -> int | None:
        """Epochs until the next snapshot, so that the graph engine ends a chunk there."""
        later = [epoch for epoch in self.epochs if epoch > done]
        return later[0] - done if later else None

    def after_epoch(self, done: int, model) -> None:
        if done in self.epochs:
            self.take(done, model)

    def take(self, done: int, model) -> None:
        self.taken[done] = [np.array(weight) for weight in model.get_weights()]


def snapshots_of(config: RunConfig) -> Snapshots:
    """What report.snapshots asks the engine to keep, for this config."""
    return Snapshots(config.report.snapshot_epochs(config.training.epochs))


class GradientProbe:
    """The norm of the loss's gradient with respect to each Dense layer's kernel, on the first
    EVAL_BATCH training rows, in inference mode (no dropout or noise), penalty included: the
    same number whatever the engine, epoch for epoch."""

    def __init__(self, model, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
        rows = min(len(x), EVAL_BATCH)
        self.model = model
        self.x, self.y = tensor(x[:rows]), tensor(y[:rows])
        self.weights = None if weights is None else tensor(weights[:rows])
        self.kernels = [model.get_layer(name).kernel for name in dense_names(self._hidden(model))]
        self.compiled = tf.function(self.norms, autograph=False)

    @staticmethod
    def _hidden(model) -> int:
        return sum(1 for layer in model.layers if layer.name.startswith("hidden_"))

    def norms(self) -> list:
        """In the graph (the graph engine calls it inside its epoch loop) or through `compiled`."""
        with tf.GradientTape() as tape:
            y_pred = self.model(self.x, training=False)
            loss = self.model.compute_loss(x=self.x, y=self.y, y_pred=y_pred, sample_weight=self.weights,
                                           training=False)
        return [tf.cast(tf.norm(gradient), tf.float32) for gradient in tape.gradient(loss, self.kernels)]

    def row(self) -> dict[str, float]:
        """Outside the graph: {column: norm}."""
        names = dense_names(len(self.kernels) - 1)
        return {f"grad_norm_{name}": float(value) for name, value in zip(names, self.compiled())}


def probe_of(config: RunConfig, model, x: np.ndarray, y: np.ndarray, weights) -> GradientProbe | None:
    """The gradient-norm probe report.gradient_norms asks for, or None."""
    return GradientProbe(model, x, y, weights) if config.report.gradient_norms else None
