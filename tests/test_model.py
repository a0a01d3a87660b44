"""The model stage: a config builds exactly the network one would write by hand in Keras."""

import typing

import keras
import pytest

from mlpctl import catalog
from mlpctl.config import load_config
from mlpctl.data import Preprocessing
from mlpctl.config.schema import OptimizerConfig, ScheduleConfig
from mlpctl.model import build_model, get, registries
from mlpctl.model.build import metrics_of

from conftest import CONFIGS


def preprocessing(features: int, classes=None, targets=("y",)) -> Preprocessing:
    return Preprocessing([f"f{i}" for i in range(features)], list(targets), "none",
                         [0.0] * features, [1.0] * features, classes)


def describe(model: keras.Model) -> list[tuple]:
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        rows.append((
            type(layer).__name__,
            config.get("units"),
            config.get("activation"),
            config.get("rate"),
            (config.get("kernel_regularizer") or {}).get("config"),
        ))
    return rows


def test_digits_config_builds_the_hand_written_model():
    config = load_config(CONFIGS / "digits.yaml")
    built = build_model(config, preprocessing(64, classes=list(range(10))))
    l2 = keras.regularizers.L1L2(l1=0.0, l2=1e-4)
    by_hand = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(64, activation="relu", kernel_regularizer=l2),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(32, activation="tanh", kernel_regularizer=l2),
        keras.layers.Dense(10, activation="softmax", kernel_regularizer=l2),
    ])
    assert describe(built) == describe(by_hand)
    assert built.count_params() == by_hand.count_params() == 64 * 65 + 65 * 32 + 33 * 10


def test_keras_seed_example_is_the_classic_script():
    config = load_config(CONFIGS / "keras_seed_example.yaml")
    built = build_model(config, preprocessing(4))
    by_hand = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="sigmoid"),
                                keras.layers.Dense(1, activation="linear")])
    assert describe(built) == describe(by_hand)
    assert built.count_params() == by_hand.count_params() == 31


@pytest.mark.parametrize(
    "scenario, prep, units, activation",
    [("binary", preprocessing(2, classes=[0, 1]), 1, "sigmoid"),
     ("multiclass", preprocessing(2, classes=["a", "b", "c"]), 3, "softmax"),
     ("regression", preprocessing(2, targets=("a", "b")), 2, "linear")],
)
def test_the_output_layer_comes_from_the_scenario(scenario, prep, units, activation):
    config = load_config(CONFIGS / "xor.yaml", [f"scenario={scenario}", "loss=null"])
    output = build_model(config, prep).layers[-1]
    assert output.name == "output"
    assert (output.units, output.get_config()["activation"]) == (units, activation)


@pytest.mark.parametrize("name", sorted(catalog.ACTIVATIONS))
def test_every_catalog_activation_is_a_keras_activation(name):
    activation = get("activation", name)
    assert callable(activation) and not isinstance(activation, keras.layers.Layer)
    assert activation.__name__ == catalog.ACTIVATIONS[name]  # the one it names, not merely some function


@pytest.mark.parametrize("name", sorted([*catalog.LOSSES, *catalog.LOSS_ALIASES]))
def test_every_catalog_loss_is_a_keras_loss(name):
    from mlpctl.model.registries import snake_case

    loss = get("loss", name)
    assert isinstance(loss, keras.losses.Loss) and snake_case(type(loss).__name__) == catalog.canonical_loss(name)


def names_in_union(union) -> set[str]:
    """The `name` tags of a discriminated union of the schema (optimizers, schedules)."""
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(member.model_fields["name"].annotation)[0] for member in members}


def test_catalog_schema_and_registries_name_the_same_things_for_every_kind():
    assert set(registries.ACTIVATION_LAYERS) == set(catalog.ACTIVATION_LAYERS)
    for name, params in catalog.ACTIVATION_LAYERS.items():  # a layer with parameters, or where Keras has only one
        spec = {"name": name, **{param: kind(2) for param, kind in params.items()}}
        assert isinstance(get("activation", spec if params else name, name="a"), keras.layers.Layer)
    assert set(registries.INITIALIZERS) == set(catalog.INITIALIZERS)
    for name in catalog.INITIALIZERS:  # by name alone too: keras.initializers.get("constant") fails
        assert isinstance(get("initializer", name), keras.initializers.Initializer)
    assert set(registries.LOSSES) == set(catalog.LOSSES)
    for name, params in catalog.LOSS_PARAMS.items():  # every parameter the catalog allows reaches the loss
        given = {param: kind(1) for param, kind in params.items()}
        built = get("loss", {"name": name, **given})
        assert {param: built._fn_kwargs[param] for param in params} == given  # (Huber's config forgets delta)
    assert set(registries.OPTIMIZERS) == names_in_union(OptimizerConfig) - {"lbfgs"}
    assert set(registries.SCHEDULES) == names_in_union(ScheduleConfig)


def test_optimizers_and_schedules_come_from_one_get():
    optimizer = get("optimizer", {"name": "sgd", "momentum": 0.5}, learning_rate=0.1)
    assert type(optimizer) is keras.optimizers.SGD and optimizer.momentum == 0.5
    schedule = get("schedule", {"name": "exponential", "decay_steps": 10, "decay_rate": 0.5, "staircase": False},
                   learning_rate=0.1)
    assert float(schedule(10)) == pytest.approx(0.05)
    assert get("schedule", "constant", learning_rate=0.1) == 0.1


@pytest.mark.parametrize("scenario", catalog.SCENARIOS)
def test_the_one_direction_rule_is_keras_own(scenario):
    """catalog.DIRECTION is what Keras' MonitorCallback resolves mode="auto" to: the loss is
    minimised, and every metric goes its `_direction`."""
    for one_hot in (False, True):
        for metric in metrics_of(scenario, one_hot):
            assert catalog.mode_of(metric.name) == {"up": "max", "down": "min"}[metric._direction]
    assert catalog.mode_of("val_loss") == "min" and catalog.mode_of("val_accuracy", "min") == "min"


def test_a_slope_parameter_steepens_sigmoid_and_tanh_and_survives_saving(tmp_path):
    import numpy as np

    x = np.array([[-1.0, 0.0, 0.5, 2.0]], dtype=np.float32)
    for name, function in (("sigmoid", lambda v: 1 / (1 + np.exp(-v))), ("tanh", np.tanh)):
        layer = get("activation", {"name": name, "slope": 3.0}, name="a")
        np.testing.assert_allclose(np.asarray(layer(x)), function(3.0 * x), rtol=1e-6)
    model = keras.Sequential([keras.Input((4,)), get("activation", {"name": "tanh", "slope": 0.5}, name="a")])
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(np.asarray(again(x)), np.tanh(0.5 * x), rtol=1e-6)
