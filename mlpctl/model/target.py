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

LAYER_NAME = "target_scale"


@keras.saving.register_keras_serializable(package=PACKAGE)
class TargetScale(keras.layers.Layer):
    """y = z * scale + center, per output; constants, not weights."""

    def __init__(self, center: list[float], scale: list[float], **kwargs):
        super().__init__(**kwargs)
        self.center, self.scale = list(center), list(scale)

    def call(self, inputs):
        return inputs * ops.convert_to_tensor(self.scale, inputs.dtype) + ops.convert_to_tensor(self.center, inputs.dtype)

    def standardize(self, values):
        """The inverse: target units -> the standard scale."""
        values = ops.cast(values, self.compute_dtype)
        return (values - ops.convert_to_tensor(self.center, values.dtype)) / ops.convert_to_tensor(self.scale, values.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "center": self.center, "scale": self.scale}


class OnStandardScale(keras.losses.Loss):
    """`loss` (a Keras loss, or a function of y_true and y_pred) on standardized values; the
    reduction and sample weights are the wrapped loss's."""

    def __init__(self, loss, target: TargetScale):
        super().__init__(name=getattr(loss, "name", None), reduction=getattr(loss, "reduction", "sum_over_batch_size"))
        self.loss, self.target = loss, target

    def call(self, y_true, y_pred):
        on_scale = self.loss.call if isinstance(self.loss, keras.losses.Loss) else self.loss
        return on_scale(self.target.standardize(y_true), self.target.standardize(y_pred))

    def get_config(self):
        return {"name": self.name}


def target_layer(model: keras.Model) -> TargetScale | None:
    """The model's TargetScale layer, if its target is standardized."""
    last = model.layers[-1] if model.layers else None
    return last if isinstance(last, TargetScale) else None
