"""Model stage: a validated config -> a compiled-ready `keras.Sequential`, and the registries
that turn config names into Keras objects. Imports TensorFlow/Keras; the CLI loads it lazily.
"""

import keras

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.config.schema import CustomLoss, name_and_params
from mlpctl.errors import ConfigError
from mlpctl.data import Preprocessing
from mlpctl.layers import Maxout, RReLU, Sin, SoftExponential
from mlpctl.rprop import Rprop


def get_activation(name: str):
    return keras.activations.get(catalog.ACTIVATIONS[name])


ACTIVATION_LAYERS = {
    "leaky_relu": keras.layers.LeakyReLU,
    "elu": keras.layers.ELU,
    "relu": keras.layers.ReLU,
    "prelu": keras.layers.PReLU,
    "rrelu": RReLU,
    "maxout": Maxout,
    "sin": Sin,
    "soft_exponential": SoftExponential,
}


def activation_layer(spec, name: str) -> keras.layers.Layer | None:
    """The layer for an activation that needs one (parameters, or learned like prelu); None
    when the Dense layer can take the activation by name."""
    if isinstance(spec, str) and spec in catalog.ACTIVATIONS:
        return None
    kind, params = name_and_params(spec)
    if kind == "maxout":
        params = {"pieces": catalog.MAXOUT_PIECES, **params}
    return ACTIVATION_LAYERS[kind](**params, name=name)


def dense_units(layer) -> int:
    """A maxout layer's Dense has one output per piece of each unit."""
    name, params = name_and_params(layer.activation)
    return layer.units * params.get("pieces", catalog.MAXOUT_PIECES) if name == "maxout" else layer.units


def get_initializer(spec) -> keras.initializers.Initializer:
    name, params = name_and_params(spec)
    return keras.initializers.get({"class_name": name, "config": params} if params else name)


@keras.saving.register_keras_serializable(package="mlpctl")
class PowerInverseTimeDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr / (1 + decay_rate * step / decay_steps) ** power: Keras' inverse time decay with a power,
    which makes it scikit-learn's invscaling (lr / t ** power_t, counting from 1)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, power, staircase=False):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.power, self.staircase = decay_rate, power, staircase

    def __call__(self, step):
        ratio = keras.ops.cast(step, "float32") / self.decay_steps
        if self.staircase:
            ratio = keras.ops.floor(ratio)
        return self.initial_learning_rate / keras.ops.power(1.0 + self.decay_rate * ratio, self.power)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "power": self.power, "staircase": self.staircase}


def get_schedule(optimizer_config):
    """A Keras LearningRateSchedule, or the plain rate (constant, and reduce_on_plateau, which
    is a callback of the training stage)."""
    schedules = keras.optimizers.schedules
    rate, schedule = optimizer_config.learning_rate, optimizer_config.schedule
    if schedule.name == "exponential":
        return schedules.ExponentialDecay(rate, schedule.decay_steps, schedule.decay_rate, schedule.staircase)
    if schedule.name == "inverse_time" and schedule.power != 1.0:
        return PowerInverseTimeDecay(rate, schedule.decay_steps, schedule.decay_rate, schedule.power, schedule.staircase)
    if schedule.name == "inverse_time":
        return schedules.InverseTimeDecay(rate, schedule.decay_steps, schedule.decay_rate, schedule.staircase)
    if schedule.name == "step":
        return schedules.PiecewiseConstantDecay(schedule.boundaries, schedule.values)
    if schedule.name == "cosine":
        return schedules.CosineDecay(rate, schedule.decay_steps, alpha=schedule.alpha,
                                     warmup_target=schedule.warmup_target, warmup_steps=schedule.warmup_steps)
    return rate


LOSSES = {
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
    "hinge": keras.losses.Hinge,
    "squared_hinge": keras.losses.SquaredHinge,
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "categorical_focal_crossentropy": keras.losses.CategoricalFocalCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
    "mean_absolute_error": keras.losses.MeanAbsoluteError,
    "mean_absolute_percentage_error": keras.losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": keras.losses.MeanSquaredLogarithmicError,
    "huber": keras.losses.Huber,
    "log_cosh": keras.losses.LogCosh,
    "poisson": keras.losses.Poisson,
}


def get_loss(spec):
    """A Keras loss object (with its parameters), or the user's own function."""
    if isinstance(spec, CustomLoss):
        return import_custom(spec.custom)
    name, params = name_and_params(spec)
    return LOSSES[catalog.canonical_loss(name)](**params)


def import_custom(target: str):
    """`package.module:function` from the user's environment, named explicitly in the config."""
    import importlib

    module_name, _, attribute = target.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"loss.custom: cannot import {target}: {error}") from None
    if not callable(function):
        raise ConfigError(f"loss.custom: {target} is not a function")
    return function


OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam,
    "adamax": keras.optimizers.Adamax,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
    "ftrl": keras.optimizers.Ftrl,
    "lion": keras.optimizers.Lion,
    "rprop": Rprop,
}


def get_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    if config.optimizer.name == "lbfgs":
        return keras.optimizers.SGD()  # a placeholder for compile: the lbfgs engine moves the weights
    settings = config.optimizer.model_dump(exclude={"name", "schedule"}, exclude_none=True)
    settings["learning_rate"] = get_schedule(config.optimizer)
    return OPTIMIZERS[config.optimizer.name](**settings)


def get_metrics(scenario: str, one_hot: bool) -> list[keras.metrics.Metric]:
    """The scenario's metrics, named as they appear in history.csv and metrics.json."""
    if scenario == "binary":
        return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
    if scenario == "multiclass":
        accuracy = keras.metrics.CategoricalAccuracy if one_hot else keras.metrics.SparseCategoricalAccuracy
        return [accuracy(name="accuracy")]
    return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.R2Score(name="r2")]


def output_activation(config: RunConfig) -> str:
    """The scenario's, except that a Poisson loss needs a positive rate: exp, its log link."""
    return "exponential" if config.loss_name == "poisson" else catalog.OUTPUT_ACTIVATION[config.scenario]


def penalty(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    return keras.regularizers.L1L2(l1=l1, l2=l2) if l1 or l2 else None


def after_layer(layer, defaults, index: int) -> list[keras.layers.Layer]:
    """What follows a hidden layer (after its activation), in this order: batch norm, layer
    norm, Gaussian noise, dropout."""
    extras = []
    if layer.setting("batch_norm", defaults):
        extras.append(keras.layers.BatchNormalization(name=f"batch_norm_{index}"))
    if layer.setting("layer_norm", defaults):
        extras.append(keras.layers.LayerNormalization(name=f"layer_norm_{index}"))
    if layer.setting("gaussian_noise", defaults):
        extras.append(keras.layers.GaussianNoise(layer.setting("gaussian_noise", defaults), name=f"noise_{index}"))
    if layer.setting("dropout", defaults):
        extras.append(keras.layers.Dropout(layer.setting("dropout", defaults), name=f"dropout_{index}"))
    return extras


def build_model(config: RunConfig, preprocessing: Preprocessing) -> keras.Sequential:
    """Hidden layers as configured, then the output layer the scenario implies."""
    defaults = config.model.regularization
    model = keras.Sequential(name=config.name)
    model.add(keras.Input(shape=(preprocessing.n_inputs,), name="features"))
    for index, layer in enumerate(config.model.layers, start=1):
        separate = activation_layer(layer.activation, f"activation_{index}")
        max_norm = layer.setting("max_norm", defaults)
        model.add(
            keras.layers.Dense(
                dense_units(layer),
                activation=None if separate else get_activation(layer.activation),
                kernel_initializer=get_initializer(layer.initializer or config.model.initializer),
                bias_initializer=get_initializer(layer.bias_initializer or config.model.bias_initializer),
                kernel_regularizer=penalty(layer.setting("l1", defaults), layer.setting("l2", defaults)),
                kernel_constraint=keras.constraints.MaxNorm(max_norm) if max_norm else None,
                name=f"hidden_{index}",
            )
        )
        for extra in [separate, *after_layer(layer, defaults, index)]:
            if extra is not None:
                model.add(extra)
    model.add(
        keras.layers.Dense(
            preprocessing.n_outputs(config.scenario),
            activation=output_activation(config),
            kernel_initializer=get_initializer(config.model.initializer),
            bias_initializer=get_initializer(config.model.bias_initializer),
            kernel_regularizer=penalty(defaults.l1, defaults.l2),
            name="output",
        )
    )
    return model
