"""The user's own loss function (`loss.custom: package.module:function`), imported only for a
config that the user runs.

A model file is data that may come from someone else. Keras rebuilds a `FunctionLoss` from the
target its saved config names, and importing a module runs its code, so `from_config` imports
only what a config run in this process named (`trust`, called as a config's loss is built), or
what a Python caller trusts by hand: `mlpctl.model.trust_custom_loss("package.module:function")`.
"""

import importlib

import keras

from mlpctl.errors import ConfigError
from mlpctl.model.layers import PACKAGE

_TRUSTED: set[str] = set()


def trust_custom_loss(target: str) -> None:
    """Let saved models name `target` (`package.module:function`) as their loss."""
    _TRUSTED.add(target)


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
        trust_custom_loss(target)  # built from a config being run: its saved form may be reloaded
        self.target, self.function = target, import_custom(target)

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)

    def get_config(self):
        return {"target": self.target, "reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        """From a saved model: only a target trusted in this process, never what a file names."""
        target = config.get("target")
        if target not in _TRUSTED:
            raise ValueError(f"the model names the custom loss {target!r}, which no config run here names; "
                             f"mlpctl imports a loss module only for a config you run (to trust it, call "
                             f"mlpctl.model.trust_custom_loss({target!r}) before loading)")
        return cls(**config)
