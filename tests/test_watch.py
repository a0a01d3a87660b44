"""Watching a network learn: snapshots of the weights, gradient norms per layer, and the
pictures drawn from them, each held to the numbers behind it."""

import numpy as np
import pytest
from PIL import Image

from mlpctl.training import train as trainer
from mlpctl.config import load_config
from mlpctl.data import load_dataset

from conftest import CONFIGS, base_config, run_dir_of


def train(config_name: str, *overrides: str):
    config = load_config(CONFIGS / f"{config_name}.yaml", list(overrides))
    dataset = load_dataset(config)
    return config, dataset, trainer.train(config, dataset)


ENGINES = {
    "graph": ("training.engine=graph",),
    "fit": ("training.engine=fit",),
    "lbfgs": ("optimizer={name: lbfgs}", "training.batch_size=full"),
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_the_snapshot_of_epoch_k_holds_the_weights_of_a_run_stopped_at_k(engine):
    common = (*ENGINES[engine], "training.early_stopping=null", "report.plots=false")
    _, _, watched = train("xor_cloud", *common, "training.epochs=12", "report.snapshots=[3, 7, 12]")
    _, _, stopped = train("xor_cloud", *common, "training.epochs=7")
    assert sorted(watched.snapshots) == [3, 7, 12]
    for ours, theirs in zip(watched.snapshots[7], stopped.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    for ours, theirs in zip(watched.snapshots[12], watched.model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_a_count_of_snapshots_spreads_them_log_spaced_and_keeps_the_end():
    from mlpctl.config.schema import ReportConfig

    assert ReportConfig(snapshots=5).snapshot_epochs(1000) == [1, 6, 32, 178, 1000]
    assert ReportConfig(snapshots=1).snapshot_epochs(50) == [50]
    assert ReportConfig(snapshots=[10, "last", 1]).snapshot_epochs(40) == [1, 10, 40]
    assert ReportConfig(snapshots=4).keeps_last and not ReportConfig(snapshots=[1, 2]).keeps_last
    _, _, result = train("digits", "report.snapshots=[1, last]", "training.epochs=30",
                         "training.early_stopping={patience: 0, min_delta: 1.0}", "report.plots=false")
    assert result.epochs_run == 2 and sorted(result.snapshots) == [1, 2]
    for end, best, final in zip(result.snapshots[2], result.snapshots[1], result.model.get_weights()):
        np.testing.assert_array_equal(end, final)  # the end: the weights model.keras holds,
        np.testing.assert_array_equal(end, best)  # early stopping's restored best, epoch 1's


@pytest.mark.parametrize("overrides, fragment", [
    (["report.snapshots=[0, 5]"], "epochs count from 1"),
    (["report.snapshots=[2, 400]"], "epoch 400 is after the last epoch (training.epochs is 3)"),
    (["report.snapshots=0"], "a count must be between 1 and 50"),
    (["report.gradient_norms=true", "data.streaming=true"], "report.gradient_norms: its rows are held in memory"),
])
def test_snapshot_settings_are_checked(cli, write_config, overrides, fragment):
    sets = [part for override in overrides for part in ("--set", override)]
    result = cli("validate", write_config(base_config()), *sets)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


@pytest.mark.parametrize("engine", ["graph", "fit"])
def test_gradient_norms_are_each_layers_gradient_on_the_first_training_rows(engine):
    """The last epoch's norms equal tf.GradientTape's on the same rows with the final weights."""
    import tensorflow as tf

    config, dataset, result = train("digits", "report.gradient_norms=true", "training.epochs=3",
                                    "training.early_stopping=null", f"training.engine={engine}")
    model = result.model
    x, y = dataset.x["train"][:4096], dataset.y["train"][:4096]
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=False), training=False)
    names = ["hidden_1", "hidden_2", "output"]
    gradients = tape.gradient(loss, [model.get_layer(name).kernel for name in names])
    last = result.history[-1]
    for name, gradient in zip(names, gradients):
        assert last[f"grad_norm_{name}"] == pytest.approx(float(tf.norm(gradient)), rel=1e-4)
    assert list(last)[-3:] == [f"grad_norm_{name}" for name in names]


@pytest.mark.slow
def test_both_engines_log_the_same_gradient_norms():
    runs = [train("xor_cloud", "report.gradient_norms=true", "training.epochs=5", f"training.engine={engine}")[2]
            for engine in ("graph", "fit")]
    for ours, theirs in zip(*(run.history for run in runs)):
        for key in ("grad_norm_hidden_1", "grad_norm_output"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-4)


@pytest.mark.slow
def test_vanishing_gradients_show_in_the_norms_of_six_sigmoid_layers():
    """The lecture's pair: the first of six sigmoid layers gets a gradient orders of magnitude
    below the output layer's (measured: 240 times); with relu they are alike (0.8)."""
    sigmoid = train("../configs/lectures/vanishing_sigmoid", "report.gradient_norms=true", "training.epochs=1")[2]
    relu = train("../configs/lectures/vanishing_sigmoid", "report.gradient_norms=true", "training.epochs=1",
                 *(f"model.layers.{index}.activation=relu" for index in range(6)))[2]

    def spread(result) -> float:
        row = result.history[-1]
        return row["grad_norm_output"] / row["grad_norm_hidden_1"]

    assert spread(sigmoid) > 100 and spread(relu) < 3


def test_hidden_unit_lines_are_where_the_first_layers_units_change_sign():
    """Each line a x1 + b x2 + c = 0 (in the data's units) is w . z + bias = 0 of the unit on
    the normalized inputs z: points on it give the unit a pre-activation of zero."""
    import pandas as pd

    from mlpctl.figures.learning import Plane

    config, dataset, result = train("xor_cloud", "training.epochs=3", "report.plots=false")
    prep = dataset.preprocessing
    plane = Plane(prep, dataset.x["train"], dataset.y["train"])
    lines = plane.lines(result.model)
    kernel, bias = result.model.get_layer("hidden_1").get_weights()
    assert lines.shape == (kernel.shape[1], 3)
    for unit, (a, b, c) in enumerate(lines):
        x1 = np.array([-1.0, 0.5, 2.0])
        points = pd.DataFrame({"x1": x1, "x2": -(a * x1 + c) / b})
        z = prep.transform(points)
        np.testing.assert_allclose(z @ kernel[:, unit] + bias[unit], 0.0, atol=1e-4)


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.slow
def test_the_pictures_of_a_two_input_run_are_real_images(cli, tmp_path, write_config):
    config = write_config(base_config(**{"training.epochs": 20, "report.snapshots": [1, 5, "last"],
                                         "report.gradient_norms": True}))
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path, "--json", "-q"))
    width, height = _png_size(run_dir / "decision_evolution.png")
    assert width > 2.5 * height  # three frames side by side
    with Image.open(run_dir / "decision_evolution.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 3 and gif.is_animated
    for name in ("hidden_units.png", "weight_histograms.png", "gradient_norms.png"):
        assert min(_png_size(run_dir / name)) > 200
    with np.load(run_dir / "snapshots.npz") as snapshots:
        assert sorted(snapshots.files) == sorted(f"epoch_{epoch}/{name}" for epoch in (1, 5, 20) for name in
                                                 ("hidden_1/kernel", "hidden_1/bias", "output/kernel", "output/bias"))
        assert snapshots["epoch_1/hidden_1/kernel"].shape == (2, 8)
    page = (run_dir / "report.html").read_text()
    assert 'alt="decision_evolution"' in page and 'alt="hidden_units"' in page  # embedded, each by name


def test_a_one_input_regression_draws_its_fitted_curve_as_it_learns(cli, tmp_path, write_config):
    x = np.linspace(-3, 3, 120)
    (tmp_path / "wave.csv").write_text("x,y\n" + "\n".join(f"{a:.4f},{np.sin(a):.4f}" for a in x))
    config = write_config(base_config(**{"scenario": "regression", "data.path": str(tmp_path / "wave.csv"),
                                         "training.epochs": 10, "report.snapshots": 3}))
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path, "--json", "-q"))
    assert min(_png_size(run_dir / "fit_curve.png")) > 200
    with Image.open(run_dir / "fit_evolution.gif") as gif:
        assert gif.n_frames == 3


def test_first_layer_weights_are_drawn_as_images_for_square_image_inputs(cli, tmp_path):
    run_dir = run_dir_of(cli("train", CONFIGS / "digits.yaml", "-o", tmp_path, "--json", "-q",
                             "--set", "training.epochs=1"))
    assert min(_png_size(run_dir / "first_layer_weights.png")) > 200
    assert not (run_dir / "decision_evolution.png").exists() and not (run_dir / "snapshots.npz").exists()


def test_tensorboard_gets_the_snapshots_as_histograms(cli, tmp_path, write_config):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = write_config(base_config(**{"report.tensorboard": True, "report.snapshots": [1, 3],
                                         "report.plots": False}))
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path, "--json", "-q"))
    events = EventAccumulator(str(run_dir / "tensorboard" / "train"), size_guidance={"histograms": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert {"hidden_1/kernel", "output/kernel"} <= set(tags.get("tensors", []) + tags.get("histograms", []))


def test_the_histograms_and_curves_are_drawn_from_the_snapshots_numbers():
    """kernels_at picks each Dense layer's kernel out of a snapshot; weights_of puts a
    snapshot's weights in the model for a frame and gives the model its own back; a frame's
    curve is the model's answer over the input's range at those weights."""
    from mlpctl import scoring
    from mlpctl.figures import learning

    config, dataset, result = train("xor_cloud", "training.epochs=6", "report.snapshots=[2, 6]", "report.plots=false")
    kernels = learning.kernels_at(result.model, config, result.snapshots)
    assert list(kernels) == [2, 6] and list(kernels[2]) == ["hidden_1", "output"]
    np.testing.assert_array_equal(kernels[6]["hidden_1"], result.model.get_layer("hidden_1").get_weights()[0])
    np.testing.assert_array_equal(kernels[6]["output"], result.model.get_layer("output").get_weights()[0])
    final = result.model.get_weights()
    plane = learning.Plane(dataset.preprocessing, dataset.x["train"], dataset.y["train"])
    with learning.weights_of(result.model, result.snapshots[2]) as model:
        np.testing.assert_array_equal(model.get_layer("hidden_1").get_weights()[0], kernels[2]["hidden_1"])
        early = plane.frame(model, "epoch 2", with_lines=True)
    np.testing.assert_array_equal(early["positive"], scoring.scores(_model_at(result, 2), plane.x_grid)[:, 0])
    assert all((a == b).all() for a, b in zip(result.model.get_weights(), final))  # its own weights back


def _model_at(result, epoch: int):
    import keras

    model = keras.models.clone_model(result.model)
    model.set_weights(result.snapshots[epoch])
    return model
