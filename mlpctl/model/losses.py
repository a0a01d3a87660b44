"""The loss a config asks for, and the loss without the weight penalty as a metric.

Every object here is registered with Keras and rebuilds itself from its config, so model.keras
loads with `keras.saving.load_model` (compiled, as Keras does by default) once `mlpctl.model`
is imported: the standardized target's loss keeps its statistics, and a custom loss its
`package.module:function` name (imported again on loading only where trusted: see `custom`).
A loss nested in a saved one rebuilds only as one of the classes mlpctl itself builds.
"""

import keras

from mlpctl.config import RunConfig
from mlpctl.config.schema import CustomLoss
from mlpctl.model.custom import FunctionLoss
from mlpctl.model.layers import PACKAGE
from mlpctl.model.registries import SAVED_LOSSES, get, rebuild
from mlpctl.model.target import OnStandardScale, target_layer

REDUCTIONS = {"mean": "sum_over_batch_size", "sum": "sum"}  # loss_reduction -> Keras' name


def loss_of(config: RunConfig, model: keras.Model):
    """The config's loss: a Keras loss object with its parameters, or the user's own function;
    on the standard scale when the model ends in a TargetScale."""
    reduction = REDUCTIONS[config.loss_reduction]
    if isinstance(config.loss, CustomLoss):
        loss = FunctionLoss(config.loss.custom, reduction)
    else:
        loss = get("loss", config.loss, reduction=reduction)
    target = target_layer(model)
    return OnStandardScale(loss, target.center, target.scale) if target else loss


@keras.saving.register_keras_serializable(package=PACKAGE)
class DataLoss(keras.metrics.Mean):
    """The loss without the L1/L2 penalty, averaged over an epoch as Keras averages the loss
    itself (each batch's value weighted by its rows), so that loss - data_loss is the penalty."""

    def __init__(self, loss, name: str = "data_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = rebuild(loss, (*SAVED_LOSSES, OnStandardScale)) if isinstance(loss, dict) else loss
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        value = self.loss(y_true, y_pred, sample_weight=sample_weight)
        rows = keras.ops.cast(keras.ops.shape(y_pred)[0], self.dtype)
        return super().update_state(value, sample_weight=rows)

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}
