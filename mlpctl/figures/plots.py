"""The pictures a run leaves: did it learn, did it overfit, where does it fail.

Plain matplotlib on the Agg backend, one PNG per question. Figures only: every number drawn is
handed in (predictions made, scores computed by `scoring`), so plotting never touches a model.
"""

import io
from pathlib import Path

import numpy as np

from mlpctl.files import atomic_write

DPI = 100


def pyplot():
    """matplotlib's pyplot on the Agg backend, with text drawn as plain text: column names and
    labels come from the user's data, and mathtext would fail on one such as `$x^$`."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    from matplotlib import pyplot

    return pyplot


def log_scale(axis) -> None:
    """A log y axis labelled 0.001, 0.01, .. : matplotlib's default labels are mathtext, which
    `pyplot` turns off (they would show as `$\\mathdefault{10^{-2}}$`)."""
    from matplotlib import ticker

    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.yaxis.set_minor_formatter(ticker.NullFormatter())


def save(figure, path: Path) -> None:
    """The figure as a PNG at `path`, written atomically; the figure is closed."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    pyplot().close(figure)
    atomic_write(path, buffer.getvalue())


# --- learning curves ---------------------------------------------------------------------------

def learning_curves(rows: list[dict[str, float]], path: Path, best_epoch: int | None = None) -> None:
    """learning_curves.png: loss and metrics per epoch, train beside validation, the best epoch marked."""
    save(learning_curves_figure(rows, best_epoch), path)


def data_loss_lines(axis, rows: list[dict[str, float]]) -> None:
    """The loss without the L1/L2 penalty, dashed, where a penalty makes it differ."""
    for prefix, label in (("", "training"), ("val_", "validation")):
        if any(row.get(f"{prefix}data_loss", row.get(f"{prefix}loss")) != row.get(f"{prefix}loss") for row in rows):
            axis.plot([row["epoch"] for row in rows], [row[f"{prefix}data_loss"] for row in rows], linestyle="--",
                      color="C0" if not prefix else "C1",
                      linewidth=1, label=f"{label} data loss")


DECADES = 2  # a loss spanning more than this many powers of ten is drawn on a log scale
GRADIENT_NORM = "grad_norm_"  # history.csv's columns of report.gradient_norms, one per layer


def learning_curves_figure(rows: list[dict[str, float]], best_epoch: int | None = None):
    """Loss and each metric per epoch, training against validation (the gap between them is
    the generalisation gap), the best epoch marked; the loss on a log scale when it spans more
    than DECADES powers of ten, and the learning rate on a panel of its own when it changed."""
    plt = pyplot()
    quantities = [k for k in rows[0] if k not in ("epoch", "learning_rate", "data_loss")
                  and not k.startswith(("val_", GRADIENT_NORM))]  # the norms have their own picture
    epochs = [row["epoch"] for row in rows]
    rates = [row["learning_rate"] for row in rows]
    show_rate = rate_changed(rates)
    panels = len(quantities) + show_rate
    figure, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.6), squeeze=False,
                                gridspec_kw={"width_ratios": [3] * len(quantities) + [2] * show_rate})
    for axis, name in zip(axes[0], quantities):
        values = [row[name] for row in rows] + [row.get(f"val_{name}", np.nan) for row in rows]
        axis.plot(epochs, [row[name] for row in rows], label="training")
        if f"val_{name}" in rows[0]:
            validation = [row[f"val_{name}"] for row in rows]
            axis.plot(epochs, validation, label="validation")
            axis.fill_between(epochs, [row[name] for row in rows], validation, alpha=0.12, color="grey",
                              label="gap")
        if name == "loss":
            data_loss_lines(axis, rows)
        if best_epoch:
            axis.axvline(best_epoch, color="green", linestyle="--", linewidth=1, label=f"best epoch {best_epoch}")
        log = name == "loss" and spans_decades(values)
        if log:
            log_scale(axis)
        axis.set_title(f"{name} (log scale)" if log else name)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if show_rate:
        rate = axes[0][-1]
        rate.plot(epochs, rates, color="purple")
        rate.set_ylim(0, 1.15 * max(rates) or 1.0)  # from zero: the size of a change is seen as it is
        rate.set_title("learning rate")
        rate.set_xlabel("epoch")
        rate.grid(alpha=0.3)
    else:
        figure.suptitle(_constant_rate(rates), fontsize=9)
    return figure


def rate_changed(rates: list[float]) -> bool:
    """Whether the learning rate moved during the run (L-BFGS has none: NaN)."""
    finite = [value for value in rates if value == value]
    return bool(finite) and max(finite) != min(finite)


def _constant_rate(rates: list[float]) -> str:
    finite = [value for value in rates if value == value]
    return f"learning rate {finite[0]:.4g} throughout" if finite else "no learning rate (L-BFGS picks its steps)"


def spans_decades(values: list[float]) -> bool:
    """Positive values, finite, spanning more than DECADES powers of ten."""
    finite = np.asarray([value for value in values if np.isfinite(value)], dtype=float)
    return bool(finite.size) and finite.min() > 0 and finite.max() / finite.min() > 10**DECADES


# --- classification ----------------------------------------------------------------------------

LEGEND_CLASSES = 20  # classes named in a decision-regions legend
CELL_TEXT_CLASSES = 30  # up to this many classes a confusion matrix writes each cell's count
TOP_CONFUSIONS = 15  # past it, the counts that matter are listed beside a heat map


def confusion_matrix(matrix: np.ndarray, names: list, path: Path, split: str) -> None:
    """Counts, and rows normalised to the true class (recall on the diagonal); past
    CELL_TEXT_CLASSES classes, a heat map of the normalised rows without per-cell text and the
    TOP_CONFUSIONS largest confusions listed, so that its size and cost stay bounded."""
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    if len(names) > CELL_TEXT_CLASSES:
        return confusion_summary(matrix, normalised, names, path, split)
    plt = pyplot()
    size = max(4.0, 0.5 * len(names) + 2.5)
    figure, axes = plt.subplots(1, 2, figsize=(2 * size, size))
    for axis, values, title, fmt in ((axes[0], matrix, "counts", "d"), (axes[1], normalised, "by true class", ".2f")):
        axis.imshow(values, cmap="Blues", vmin=0)
        ticks = range(len(names))
        axis.set_xticks(ticks, [str(n) for n in names], rotation=45 if len(names) > 6 else 0)
        axis.set_yticks(ticks, [str(n) for n in names])
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.set_title(f"{title} ({split})")
        limit = values.max() / 2 if values.max() else 0.5
        for i in ticks:
            for j in ticks:
                axis.text(j, i, format(values[i, j], fmt), ha="center", va="center", fontsize=8,
                          color="white" if values[i, j] > limit else "black")
    save(figure, path)


def top_confusions(matrix: np.ndarray, names: list, count: int = TOP_CONFUSIONS) -> list[tuple[str, str, int]]:
    """The largest off-diagonal counts: (true, predicted, rows), largest first."""
    off = matrix.astype(np.int64).copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None)[::-1][:count]
    pairs = [np.unravel_index(index, off.shape) for index in flat]
    return [(str(names[i]), str(names[j]), int(off[i, j])) for i, j in pairs if off[i, j] > 0]


def confusion_summary(matrix: np.ndarray, normalised: np.ndarray, names: list, path: Path, split: str) -> None:
    """What a confusion matrix of many classes says in words: mean and lowest recalls, the largest confusions."""
    plt = pyplot()
    figure, (heat, listing) = plt.subplots(1, 2, figsize=(13, 7), gridspec_kw={"width_ratios": [3, 2]})
    image = heat.imshow(normalised, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    step = max(1, len(names) // 20)  # at most about 20 labels per axis
    ticks = range(0, len(names), step)
    heat.set_xticks(ticks, [str(names[i]) for i in ticks], rotation=90, fontsize=7)
    heat.set_yticks(ticks, [str(names[i]) for i in ticks], fontsize=7)
    heat.set(xlabel="predicted", ylabel="true", title=f"by true class, {len(names)} classes ({split})")
    figure.colorbar(image, ax=heat, fraction=0.046)
    recall = np.diag(normalised)
    lines = [f"mean recall {recall.mean():.3f}; lowest: "
             + ", ".join(f"{names[i]} {recall[i]:.2f}" for i in np.argsort(recall)[:3]), "",
             "largest confusions (true -> predicted: rows)"]
    lines += [f"{true} -> {predicted}: {rows}" for true, predicted, rows in top_confusions(matrix, names)]
    listing.axis("off")
    listing.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=8, transform=listing.transAxes)
    save(figure, path)


def roc_curve(fpr: np.ndarray, tpr: np.ndarray, area: float, path: Path, split: str, positive) -> None:
    """roc_curve.png: the true-positive rate against the false-positive rate, with its area."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.plot(fpr, tpr, label=f"AUC = {area:.3f}")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    axis.set(xlabel="false positive rate", ylabel="true positive rate",
             title=f"ROC ({split})\npositive class: {positive}")
    axis.grid(alpha=0.3)
    axis.legend()
    save(figure, path)


def pr_curve(recall: np.ndarray, precision: np.ndarray, average: float, chance: float, path: Path, split: str,
             positive) -> None:
    """`chance`: the share of positives (`positive`, the class's label), the precision of guessing."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.step(recall, precision, where="post", label=f"AP = {average:.3f}")
    axis.axhline(chance, linestyle=":", color="grey", label="chance")
    axis.set(xlabel="recall", ylabel="precision", title=f"precision-recall ({split})\npositive class: {positive}",
             ylim=(0, 1.02))
    axis.grid(alpha=0.3)
    axis.legend()
    save(figure, path)


# --- regression --------------------------------------------------------------------------------

def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, targets: list[str], path: Path, split: str) -> None:
    """predicted_vs_actual.png: each row's prediction against its target, in the target's own units."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(targets), figsize=(4.5 * len(targets), 4.5), squeeze=False)
    for index, (axis, name) in enumerate(zip(axes[0], targets)):
        a, p = actual[:, index], predicted[:, index]
        axis.scatter(a, p, s=10, alpha=0.6)
        low, high = float(min(a.min(), p.min())), float(max(a.max(), p.max()))
        axis.plot([low, high], [low, high], color="grey", linestyle=":", label="perfect")
        axis.set(xlabel=f"actual {name}", ylabel=f"predicted {name}", title=f"predicted vs actual ({split})")
        axis.grid(alpha=0.3)
        axis.legend()
    save(figure, path)


def residuals(actual: np.ndarray, predicted: np.ndarray, targets: list[str], path: Path, split: str) -> None:
    """residuals.png: the prediction errors against the predictions."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(targets), figsize=(4.5 * len(targets), 4), squeeze=False)
    for index, (axis, name) in enumerate(zip(axes[0], targets)):
        axis.scatter(predicted[:, index], actual[:, index] - predicted[:, index], s=10, alpha=0.6)
        axis.axhline(0, color="grey", linestyle=":")
        axis.set(xlabel=f"predicted {name}", ylabel="actual - predicted", title=f"residuals ({split})")
        axis.grid(alpha=0.3)
    save(figure, path)


# --- two inputs --------------------------------------------------------------------------------

GRID_STEPS = 200


def plane(raw_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A GRID_STEPS x GRID_STEPS grid over two inputs' range (in the data's own units), padded by 10%."""
    low, high = raw_points.min(axis=0), raw_points.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], GRID_STEPS)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], GRID_STEPS)
    return np.meshgrid(xs, ys)


def fitted_surface(grid: tuple[np.ndarray, np.ndarray], values: np.ndarray, raw_points: np.ndarray,
                   targets: np.ndarray, features: list[str], path: Path, title: str) -> None:
    """A regression model's answer over the plane of `plane(raw_points)`, the rows on top."""
    plt = pyplot()
    grid_x, grid_y = grid
    figure, axis = plt.subplots(figsize=(5.5, 4.8))
    surface = axis.contourf(grid_x, grid_y, values.reshape(grid_x.shape), levels=30, cmap="viridis")
    figure.colorbar(surface, ax=axis, label="prediction")
    axis.scatter(raw_points[:, 0], raw_points[:, 1], c=targets.ravel(), cmap="viridis", edgecolor="white", s=18)
    axis.set(xlabel=features[0], ylabel=features[1], title=title)
    save(figure, path)


def decision_regions(grid: tuple[np.ndarray, np.ndarray], regions: np.ndarray, positive: np.ndarray | None,
                     raw_points: np.ndarray, labels: np.ndarray, features: list[str], path: Path, title: str,
                     class_names: list) -> None:
    """decision_boundary.png for two inputs: the class the model gives each point of the plane, and the rows."""
    save(decision_regions_figure(grid, regions, positive, raw_points, labels, features, title, class_names), path)


def decision_regions_figure(grid, regions, positive, raw_points, labels, features: list[str], title: str,
                            class_names: list):
    """The predicted class over the plane of `plane(raw_points)`, the rows on top, and a legend
    naming each class (`class_names`, index = class); for a binary model (`positive`:
    P(positive) over the grid) the 0.5 boundary too."""
    figure, axis = pyplot().subplots(figsize=(5.5, 4.8))
    draw_regions(axis, grid, regions, positive, raw_points, labels, class_names)
    axis.set(xlabel=features[0], ylabel=features[1], title=title)
    return figure


def draw_regions(axis, grid, regions, positive, raw_points, labels, class_names: list, legend: bool = True) -> None:
    """decision_regions_figure's picture on `axis`."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    grid_x, grid_y = grid
    classes = len(class_names)
    colours = plt.get_cmap("tab10")
    axis.contourf(grid_x, grid_y, regions.reshape(grid_x.shape), levels=np.arange(classes + 1) - 0.5,
                  cmap="tab10", alpha=0.25, vmin=0, vmax=9)
    handles = [Line2D([], [], marker="o", linestyle="", markeredgecolor="black", color=colours(index % 10),
                      label=str(name)) for index, name in enumerate(class_names)]
    if positive is not None:
        axis.contour(grid_x, grid_y, positive.reshape(grid_x.shape), levels=[0.5], colors="black", linewidths=1)
        handles.append(Line2D([], [], color="black", linewidth=1, label="P = 0.5"))
    axis.scatter(raw_points[:, 0], raw_points[:, 1], c=labels.ravel() % 10, cmap="tab10", vmin=0, vmax=9,
                 edgecolor="black", s=18)
    if legend and classes <= LEGEND_CLASSES:  # colours repeat past 10 anyway
        axis.legend(handles=handles, fontsize=8, title="class", loc="best")


# --- several runs -------------------------------------------------------------------------------

def overlay(curves: list[tuple[str, list, list]], path: Path, ylabel: str, title: str, xlabel: str = "epoch") -> None:
    """Several runs' curves on one axis: (label, x values, values) each."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for label, xs, values in curves:
        axis.plot(xs, values, label=label)
    axis.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axis.grid(alpha=0.3)
    if axis.lines:
        axis.legend(fontsize=7)
    save(figure, path)
