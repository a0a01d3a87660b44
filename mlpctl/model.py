"""Model stage: a validated config -> a compiled-ready `keras.Sequential`, and the registries
that turn config names into Keras objects. Imports TensorFlow/Keras; the CLI loads it lazily.
"""

import keras

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.data import Preprocessing
from mlpctl.rprop import Rprop


def get_activation(name: str):
    return keras.activations.get(catalog.ACTIVATIONS[name])


def activation_layer(spec, name: str) -> keras.layers.Layer | None:
    """The layer for an activation that needs one (parameters, or learned like prelu); None
    when the Dense layer can take the activation by name."""
    if isinstance(spec, str) and spec in catalog.ACTIVATIONS:
        return None
    kind, params = (spec, {}) if isinstance(spec, str) else (spec.name, spec.params)
    layers = {"leaky_relu": keras.layers.LeakyReLU, "elu": keras.layers.ELU, "relu": keras.layers.ReLU,
              "prelu": keras.layers.PReLU}
    return layers[kind](**params, name=name)


def get_initializer(spec) -> keras.initializers.Initializer:
    if isinstance(spec, str):
        return keras.initializers.get(spec)
    return keras.initializers.get({"class_name": spec.name, "config": spec.params})


def get_schedule(optimizer_config):
    """A Keras LearningRateSchedule, or the plain rate (constant, and reduce_on_plateau, which
    is a callback of the training stage)."""
    schedules = keras.optimizers.schedules
    rate, schedule = optimizer_config.learning_rate, optimizer_config.schedule
    if schedule.name == "exponential":
        return schedules.ExponentialDecay(rate, schedule.decay_steps, schedule.decay_rate, schedule.staircase)
    if schedule.name == "inverse_time":
        return schedules.InverseTimeDecay(rate, schedule.decay_steps, schedule.decay_rate, schedule.staircase)
    if schedule.name == "step":
        return schedules.PiecewiseConstantDecay(schedule.boundaries, schedule.values)
    if schedule.name == "cosine":
        return schedules.CosineDecay(rate, schedule.decay_steps, alpha=schedule.alpha,
                                     warmup_target=schedule.warmup_target, warmup_steps=schedule.warmup_steps)
    return rate


def get_loss(name: str) -> keras.losses.Loss:
    return keras.losses.get(catalog.canonical_loss(name))


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


def output_units(scenario: str, preprocessing: Preprocessing) -> int:
    if scenario == "binary":
        return 1
    if scenario == "multiclass":
        return len(preprocessing.classes)
    return len(preprocessing.targets)


def build_model(config: RunConfig, preprocessing: Preprocessing) -> keras.Sequential:
    """Hidden layers as configured, then the output layer the scenario implies."""
    penalty = config.model.regularization
    regularizer = keras.regularizers.L1L2(l1=penalty.l1, l2=penalty.l2) if penalty.l1 or penalty.l2 else None
    model = keras.Sequential(name=config.name)
    model.add(keras.Input(shape=(len(preprocessing.features),), name="features"))
    defaults = config.model
    for index, layer in enumerate(config.model.layers, start=1):
        separate = activation_layer(layer.activation, f"activation_{index}")
        model.add(
            keras.layers.Dense(
                layer.units,
                activation=None if separate else get_activation(layer.activation),
                kernel_initializer=get_initializer(layer.initializer or defaults.initializer),
                bias_initializer=get_initializer(layer.bias_initializer or defaults.bias_initializer),
                kernel_regularizer=regularizer,
                name=f"hidden_{index}",
            )
        )
        if separate:
            model.add(separate)
        if layer.dropout:
            model.add(keras.layers.Dropout(layer.dropout, name=f"dropout_{index}"))
    model.add(
        keras.layers.Dense(
            output_units(config.scenario, preprocessing),
            activation=catalog.OUTPUT_ACTIVATION[config.scenario],
            kernel_initializer=get_initializer(defaults.initializer),
            bias_initializer=get_initializer(defaults.bias_initializer),
            kernel_regularizer=regularizer,
            name="output",
        )
    )
    return model
