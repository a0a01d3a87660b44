"""What a run draws when it ends: every figure its scenario calls for, then report.html.

Optional and last: a figure that fails is a note in metrics.json, never a lost run.
"""


import contextlib
import io
import math
from pathlib import Path

from mlpctl import scoring, signals
from mlpctl.config import RunConfig, resolved_yaml
from mlpctl.errors import described
from mlpctl.figures import html_report, learning, plots
from mlpctl.files import atomic_write
from mlpctl.rundir.layout import FILES
from mlpctl.rundir.record import RunRecord


def write_report(record: RunRecord, config: RunConfig, dataset, result) -> list[str]:
    """The plots and report.html: optional, last. Each figure that fails, or the whole step when
    stopped, becomes a note in metrics.json and a warning (returned), never a lost run."""
    if not (result.history and config.report.plots):
        return []
    try:
        problems = write_figures(record.run_dir, config, dataset, result, record.document)
        if result.status != "interrupted":
            signals.check()
    except KeyboardInterrupt as stop:
        problems = [f"plots and report.html were not finished: stopped by {signals.signal_of(stop)}"]
        record.write(notes=[*record.document["notes"], *problems])
        raise
    if problems:
        record.write(notes=[*record.document["notes"], *problems])
    return problems


def plot_split(x: dict) -> str:
    """Where the pictures of a run's answers come from: test, else validation, else train."""
    return next(split for split in ("test", "validation", "train") if split in x)


def best_epoch(rows: list[dict[str, float]]) -> int:
    """The epoch with the lowest validation loss (training loss without validation rows); the last if none is finite."""
    key = "val_loss" if "val_loss" in rows[0] else "loss"
    finite = [row for row in rows if row[key] == row[key]]  # NaN != NaN
    return int(min(finite, key=lambda row: row[key])["epoch"] if finite else rows[-1]["epoch"])


class Figures:
    """The figures of a run, each drawn on its own: one that fails (a label matplotlib cannot
    draw, a degenerate input) is noted in `failed` and the others are still drawn."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.written: list[Path] = []
        self.failed: list[str] = []

    def draw(self, name: str, draw) -> None:
        """`draw(path)` makes `<directory>/<name>`."""
        path = self.directory / name
        try:
            draw(path)
        except Exception as error:  # noqa: BLE001 - a figure is never worth a run
            self.failed.append(f"{name} not written: {described(error)}")
        else:
            self.written.append(path)


def write_figures(run_dir: Path, config: RunConfig, dataset, result, document: dict) -> list[str]:
    """Every plot the scenario calls for, then report.html with all of them. Returns what failed."""
    figures = Figures(run_dir)
    figures.draw(FILES["curves"], lambda path: plots.learning_curves(result.history, path, best_epoch(result.history)))
    per_class = None
    if result.status != "diverged":
        split = plot_split(dataset.x)
        per_class = answer_figures(figures, config, dataset.preprocessing, result.model,
                                   dataset.x[split], dataset.y[split], split,
                                   (dataset.x["train"], dataset.y["train"], "training rows"))
        learning.draw(figures, config, dataset, result)

    def page(path: Path) -> None:
        summary: list[str] = []
        with contextlib.redirect_stdout(io.StringIO()):  # Keras' summary flushes a Rich console on stdout
            result.model.summary(print_fn=lambda line, **_: summary.append(line))
        trainable = sum(int(math.prod(weight.shape)) for weight in result.model.trainable_weights)
        atomic_write(path, html_report.page(document, resolved_yaml(config), "\n".join(summary), per_class,
                                            figures.written, trainable))

    figures.draw(FILES["report"], page)
    return figures.failed


def answer_figures(figures: Figures, config: RunConfig, prep, model, x, y, label: str, points) -> list | None:
    """The plots of a model's answers on some rows (x, y), named after them (`label`), drawn into
    `figures`; `points` = (x, y, label) are the rows shown on a two-input decision boundary.
    Returns, for classification, the per-class scores."""
    output, per_class = scoring.scores(model, x), None
    if config.scenario == "regression":
        figures.draw("predicted_vs_actual.png",
                     lambda path: plots.predicted_vs_actual(y, output, prep.targets, path, label))
        figures.draw("residuals.png", lambda path: plots.residuals(y, output, prep.targets, path, label))
    else:
        true_labels, predicted = y.ravel().astype(int), scoring.labels_from_scores(output)
        matrix = scoring.confusion(true_labels, predicted, len(prep.classes))
        figures.draw("confusion_matrix.png", lambda path: plots.confusion_matrix(matrix, prep.classes, path, label))
        per_class = [{"split": label, **row} for row in scoring.per_class_scores(true_labels, predicted, prep.classes)]
        if config.scenario == "binary":
            chance = float(true_labels.mean())
            positive = prep.classes[1]
            figures.draw("roc_curve.png", lambda path: plots.roc_curve(
                *scoring.roc_points(true_labels, output[:, 0]), path, label, positive))
            figures.draw("pr_curve.png", lambda path: plots.pr_curve(
                *scoring.pr_points(true_labels, output[:, 0]), chance, path, label, positive))
    if len(prep.features) == 2 and not prep.categories and not prep.pca:
        figures.draw("decision_boundary.png", lambda path: _two_inputs(path, config, prep, model, *points))
    return per_class


def _two_inputs(path: Path, config: RunConfig, prep, model, x, y, label: str) -> None:
    """The model's answer over the plane of its two inputs, in the data's own units."""
    import numpy as np
    import pandas as pd

    raw = x * np.asarray(prep.scale, dtype=np.float32) + np.asarray(prep.center, dtype=np.float32)
    grid = plots.plane(raw)
    points = pd.DataFrame(np.c_[grid[0].ravel(), grid[1].ravel()], columns=prep.features)
    output = scoring.scores(model, prep.transform(points))
    if config.scenario == "regression":
        plots.fitted_surface(grid, output[:, 0], raw, y, prep.features, path, f"fitted surface ({label})")
        return
    positive = output[:, 0] if output.shape[1] == 1 else None
    plots.decision_regions(grid, scoring.labels_from_scores(output), positive, raw, y, prep.features, path,
                           f"decision regions ({label})", prep.classes)
