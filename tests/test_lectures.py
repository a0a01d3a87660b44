"""configs/lectures/: the course notes' experiments, each trained and held to the notes' claim."""

import json

import numpy as np
import pytest

from conftest import CONFIGS

LECTURES = CONFIGS / "lectures"

# config -> (what the notes claim, the overrides of the run it is set against or None,
#            a check on metrics.json's metrics (and its status): the config's, and the other run's)
RELU_EVERYWHERE = [f"model.layers.{index}.activation=relu" for index in range(6)]
CLAIMS = {
    "perceptron_xor": ("a perceptron cannot learn XOR: the loss stays at ln 2", None,
                       lambda m, _: m["train"]["accuracy"] <= 0.75 and m["train"]["loss"] > 0.69),
    "xor_2_2_1": ("two hidden units are enough for XOR", None, lambda m, _: m["train"]["accuracy"] == 1.0),
    "lineal_perceptron": ("a perceptron learns a linearly separable set", None,
                          lambda m, _: m["test"]["accuracy"] >= 0.95),
    "momentum_xor": ("momentum speeds gradient descent up", ["optimizer.momentum=0.0"],
                     lambda m, plain: m["train"]["accuracy"] == 1.0 and m["train"]["loss"] < plain["train"]["loss"] / 10),
    "xor_2_4_1": ("four hidden units solve XOR", None, lambda m, _: m["train"]["accuracy"] == 1.0),
    "lineal_notes": ("the notes' lineal.csv, headerless, with a sigmoid unit on the summed squared error", None,
                     lambda m, _: m["test"]["accuracy"] >= 0.95),
    "rprop_xor": ("Rprop solves XOR", None, lambda m, _: m["train"]["accuracy"] == 1.0),
    "lbfgs_xor": ("L-BFGS solves XOR", None, lambda m, _: m["train"]["accuracy"] == 1.0 and m["train"]["loss"] < 1e-4),
    "init_uniform_xor": ("uniform(-1, 1) starts learn XOR; all-zero starts never break the symmetry",
                         ["model.initializer=zeros"],
                         lambda m, zeros: m["train"]["accuracy"] == 1.0 and zeros["train"]["accuracy"] <= 0.75),
    "normalize_offset": ("normalising offset inputs turns a diverging run into an exact fit", ["data.normalize=none"],
                         lambda m, raw: m["test"]["r2"] > 0.999 and raw["status"] == "diverged"),
    "pca_whitening": ("PCA whitening makes correlated inputs easy", ["data.decorrelate=none"],
                      lambda m, plain: m["test"]["r2"] > 0.999 and plain["test"]["r2"] < 0.9),
    "vanishing_sigmoid": ("six sigmoid layers barely learn; the same net with relu does", RELU_EVERYWHERE,
                          lambda m, relu: m["test"]["accuracy"] < 0.3 and relu["test"]["accuracy"] > 0.9),
    "xor_tanh_output": ("tanh units and output on targets -1/+1 with the summed squared error solve XOR", None,
                        lambda m, _: m["train"]["accuracy"] == 1.0 and m["train"]["loss"] < 0.01),
    "bold_driver_xor": ("the bold driver's growing rate gets far further than the same rate held constant",
                        ["optimizer.schedule=constant"],
                        lambda m, constant: m["train"]["loss"] < 1e-4 and constant["train"]["loss"] > 0.1),
    "init_fan_in_digits": ("starting weights scaled by 1/sqrt(fan-in) generalise better than uniform(-1, 1)",
                           ["model.initializer={name: random_uniform, minval: -1.0, maxval: 1.0}"],
                           lambda m, wide: m["test"]["accuracy"] > 0.93 and wide["test"]["accuracy"] < m["test"]["accuracy"] - 0.05),
    "online_minibatch_batch": ("per pass over the data, mini-batches learn far more than one full-batch step",
                               ["training.batch_size=full"],
                               lambda m, full: m["train"]["loss"] < full["train"]["loss"] / 10 and m["test"]["accuracy"] > 0.9),
    "sine_fit": ("one hidden layer fits a smooth curve; with none, a line cannot", ["model.layers=[]"],
                 lambda m, line: m["test"]["r2"] > 0.95 and line["test"]["r2"] < 0.3),
    # on a small fake MNIST made here (the real one needs a download); the real numbers are in the README
    "mnist_one_layer": ("a one-layer network classifies digits", None, lambda m, _: m["test"]["accuracy"] > 0.9),
    "mnist_hidden": ("so does one with a hidden layer", None, lambda m, _: m["test"]["accuracy"] > 0.9),
}


def fake_mnist(path):
    """mnist.npz as keras.datasets keeps it, small: 600 training and 150 test images whose
    digit is where a bright bar lies, over noise."""
    rng = np.random.default_rng(0)

    def images(count):
        labels = rng.integers(0, 10, count)
        pixels = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        for index, label in enumerate(labels):
            pixels[index, 2 * label:2 * label + 3, 5:20] = 250
        return pixels, labels.astype(np.uint8)

    (x_train, y_train), (x_test, y_test) = images(600), images(150)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_each_lecture_config_shows_the_notes_claim(cli, tmp_path, name):
    claim, contrast, holds = CLAIMS[name]
    data = [f"data.path={fake_mnist(tmp_path / 'mnist.npz')}"] if name.startswith("mnist") else []

    def metrics(*overrides: str) -> dict:
        sets = [part for value in ["report.plots=false", *data, *overrides] for part in ("--set", value)]
        result = cli("train", LECTURES / f"{name}.yaml", "-o", tmp_path, "--json", "-q", *sets)
        assert result.exit_code in (0, 4), result.stderr  # 4: a contrast run that diverges, as the notes say
        document = json.loads(result.stdout)
        return {**document["metrics"], "status": document["status"]}

    ours, theirs = metrics(), metrics(*contrast) if contrast else None
    assert holds(ours, theirs), (claim, ours, theirs)


def test_every_lecture_config_has_a_claim_and_validates(cli):
    assert sorted(path.stem for path in LECTURES.glob("*.yaml")) == sorted(CLAIMS)
    result = cli("validate", *sorted(LECTURES.glob("*.yaml")))
    assert result.exit_code == 0, result.stderr


def test_a_missing_mnist_file_says_where_to_get_it_and_where_to_put_it(cli, tmp_path):
    result = cli("train", LECTURES / "mnist_one_layer.yaml", "-o", tmp_path, "--set", f"data.path={tmp_path / 'no.npz'}")
    assert result.exit_code == 3
    assert "tf-keras-datasets/mnist.npz" in result.stderr and ".keras/datasets/mnist.npz" in result.stderr
    assert not any(tmp_path.glob("mnist-*"))


def test_the_images_own_test_set_is_the_test_split(write_config, tmp_path):
    from mlpctl.config import load_config
    from mlpctl.data import load_dataset

    config = load_config(LECTURES / "mnist_one_layer.yaml", [f"data.path={fake_mnist(tmp_path / 'mnist.npz')}"])
    dataset = load_dataset(config)
    assert dataset.rows["test"] == 150 and dataset.rows["train"] + dataset.rows["validation"] == 600
    assert dataset.x["test"].shape == (150, 784) and 0 <= dataset.x["test"].min() and dataset.x["test"].max() <= 1
    with np.load(tmp_path / "mnist.npz") as arrays:
        assert np.array_equal(dataset.y["test"], arrays["y_test"])  # in the set's own order
        np.testing.assert_allclose(dataset.x["test"][0], arrays["x_test"][0].ravel() / 255, rtol=1e-6)


@pytest.mark.parametrize("damage", ["cut", "empty", "flipped"])
def test_a_cut_or_damaged_mnist_file_is_a_data_error_naming_it(cli, tmp_path, damage):
    """BadZipFile and EOFError were exit 1."""
    path = fake_mnist(tmp_path / "mnist.npz")
    data = path.read_bytes()
    path.write_bytes({"cut": data[: len(data) // 2], "empty": b"",
                      "flipped": data[:100] + bytes(b ^ 0xFF for b in data[100:300]) + data[300:]}[damage])
    result = cli("validate", LECTURES / "mnist_one_layer.yaml", "--data", "--set", f"data.path={path}")
    assert result.exit_code == 3 and str(path) in result.stderr and "Traceback" not in result.stderr, result.stderr
