"""The pictures of a run learning (issue "watch it learn"), computed from the snapshots the
engines took (`report.snapshots`) and the gradient norms they logged (`report.gradient_norms`):

- two numeric inputs, classification: `hidden_units.png` (each first-layer unit's line
  w . x + b = 0 over the regions and rows) and, with snapshots, `decision_evolution.png` (small
  multiples) and `decision_evolution.gif`;
- one numeric input, one regression target: `fit_curve.png` and, with snapshots,
  `fit_evolution.png` and `fit_evolution.gif`;
- `weight_histograms.png` (snapshots), `gradient_norms.png` (gradient norms), and
  `first_layer_weights.png` where the inputs are the pixels of square images (8x8 digits, MNIST).

Each picture is one `Figures.draw`: one that fails is a note, never a lost run. The model is
put at each snapshot's weights in turn and given its own weights back at the end.
"""

import contextlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl import scoring
from mlpctl.figures import learning_plots, plots
from mlpctl.training.engines import dense_names

MAX_WEIGHT_IMAGES = 32
MAX_HISTOGRAM_COLUMNS = 6
CURVE_POINTS = 300


@contextlib.contextmanager
def weights_of(model, weights: list[np.ndarray]):
    """The model with `weights` for the time of the block."""
    kept = model.get_weights()
    model.set_weights(weights)
    try:
        yield model
    finally:
        model.set_weights(kept)


def titled(snapshots: dict[int, list], last_epoch: int, keeps_last: bool) -> list[tuple[str, list]]:
    """(title, weights) of each snapshot in epoch order; the end of training named so."""
    return [(f"end (epoch {epoch})" if keeps_last and epoch == last_epoch else f"epoch {epoch}", weights)
            for epoch, weights in sorted(snapshots.items())]


def draw(figures, config, dataset, result) -> None:
    """Every picture of the list above that the run's data, config and snapshots allow."""
    prep, model = dataset.preprocessing, result.model
    frames = titled(result.snapshots, result.epochs_run, config.report.keeps_last)
    if any(key.startswith("grad_norm_") for key in result.history[0]):
        figures.draw("gradient_norms.png", lambda path: learning_plots.gradient_norms(result.history, path))
    if frames:
        figures.draw("weight_histograms.png", lambda path: learning_plots.weight_histograms(
            kernels_at(model, config, _spread(result.snapshots)), path))
    side = image_side(prep)
    if side:
        figures.draw("first_layer_weights.png", lambda path: first_layer_images(model, prep, side, path))
    plain = not prep.categories and not prep.pca
    if plain and len(prep.features) == 2 and config.scenario != "regression":
        plane = Plane(prep, dataset.x["train"], dataset.y["train"])
        if config.model.layers:
            figures.draw("hidden_units.png", lambda path: learning_plots.hidden_units(
                plane.frame(model, "hidden units' lines w . x + b = 0 (final weights)", with_lines=True),
                plane.raw, plane.labels, prep.classes, prep.features, path))
        if frames:
            figures.draw("decision_evolution.png", lambda path: _regions(plane, model, frames, prep, path))
    if plain and len(prep.features) == 1 and config.scenario == "regression" and len(prep.targets) == 1:
        line = Line(prep, dataset)
        figures.draw("fit_curve.png", lambda path: learning_plots.fit_curve(
            line.xs, line.curve(model), line.points, prep.features[0], prep.targets[0], path,
            "prediction over the rows (final weights)"))
        if frames:
            figures.draw("fit_evolution.png", lambda path: _fits(line, model, frames, prep, path))


def _regions(plane: "Plane", model, frames, prep, path: Path) -> None:
    pictures = []
    for title, weights in frames:
        with weights_of(model, weights):
            pictures.append(plane.frame(model, title, with_lines=bool(plane.has_hidden(model))))
    learning_plots.region_evolution(pictures, plane.raw, plane.labels, prep.classes, prep.features, path,
                                    path.with_suffix(".gif"))


def _fits(line: "Line", model, frames, prep, path: Path) -> None:
    curves = []
    for title, weights in frames:
        with weights_of(model, weights):
            curves.append((title, line.curve(model)))
    learning_plots.fit_evolution(line.xs, curves, line.points, prep.features[0], prep.targets[0], path,
                                 path.with_suffix(".gif"))


class Plane:
    """The plane of two numeric inputs, in the data's own units: a grid over the training
    rows, and the lines of the first hidden layer's units there."""

    def __init__(self, prep, x, y):
        self.prep = prep
        self.center, self.scale = np.asarray(prep.center, dtype=float), np.asarray(prep.scale, dtype=float)
        self.raw, self.labels = x * self.scale + self.center, y
        self.grid = plots.plane(self.raw)
        points = pd.DataFrame(np.c_[self.grid[0].ravel(), self.grid[1].ravel()], columns=prep.features)
        self.x_grid = prep.transform(points)

    @staticmethod
    def has_hidden(model) -> bool:
        return any(layer.name == "hidden_1" for layer in model.layers)

    def frame(self, model, title: str, with_lines: bool) -> dict:
        output = scoring.scores(model, self.x_grid)
        return {"grid": self.grid, "regions": scoring.labels_from_scores(output),
                "positive": output[:, 0] if output.shape[1] == 1 else None, "title": title,
                "lines": self.lines(model) if with_lines else None}

    def lines(self, model) -> np.ndarray:
        """(a, b, c) per unit of the first hidden layer: a x1 + b x2 + c = 0 in the data's units,
        from w . z + bias = 0 on the normalized inputs z = (x - center) / scale."""
        kernel, bias = (np.asarray(w, dtype=float) for w in model.get_layer("hidden_1").get_weights())
        a, b = kernel[0] / self.scale[0], kernel[1] / self.scale[1]
        return np.c_[a, b, bias - a * self.center[0] - b * self.center[1]]


class Line:
    """One numeric input: a fine grid over its range and the rows to draw under the curve."""

    def __init__(self, prep, dataset):
        center, scale = float(prep.center[0]), float(prep.scale[0])
        self.points = [(label, dataset.x[split][:, 0] * scale + center, dataset.y[split][:, 0])
                       for split, label in (("train", "training rows"), ("test", "test rows")) if split in dataset.x]
        low = min(float(xs.min()) for _, xs, _ in self.points)
        high = max(float(xs.max()) for _, xs, _ in self.points)
        pad = 0.05 * max(high - low, 1e-9)
        self.xs = np.linspace(low - pad, high + pad, CURVE_POINTS)
        self.x_curve = prep.transform(pd.DataFrame({prep.features[0]: self.xs}))

    def curve(self, model) -> np.ndarray:
        return scoring.scores(model, self.x_curve)[:, 0]


def _spread(snapshots: dict[int, list], most: int = MAX_HISTOGRAM_COLUMNS) -> dict[int, list]:
    """At most `most` snapshots, first and last kept, the others evenly picked."""
    epochs = sorted(snapshots)
    if len(epochs) > most:
        epochs = [epochs[round(index)] for index in np.linspace(0, len(epochs) - 1, most)]
    return {epoch: snapshots[epoch] for epoch in epochs}


def kernels_at(model, config, snapshots: dict[int, list]) -> dict[int, dict[str, np.ndarray]]:
    """epoch -> Dense layer name -> its kernel at that snapshot."""
    paths = [w.path for w in model.weights]
    where = {name: paths.index(model.get_layer(name).kernel.path) for name in dense_names(len(config.model.layers))}
    return {epoch: {name: weights[index] for name, index in where.items()} for epoch, weights in snapshots.items()}


def image_side(prep) -> int | None:
    """The side of square images whose pixels are the inputs (8 for 64, 28 for 784), if so."""
    count = len(prep.features)
    side = math.isqrt(count)
    return side if count >= 16 and side * side == count and not prep.categories and not prep.pca else None


def first_layer_images(model, prep, side: int, path: Path) -> None:
    """The first Dense layer's weights per unit as images; without a hidden layer, the output
    layer's: one template per class."""
    first = model.get_layer("hidden_1") if any(layer.name == "hidden_1" for layer in model.layers) \
        else model.get_layer("output")
    kernel = np.asarray(first.get_weights()[0])
    count = min(kernel.shape[1], MAX_WEIGHT_IMAGES)
    if first.name == "output" and prep.classes and kernel.shape[1] == len(prep.classes):
        titles = [f"class {name}" for name in prep.classes]
    else:
        titles = [f"unit {index + 1}" for index in range(count)]
    shown = f" (the first {count} of {kernel.shape[1]})" if count < kernel.shape[1] else ""
    learning_plots.weight_images(kernel, side, titles[:count], path,
                                 f"{first.name}: each unit's weights over the {side}x{side} inputs{shown}")
