"""The loss a config asks for, and the loss without the weight penalty as a metric.

Every object here is registered with Keras and rebuilds itself from its config, so model.keras
loads with `keras.saving.load_model` (compiled, as Keras does by default) once `mlpctl.model`
is imported: the standardized target's loss keeps its statistics, and a custom loss its
`package.module:function` name, imported again on loading.
"""

import importlib

import keras

from mlpctl.config import RunConfig
from mlpctl.config.schema import CustomLoss
from mlpctl.errors import ConfigError
from mlpctl.model.layers import PACKAGE
from mlpctl.model.registries import get
from mlpctl.model.target import OnStandardScale, target_layer

REDUCTIONS = {"mean": "sum_over_batch_size", "sum": "sum"}  # loss_reduction -> Keras' name


def import_custom(target: str):
    """`package.module:function` from the user's environment, named explicitly in the config."""
    module_name, _, attribute = target.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"loss.custom: cannot import {target}: {error}") from None
    if not callable(function):
        raise ConfigError(f"loss.custom: {target} is not a function")
    return function


@keras.saving.register_keras_serializable(package=PACKAGE)
class FunctionLoss(keras.losses.Loss):
    """The user's loss function (per-row losses, `target` = package.module:function) with the
    config's reduction."""

    def __init__(self, target: str, reduction: str = "sum_over_batch_size", name: str | None = None):
        super().__init__(name=name or target.rpartition(":")[2], reduction=reduction)
        self.target, self.function = target, import_custom(target)

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)

    def get_config(self):
        return {"target": self.target, "reduction": self.reduction, "name": self.name}


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
        self.loss = keras.losses.deserialize(loss) if isinstance(loss, dict) else loss
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        value = self.loss(y_true, y_pred, sample_weight=sample_weight)
        rows = keras.ops.cast(keras.ops.shape(y_pred)[0], self.dtype)
        return super().update_state(value, sample_weight=rows)

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}
