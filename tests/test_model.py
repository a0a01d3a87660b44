"""The model stage: a config builds exactly the network one would write by hand in Keras."""

import keras
import pytest

from mlpctl import catalog
from mlpctl.config import load_config
from mlpctl.data import Preprocessing
from mlpctl.model import build_model, get_activation, get_loss

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
    assert callable(get_activation(name))


@pytest.mark.parametrize("name", sorted([*catalog.LOSSES, *catalog.LOSS_ALIASES]))
def test_every_catalog_loss_is_a_keras_loss(name):
    assert callable(get_loss(name))
