"""A regression target on a standard scale (`data.normalize_target`).

The network learns the standardized target, z = (y - center) / scale, with statistics from the
training rows, as scikit-learn's `TransformedTargetRegressor` would. Two small objects do it:

- `TargetScale`, the model's last layer, maps z back to y. So the saved model predicts in the
  target's own units, and everything computed from its outputs (metrics, plots, `predict`) is
  in those units with no step to forget.
- `OnStandardScale` wraps the loss so it compares standardized values: the optimizer sees the
  same gradients as if the targets had been standardized beforehand. The loss logged is the
  training objective, on the standard scale.

A binary tanh output (`model.output.activation: tanh`) uses the same pair with center 0.5 and
scale 0.5: the loss compares the tanh output with labels mapped to -1/+1, and the model reports
(o + 1) / 2, a P(positive) like a sigmoid's.
"""

import keras
from keras import ops

from mlpctl.model.layers import PACKAGE
from mlpctl.model.registries import SAVED_LOSSES, rebuild

LAYER_NAME = "target_scale"


@keras.saving.register_keras_serializable(package=PACKAGE)
class TargetScale(keras.layers.Layer):
    """y = z * scale + center, per output; constants, not weights."""

    def __init__(self, center: list[float], scale: list[float], **kwargs):
        super().__init__(**kwargs)
        self.center, self.scale = list(center), list(scale)

    def call(self, inputs):
        scale, center = (ops.convert_to_tensor(values, inputs.dtype) for values in (self.scale, self.center))
        return inputs * scale + center

    def standardize(self, values):
        """The inverse: target units -> the standard scale."""
        return standardize(values, self.center, self.scale, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "center": self.center, "scale": self.scale}


def standardize(values, center: list[float], scale: list[float], dtype):
    """(values - center) / scale, per output."""
    values = ops.cast(values, dtype)
    return (values - ops.convert_to_tensor(center, values.dtype)) / ops.convert_to_tensor(scale, values.dtype)


@keras.saving.register_keras_serializable(package=PACKAGE)
class OnStandardScale(keras.losses.Loss):
    """`loss` (a Keras loss object, or its serialized config) on values standardized with the
    TargetScale's `center` and `scale`; the reduction and sample weights are the wrapped loss's."""

    def __init__(self, loss, center: list[float], scale: list[float], name: str | None = None,
                 reduction: str | None = None):
        loss = rebuild(loss, SAVED_LOSSES) if isinstance(loss, dict) else loss
        super().__init__(name=name or loss.name, reduction=reduction or loss.reduction)
        self.loss, self.center, self.scale = loss, list(center), list(scale)

    def call(self, y_true, y_pred):
        dtype = y_pred.dtype
        return self.loss.call(standardize(y_true, self.center, self.scale, dtype),
                              standardize(y_pred, self.center, self.scale, dtype))

    def get_config(self):
        return {"loss": keras.losses.serialize(self.loss), "center": self.center, "scale": self.scale,
                "name": self.name, "reduction": self.reduction}


def target_layer(model: keras.Model) -> TargetScale | None:
    """The model's TargetScale layer, if its target is standardized."""
    last = model.layers[-1] if model.layers else None
    return last if isinstance(last, TargetScale) else None
