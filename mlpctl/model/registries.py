"""Config names -> Keras objects, for every kind a config names: activation, initializer, loss,
optimizer and schedule, each through one `get(kind, spec)`.

A spec is a name (`relu`) or a mapping with a name and parameters (`{name: elu, alpha: 0.5}`);
`catalog.py` holds the names and parameters a config may use, TF-free, and a test holds every
registry here to it. Where a Keras class's own name gives the config's name, the registry is
built from the classes it holds, as Keras 3 builds its `ALL_OBJECTS_DICT`; activation functions
by name are Keras' own `keras.activations.get`.
"""

import functools
from collections.abc import Callable
from typing import Any

import keras

from mlpctl import catalog
from mlpctl.config.schema import name_and_params
from mlpctl.model.custom import FunctionLoss
from mlpctl.model.delta_bar_delta import DeltaBarDelta
from mlpctl.model.layers import PACKAGE, Maxout, RReLU, Sin, Sloped, SoftExponential
from mlpctl.model.rprop import Rprop
from mlpctl.model.schedules import PowerInverseTimeDecay


def snake_case(name: str) -> str:
    """Keras' own rule: `SparseCategoricalCrossentropy` -> `sparse_categorical_crossentropy`."""
    from keras.src.utils.naming import to_snake_case

    return to_snake_case(name)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Huber(keras.losses.Huber):
    """Keras' Huber loss, saved with its delta: Keras' own get_config leaves delta out, so a
    saved model would come back compiled with delta 1.0."""

    def get_config(self):
        return {**super().get_config(), "delta": self._fn_kwargs["delta"]}


LOSSES = {snake_case(cls.__name__): cls for cls in (
    keras.losses.BinaryCrossentropy, keras.losses.BinaryFocalCrossentropy, keras.losses.Hinge,
    keras.losses.SquaredHinge, keras.losses.SparseCategoricalCrossentropy, keras.losses.CategoricalCrossentropy,
    keras.losses.CategoricalFocalCrossentropy, keras.losses.MeanSquaredError, keras.losses.MeanAbsoluteError,
    keras.losses.MeanAbsolutePercentageError, keras.losses.MeanSquaredLogarithmicError, Huber,
    keras.losses.LogCosh, keras.losses.Poisson,
)}

# The loss classes a saved model may name inside one of ours (OnStandardScale, DataLoss).
SAVED_LOSSES = (*LOSSES.values(), FunctionLoss)


def rebuild(spec: dict, allowed) -> object:
    """A Keras object from its serialized form in a saved model, as one of the `allowed` classes.

    The class is looked up by the name Keras saved (`MeanSquaredError`, `mlpctl>Huber`) among
    `allowed` alone, and the spec's `module` is never imported: a model file picks among what
    mlpctl builds, never what Python runs. Anything else is a ValueError naming it."""
    classes = {keras.saving.get_registered_name(cls): cls for cls in allowed}
    name = spec.get("registered_name") or spec.get("class_name")
    if name not in classes or not isinstance(spec.get("config"), dict):
        raise ValueError(f"the model names {name!r} where mlpctl saves one of {', '.join(sorted(classes))}")
    return classes[name].from_config(dict(spec["config"]))


INITIALIZERS = {snake_case(cls.__name__): cls for cls in (
    keras.initializers.GlorotUniform, keras.initializers.GlorotNormal, keras.initializers.HeUniform,
    keras.initializers.HeNormal, keras.initializers.LecunUniform, keras.initializers.LecunNormal,
    keras.initializers.Orthogonal, keras.initializers.RandomUniform, keras.initializers.RandomNormal,
    keras.initializers.TruncatedNormal, keras.initializers.VarianceScaling, keras.initializers.Constant,
    keras.initializers.Zeros, keras.initializers.Ones,
)}

OPTIMIZERS = {cls.__name__.lower(): cls for cls in (
    keras.optimizers.SGD, keras.optimizers.RMSprop, keras.optimizers.Adam, keras.optimizers.AdamW,
    keras.optimizers.Nadam, keras.optimizers.Adamax, keras.optimizers.Adagrad, keras.optimizers.Adadelta,
    keras.optimizers.Ftrl, keras.optimizers.Lion, Rprop,
)} | {"delta_bar_delta": DeltaBarDelta}

# Named after the activation they compute, not after their class: `{name: leaky_relu, ...}`.
ACTIVATION_LAYERS = {
    "leaky_relu": keras.layers.LeakyReLU,
    "elu": keras.layers.ELU,
    "relu": keras.layers.ReLU,
    "prelu": keras.layers.PReLU,
    "rrelu": RReLU,
    "maxout": Maxout,
    "sin": Sin,
    "soft_exponential": SoftExponential,
    "sigmoid": functools.partial(Sloped, "sigmoid"),
    "tanh": functools.partial(Sloped, "tanh"),
}


def _inverse_time(learning_rate, decay_steps, decay_rate, power, staircase):
    if power == 1.0:
        return keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps, decay_rate, staircase)
    return PowerInverseTimeDecay(learning_rate, decay_steps, decay_rate, power, staircase)


# Schedule name -> (learning_rate, parameters) -> a Keras LearningRateSchedule, or the plain rate:
# constant, and reduce_on_plateau and bold_driver, which the engines apply after each epoch.
SCHEDULES: dict[str, Callable[..., Any]] = {
    "constant": lambda learning_rate: learning_rate,
    "reduce_on_plateau": lambda learning_rate, **callback_settings: learning_rate,
    "bold_driver": lambda learning_rate, **callback_settings: learning_rate,
    "exponential": lambda learning_rate, decay_steps, decay_rate, staircase:
        keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate, staircase),
    "inverse_time": _inverse_time,
    "step": lambda learning_rate, boundaries, values:
        keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values),
    "cosine": lambda learning_rate, decay_steps, alpha, warmup_steps, warmup_target:
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=alpha,
                                               warmup_target=warmup_target, warmup_steps=warmup_steps),
}


def _activation(name: str, params: dict, options: dict):
    """A function the Dense layer takes by name, or a layer of its own (parameters, or learned)."""
    if name in catalog.ACTIVATIONS and not params:
        return keras.activations.get(catalog.ACTIVATIONS[name])
    if name == "maxout":
        params = {"pieces": catalog.MAXOUT_PIECES, **params}
    return ACTIVATION_LAYERS[name](**params, **options)


def _initializer(name: str, params: dict, options: dict):
    # by class: keras.initializers.get("constant") fails (Constant.from_config needs a value)
    return INITIALIZERS[name](**params, **options)


def _loss(name: str, params: dict, options: dict):
    return LOSSES[catalog.canonical_loss(name)](**params, **options)


def _optimizer(name: str, params: dict, options: dict):
    return OPTIMIZERS[name](**params, **options)


def _schedule(name: str, params: dict, options: dict):
    return SCHEDULES[name](**options, **params)


KINDS = {
    "activation": _activation,
    "initializer": _initializer,
    "loss": _loss,
    "optimizer": _optimizer,
    "schedule": _schedule,
}


def get(kind: str, spec, **options):
    """The Keras object of `kind` for a name or a `{name: ..., parameter: value}` spec.

    `options` are the constructor's arguments that come from elsewhere than the spec: a layer's
    `name`, an optimizer's schedule as `learning_rate`, a schedule's `learning_rate`."""
    name, params = name_and_params(spec)
    return KINDS[kind](name, params, options)
