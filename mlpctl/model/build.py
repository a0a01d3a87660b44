"""A validated config -> a `keras.Sequential`, and its compilation: the hidden layers as
configured, the output layer the scenario implies, the loss, metrics and optimizer."""

import math

import keras

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.model.losses import DataLoss, loss_of
from mlpctl.model.registries import get
from mlpctl.model.target import LAYER_NAME, TargetScale


def optimizer_of(config: RunConfig) -> keras.optimizers.Optimizer:
    """The config's optimizer, its learning rate a schedule where one is configured."""
    if config.optimizer.name == "lbfgs":
        return keras.optimizers.SGD()  # a placeholder for compile: the lbfgs engine moves the weights
    settings = config.optimizer.model_dump(exclude={"schedule"}, exclude_none=True)
    settings["learning_rate"] = get("schedule", config.optimizer.schedule,
                                    learning_rate=config.optimizer.learning_rate)
    return get("optimizer", settings)


def metrics_of(scenario: str, one_hot: bool) -> list[keras.metrics.Metric]:
    """The scenario's metrics, named as they appear in history.csv and metrics.json."""
    if scenario == "binary":
        return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
    if scenario == "multiclass":
        accuracy = keras.metrics.CategoricalAccuracy if one_hot else keras.metrics.SparseCategoricalAccuracy
        return [accuracy(name="accuracy")]
    return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.R2Score(name="r2")]


def compile_model(model: keras.Model, config: RunConfig, train_rows: int | None = None,
                  steps_per_execution: int | None = None) -> keras.Model:
    """Loss and metrics from the config; with `train_rows` (training), the optimizer too and
    `steps_per_execution` steps per call into TensorFlow for the fit engine (default a whole
    epoch). Without it (predicting, evaluating) no optimizer is built."""
    one_hot = config.loss_name in catalog.ONE_HOT_LOSSES
    training = {}
    if train_rows is not None:
        epoch = math.ceil(train_rows / config.training.batch_rows(train_rows))
        training = {"optimizer": optimizer_of(config), "steps_per_execution": min(steps_per_execution or epoch, epoch)}
    loss = loss_of(config, model)
    metrics = [*([DataLoss(loss)] if config.has_weight_penalty else []), *metrics_of(config.scenario, one_hot)]
    model.compile(loss=loss, metrics=metrics, **training)
    return model


def penalty(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    """A layer's kernel regularizer from its l1 and l2, or None."""
    return keras.regularizers.L1L2(l1=l1, l2=l2) if l1 or l2 else None


def after_layer(layer, defaults, index: int, synchronized: bool = False) -> list[keras.layers.Layer]:
    """What follows a hidden layer (after its activation), in this order: batch norm, layer
    norm, Gaussian noise, dropout. `synchronized` (training.distribute: mirrored): batch norm's
    statistics over the global batch, not each device's share (the replicas' moving statistics
    would drift apart, and the saved model keeps one copy)."""
    extras = []
    if layer.setting("batch_norm", defaults):
        extras.append(keras.layers.BatchNormalization(name=f"batch_norm_{index}", synchronized=synchronized))
    if layer.setting("layer_norm", defaults):
        extras.append(keras.layers.LayerNormalization(name=f"layer_norm_{index}"))
    if layer.setting("gaussian_noise", defaults):
        extras.append(keras.layers.GaussianNoise(layer.setting("gaussian_noise", defaults), name=f"noise_{index}"))
    if layer.setting("dropout", defaults):
        extras.append(keras.layers.Dropout(layer.setting("dropout", defaults), name=f"dropout_{index}"))
    return extras


def build_model(config: RunConfig, preprocessing) -> keras.Sequential:
    """Hidden layers as configured, then the output layer the scenario implies; `preprocessing`
    (data.Preprocessing) gives the number of inputs and outputs."""
    defaults = config.model.regularization
    model = keras.Sequential(name=config.name)
    model.add(keras.Input(shape=(preprocessing.n_inputs,), name="features"))
    for index, layer in enumerate(config.model.layers, start=1):
        activation = get("activation", layer.activation, name=f"activation_{index}")
        separate = isinstance(activation, keras.layers.Layer)
        max_norm = layer.setting("max_norm", defaults)
        model.add(
            keras.layers.Dense(
                layer.dense_units,
                activation=None if separate else activation,
                kernel_initializer=get("initializer", layer.initializer or config.model.initializer),
                bias_initializer=get("initializer", layer.bias_initializer or config.model.bias_initializer),
                kernel_regularizer=penalty(layer.setting("l1", defaults), layer.setting("l2", defaults)),
                kernel_constraint=keras.constraints.MaxNorm(max_norm) if max_norm else None,
                name=f"hidden_{index}",
            )
        )
        if separate:
            model.add(activation)
        for extra in after_layer(layer, defaults, index, synchronized=config.training.distribute == "mirrored"):
            model.add(extra)
    output = config.model.output
    model.add(
        keras.layers.Dense(
            preprocessing.n_outputs(config.scenario),
            activation=config.output_activation,
            kernel_initializer=get("initializer", output.initializer or config.model.initializer),
            bias_initializer=get("initializer", output.bias_initializer or config.model.bias_initializer),
            kernel_regularizer=penalty(defaults.l1, defaults.l2),
            name="output",
        )
    )
    scale = output_scale(config, preprocessing)
    if scale is not None:
        model.add(TargetScale(*scale, name=LAYER_NAME))
    return model


def output_scale(config: RunConfig, preprocessing) -> tuple[list[float], list[float]] | None:
    """(center, scale) of the TargetScale layer after the output, if any: a standardized
    regression target's statistics, or, for a binary tanh output, the map from -1/+1 onto
    0/1, so that the loss sees the tanh output and targets -1/+1 (the notes' setting) and
    everything else sees P(positive)."""
    if preprocessing.target_scale is not None:
        return preprocessing.target_center, preprocessing.target_scale
    if config.scenario == "binary" and config.output_activation == "tanh":
        return [0.5], [0.5]
    return None
