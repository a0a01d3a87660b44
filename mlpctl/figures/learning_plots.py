"""The pictures of a network while it learns, as a lecturer draws them: the decision regions
forming, each hidden unit's line, a curve fitting points, gradient norms per layer, weight
histograms and first-layer weights as images.

Figures only, like `plots`: the numbers (the model's answers at each snapshot, the lines'
coefficients) are handed in by `evolution`, which computes them.
"""

import io
import math
from pathlib import Path

import numpy as np

from mlpctl.figures.plots import DPI, GRADIENT_NORM, draw_regions, log_scale, pyplot, save
from mlpctl.files import atomic_write

GIF_FRAME_MS = 600
MAX_COLUMNS = 4
MAX_UNIT_LINES = 32  # hidden units' lines drawn on a picture; past it, the first ones (the title says so)
MAX_LEGEND_LAYERS = 12  # gradient norms named in a legend; past it, coloured by depth with a colour bar
MAX_HISTOGRAM_ROWS = 8  # layers in weight_histograms.png; past it, the first, the last and some between


def small_multiples(count: int, width: float = 3.4, height: float = 3.0):
    """A figure of `count` axes, MAX_COLUMNS to a row; the spare axes hidden."""
    columns = min(count, MAX_COLUMNS)
    rows = math.ceil(count / columns)
    figure, axes = pyplot().subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for axis in axes.ravel()[count:]:
        axis.set_visible(False)
    return figure, list(axes.ravel()[:count])


def png_bytes(figure) -> bytes:
    """A figure as PNG bytes (for the frames of an animation)."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    pyplot().close(figure)
    return buffer.getvalue()


def gif(frames: list[bytes], path: Path) -> None:
    """PNG frames as an animated GIF that loops (Pillow, which matplotlib brings), the last
    frame held three times as long."""
    from PIL import Image

    images = [Image.open(io.BytesIO(frame)).convert("RGB") for frame in frames]
    durations = [GIF_FRAME_MS] * (len(images) - 1) + [3 * GIF_FRAME_MS]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    atomic_write(path, buffer.getvalue())


def unit_lines(axis, lines: np.ndarray, limits: tuple) -> None:
    """Each hidden unit's line a x + b y + c = 0 (`lines`: one row (a, b, c) per unit) within
    the axis' limits, numbered at one end."""
    (x_low, x_high), (y_low, y_high) = limits
    colours = pyplot().get_cmap("Dark2")
    for index, (a, b, c) in enumerate(lines[:MAX_UNIT_LINES]):
        if abs(b) >= abs(a) and b != 0:  # closer to horizontal: y as a function of x
            xs = np.array([x_low, x_high])
            ys = -(a * xs + c) / b
        elif a != 0:
            ys = np.array([y_low, y_high])
            xs = -(b * ys + c) / a
        else:
            continue  # a unit that ignores both inputs has no line
        axis.plot(xs, ys, color=colours(index % 8), linewidth=1.4, linestyle="--")
        axis.annotate(str(index + 1), (xs[0], ys[0]), color=colours(index % 8), fontsize=8, fontweight="bold")
    axis.set_xlim(x_low, x_high)
    axis.set_ylim(y_low, y_high)


def region_frame(axis, frame: dict, raw_points, labels, class_names: list, lines: np.ndarray | None) -> None:
    """One snapshot of the decision regions: `frame` has grid, regions, positive, title."""
    draw_regions(axis, frame["grid"], frame["regions"], frame["positive"], raw_points, labels, class_names,
                 legend=False)
    title = frame["title"]
    if lines is not None:
        grid_x, grid_y = frame["grid"]
        unit_lines(axis, lines, ((grid_x.min(), grid_x.max()), (grid_y.min(), grid_y.max())))
        if len(lines) > MAX_UNIT_LINES:
            title += f"\n(lines of the first {MAX_UNIT_LINES} of {len(lines)} units)"
    axis.set_title(title, fontsize=9)


def region_evolution(frames: list[dict], raw_points, labels, class_names: list, features: list[str],
                     path_png: Path, path_gif: Path) -> None:
    """Small multiples of the decision regions (and hidden units' lines, where a frame has
    them) at each snapshot in one PNG, and the same frames one after another in a GIF."""
    figure, axes = small_multiples(len(frames))
    for axis, frame in zip(axes, frames):
        region_frame(axis, frame, raw_points, labels, class_names, frame.get("lines"))
    axes[0].set(xlabel=features[0], ylabel=features[1])
    save(figure, path_png)
    animation = []
    for frame in frames:
        single, axis = pyplot().subplots(figsize=(4.6, 4.2))
        region_frame(axis, frame, raw_points, labels, class_names, frame.get("lines"))
        axis.set(xlabel=features[0], ylabel=features[1])
        animation.append(png_bytes(single))
    gif(animation, path_gif)


def hidden_units(frame: dict, raw_points, labels, class_names: list, features: list[str], path: Path) -> None:
    """The first hidden layer's units as lines w . x + b = 0 over the data and the regions."""
    figure, axis = pyplot().subplots(figsize=(5.5, 4.8))
    region_frame(axis, frame, raw_points, labels, class_names, frame["lines"])
    axis.set(xlabel=features[0], ylabel=features[1])
    save(figure, path)


def fit_axis(axis, curve_x, curve_y, points: list[tuple[str, np.ndarray, np.ndarray]], title: str) -> None:
    """One panel of a one-input regression: the training rows and the model's curve."""
    for label, xs, ys in points:
        axis.scatter(xs, ys, s=10, alpha=0.6, label=label)
    axis.plot(curve_x, curve_y, color="black", linewidth=1.5, label="prediction")
    axis.set_title(title, fontsize=9)
    axis.grid(alpha=0.3)


def fit_curve(curve_x, curve_y, points, feature: str, target: str, path: Path, title: str) -> None:
    """One input, one target: the prediction curve over the rows."""
    figure, axis = pyplot().subplots(figsize=(6, 4.2))
    fit_axis(axis, curve_x, curve_y, points, title)
    axis.set(xlabel=feature, ylabel=target)
    axis.legend(fontsize=8)
    save(figure, path)


def fit_evolution(curve_x, curves: list[tuple[str, np.ndarray]], points, feature: str, target: str,
                  path_png: Path, path_gif: Path) -> None:
    """The prediction curve at each snapshot: small multiples and a GIF."""
    figure, axes = small_multiples(len(curves))
    limits = _limits(curves, points)
    for axis, (title, curve_y) in zip(axes, curves):
        fit_axis(axis, curve_x, curve_y, points, title)
        axis.set_ylim(*limits)
    axes[0].set(xlabel=feature, ylabel=target)
    axes[0].legend(fontsize=7)
    save(figure, path_png)
    animation = []
    for title, curve_y in curves:
        single, axis = pyplot().subplots(figsize=(5, 3.8))
        fit_axis(axis, curve_x, curve_y, points, title)
        axis.set(xlabel=feature, ylabel=target, ylim=limits)
        animation.append(png_bytes(single))
    gif(animation, path_gif)


def _limits(curves, points) -> tuple[float, float]:
    """One y range for every frame: the rows', widened to a curve that strays at most a
    rows' range beyond them."""
    ys = np.concatenate([p[2].ravel() for p in points])
    low, high = float(ys.min()), float(ys.max())
    span = max(high - low, 1e-9)
    curve_low = min(float(np.nanmin(c)) for _, c in curves)
    curve_high = max(float(np.nanmax(c)) for _, c in curves)
    return max(min(low, curve_low), low - span) - 0.05 * span, min(max(high, curve_high), high + span) + 0.05 * span


def gradient_norms(rows: list[dict[str, float]], path: Path) -> None:
    """Each layer's gradient norm per epoch, on a log scale: first layers far below the last
    is the vanishing gradient."""
    columns = [key for key in rows[0] if key.startswith(GRADIENT_NORM)]
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    epochs = [row["epoch"] for row in rows]
    named = len(columns) <= MAX_LEGEND_LAYERS
    depth = plt.get_cmap("viridis")
    for index, column in enumerate(columns):
        values = [row[column] if row[column] > 0 else np.nan for row in rows]
        colour = None if named else depth(index / max(len(columns) - 1, 1))
        axis.plot(epochs, values, label=column.removeprefix(GRADIENT_NORM), color=colour,
                  linewidth=1.5 if named else 0.8)
    log_scale(axis)
    axis.set(xlabel="epoch", ylabel="gradient norm (log scale)",
             title="gradient norm per layer (first 4,096 training rows)")
    axis.grid(alpha=0.3, which="both")
    if named:
        axis.legend(fontsize=8, title="layer", loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:  # a legend of every layer would be taller than the picture
        scale = plt.cm.ScalarMappable(cmap=depth, norm=plt.Normalize(1, len(columns)))
        figure.colorbar(scale, ax=axis, label=f"layer (1 = {columns[0].removeprefix(GRADIENT_NORM)}, "
                                              f"{len(columns)} = {columns[-1].removeprefix(GRADIENT_NORM)})")
    save(figure, path)


def weight_histograms(kernels: dict[int, dict[str, np.ndarray]], path: Path) -> None:
    """One row per layer, one column per snapshot: the distribution of the layer's weights."""
    epochs = list(kernels)
    every = list(kernels[epochs[0]])
    layers = [every[round(i)] for i in np.linspace(0, len(every) - 1, MAX_HISTOGRAM_ROWS)] \
        if len(every) > MAX_HISTOGRAM_ROWS else every
    plt = pyplot()
    figure, axes = plt.subplots(len(layers), len(epochs), figsize=(2.6 * len(epochs), 2.0 * len(layers)),
                                squeeze=False)
    for row, layer in enumerate(layers):
        values = np.concatenate([kernels[epoch][layer].ravel() for epoch in epochs])
        finite = values[np.isfinite(values)]
        bins = np.linspace(finite.min(), finite.max(), 31) if finite.size and finite.min() < finite.max() else 30
        for column, epoch in enumerate(epochs):
            axis = axes[row][column]
            weights = kernels[epoch][layer].ravel()
            axis.hist(weights[np.isfinite(weights)], bins=bins, color="C0")
            axis.tick_params(labelsize=6)
            if row == 0:
                axis.set_title(f"epoch {epoch}", fontsize=9)
            if column == 0:
                axis.set_ylabel(layer, fontsize=9)
    if len(layers) < len(every):
        figure.suptitle(f"{len(layers)} of the {len(every)} layers, first and last among them", fontsize=9)
    save(figure, path)


def weight_images(kernel: np.ndarray, side: int, titles: list[str], path: Path, title: str) -> None:
    """Each unit's incoming weights (a column of `kernel`) as a side x side image, red positive
    and blue negative on one symmetric scale per image."""
    count = len(titles)
    columns = min(count, 8)
    rows = math.ceil(count / columns)
    plt = pyplot()
    figure, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.5 * rows + 0.4), squeeze=False)
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index < count:
            image = kernel[:, index].reshape(side, side)
            limit = float(np.abs(image).max()) or 1.0
            axis.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
            axis.set_title(titles[index], fontsize=7)
    figure.suptitle(title, fontsize=10)
    save(figure, path)
