"""Activations the course notes teach and Keras lacks, as small layers saved with the model."""

from typing import ClassVar

import keras
from keras import ops

PACKAGE = "mlpctl"


@keras.saving.register_keras_serializable(package=PACKAGE)
class RReLU(keras.layers.Layer):
    """Randomised leaky ReLU: in training each negative input gets a slope drawn from
    U(lower, upper); at inference the mean slope (lower + upper) / 2."""

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = lower, upper
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if training:
            slope = keras.random.uniform(ops.shape(inputs), self.lower, self.upper, seed=self.seed_generator)
        else:
            slope = (self.lower + self.upper) / 2
        return ops.where(inputs >= 0, inputs, inputs * slope)

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Maxout(keras.layers.Layer):
    """The max of `pieces` linear pieces per unit: the Dense layer before it has units x pieces
    outputs, grouped by unit."""

    def __init__(self, pieces: int, **kwargs):
        super().__init__(**kwargs)
        self.pieces = pieces

    def call(self, inputs):
        units = inputs.shape[-1] // self.pieces
        return ops.max(ops.reshape(inputs, (-1, units, self.pieces)), axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.pieces)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Sin(keras.layers.Layer):
    """The sinusoid as an activation."""

    def call(self, inputs):
        return ops.sin(inputs)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SoftExponential(keras.layers.Layer):
    """Godfrey and Gashler's soft exponential, with alpha learned per unit: logarithmic for
    alpha < 0, the identity at 0, exponential for alpha > 0. alpha starts at `alpha_init`
    (not 0: at exactly 0 the identity branch passes no gradient to alpha)."""

    def __init__(self, alpha_init: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.alpha_init = alpha_init

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(input_shape[-1],), initializer=keras.initializers.Constant(self.alpha_init),
                                     name="alpha")

    def call(self, inputs):
        alpha = self.alpha
        tiny = ops.abs(alpha) < 1e-6
        safe = ops.where(tiny, ops.ones_like(alpha), alpha)
        growing = (ops.exp(safe * inputs) - 1) / safe + safe
        shrinking = -ops.log(ops.maximum(1 - safe * (inputs + safe), 1e-7)) / safe
        return ops.where(tiny, inputs, ops.where(alpha > 0, growing, shrinking))

    def get_config(self):
        return {**super().get_config(), "alpha_init": self.alpha_init}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Sloped(keras.layers.Layer):
    """sigmoid(c x) or tanh(c x): the course notes' activations with a slope parameter c
    (steeper for c > 1, flatter for c < 1; c = 1 is the plain function)."""

    FUNCTIONS: ClassVar[dict] = {"sigmoid": ops.sigmoid, "tanh": ops.tanh}

    def __init__(self, function: str, slope: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.function, self.slope = function, slope

    def call(self, inputs):
        return self.FUNCTIONS[self.function](self.slope * inputs)

    def get_config(self):
        return {**super().get_config(), "function": self.function, "slope": self.slope}
