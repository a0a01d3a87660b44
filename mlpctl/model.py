"""Model stage: a validated config -> a compiled-ready `keras.Sequential`, and the registries
that turn config names into Keras objects. Imports TensorFlow/Keras; the CLI loads it lazily.
"""

import keras

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.data import Preprocessing


def get_activation(name: str):
    return keras.activations.get(catalog.ACTIVATIONS[name])


def get_loss(name: str) -> keras.losses.Loss:
    return keras.losses.get(catalog.canonical_loss(name))


def get_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    settings = config.optimizer.model_dump(exclude={"name"}, exclude_none=True)
    classes = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
    }
    return classes[config.optimizer.name](**settings)


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
    for index, layer in enumerate(config.model.layers, start=1):
        model.add(
            keras.layers.Dense(
                layer.units,
                activation=get_activation(layer.activation),
                kernel_regularizer=regularizer,
                name=f"hidden_{index}",
            )
        )
        if layer.dropout:
            model.add(keras.layers.Dropout(layer.dropout, name=f"dropout_{index}"))
    model.add(
        keras.layers.Dense(
            output_units(config.scenario, preprocessing),
            activation=catalog.OUTPUT_ACTIVATION[config.scenario],
            kernel_regularizer=regularizer,
            name="output",
        )
    )
    return model
