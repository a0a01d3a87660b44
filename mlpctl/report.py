"""Report stage: the run directory's layout, what goes in it and in which file.

Every file is written to a temporary name and renamed into place, so a reader never sees half a
file. `config.yaml` is written before training (a crashed run can still be repeated) and
`metrics.json` last (its presence means the run finished, whatever its status).
"""

import csv
import io
import os
from pathlib import Path

from mlpctl import html_report, plots, scoring
from mlpctl.config import RunConfig, resolved_yaml
from mlpctl.files import atomic_write, temporary_beside, write_json

FILES = {
    "report": "report.html",
    "config": "config.yaml",
    "metrics": "metrics.json",
    "history": "history.csv",
    "curves": "learning_curves.png",
    "model": "model.keras",
    "preprocessing": "preprocessing.json",
}


def write_config(run_dir: Path, config: RunConfig) -> None:
    atomic_write(run_dir / FILES["config"], resolved_yaml(config))


def history_csv(rows: list[dict[str, float]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def save_model(model, run_dir: Path) -> None:
    """Atomically, like every file; Keras insists on a .keras suffix, so the temporary name keeps one."""
    path = run_dir / FILES["model"]
    fd, temporary = temporary_beside(path, suffix=".tmp.keras")
    os.close(fd)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def metrics_document(config: RunConfig, result, run_dir: Path, versions: dict, rows: dict, smoke: bool = False) -> dict:
    return {
        "status": result.status,
        "smoke": smoke,
        "name": config.name,
        "scenario": config.scenario,
        "epochs_run": result.epochs_run,
        "rows": rows,
        "engine": result.engine,
        "notes": result.notes,
        "stopped_early_at": result.stopped_early_at,
        "seed": config.seed,
        "duration_s": round(result.duration_s, 3),
        "run_dir": str(run_dir.resolve()),
        "versions": versions,
        "metrics": result.metrics,
    }


def write_run(run_dir: Path, config: RunConfig, dataset, result, versions: dict, smoke: bool = False) -> dict:
    """Everything but config.yaml (written before training); a smoke run writes metrics.json
    alone. Returns metrics.json's content."""
    document = metrics_document(config, result, run_dir, versions, dataset.rows, smoke)
    if smoke:
        write_json(run_dir / FILES["metrics"], document)
        return document
    write_json(run_dir / FILES["preprocessing"], dataset.preprocessing.to_dict())
    atomic_write(run_dir / FILES["history"], history_csv(result.history))
    if result.status != "diverged":
        save_model(result.model, run_dir)
    if result.history and config.report.plots:
        write_figures(run_dir, config, dataset, result, document)
    write_json(run_dir / FILES["metrics"], document)
    return document


def plot_split(x: dict) -> str:
    """Where the pictures of a run's answers come from: test, else validation, else train."""
    return next(split for split in ("test", "validation", "train") if split in x)


def best_epoch(rows: list[dict[str, float]]) -> int:
    key = "val_loss" if "val_loss" in rows[0] else "loss"
    finite = [row for row in rows if row[key] == row[key]]  # NaN != NaN
    return min(finite, key=lambda row: row[key])["epoch"] if finite else rows[-1]["epoch"]


def write_figures(run_dir: Path, config: RunConfig, dataset, result, document: dict) -> None:
    """Every plot the scenario calls for, then report.html with all of them."""
    curves = run_dir / FILES["curves"]
    plots.learning_curves(result.history, curves, best_epoch(result.history))
    written, per_class = [curves], None
    if result.status != "diverged":
        split = plot_split(dataset.x)
        answers, per_class = answer_figures(run_dir, config, dataset.preprocessing, result.model,
                                            dataset.x[split], dataset.y[split], split,
                                            (dataset.x["train"], dataset.y["train"], "training rows"))
        written += answers
    summary: list[str] = []
    result.model.summary(print_fn=lambda line, **_: summary.append(line))
    page = html_report.page(document, resolved_yaml(config), "\n".join(summary), per_class, written)
    atomic_write(run_dir / FILES["report"], page)


def answer_figures(directory: Path, config: RunConfig, prep, model, x, y, label: str, points) -> tuple[list[Path], list | None]:
    """The plots of a model's answers on some rows (x, y), named after them (`label`);
    `points` = (x, y, label) are the rows shown on a two-input decision boundary. Returns the
    files written and, for classification, the per-class scores."""
    output, written, per_class = scoring.scores(model, x), [], None
    if config.scenario == "regression":
        for name, draw in (("predicted_vs_actual", plots.predicted_vs_actual), ("residuals", plots.residuals)):
            written.append(directory / f"{name}.png")
            draw(y, output, prep.targets, written[-1], label)
    else:
        true_labels, predicted = y.ravel().astype(int), scoring.labels_from_scores(output)
        written.append(directory / "confusion_matrix.png")
        plots.confusion_matrix(scoring.confusion(true_labels, predicted, len(prep.classes)), prep.classes,
                               written[-1], label)
        per_class = [{"split": label, **row} for row in scoring.per_class_scores(true_labels, predicted, prep.classes)]
        if config.scenario == "binary":
            written += [directory / "roc_curve.png", directory / "pr_curve.png"]
            plots.roc_curve(*scoring.roc_points(true_labels, output[:, 0]), written[-2], label)
            plots.pr_curve(*scoring.pr_points(true_labels, output[:, 0]), float(true_labels.mean()), written[-1], label)
    if len(prep.features) == 2 and not prep.categories and not prep.pca:
        written.append(directory / "decision_boundary.png")
        _two_inputs(written[-1], config, prep, model, *points)
    return written, per_class


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
                           f"decision regions ({label})")


def write_tensorboard(rows: list[dict[str, float]], logdir: Path) -> None:
    """The per-epoch history as TensorBoard scalars, laid out as Keras' TensorBoard callback
    does (train/ and validation/, `epoch_<name>`), after training so every engine gets it.
    Imports TensorFlow, which a run has started by then."""
    from mlpctl.runtime import import_tensorflow

    tf = import_tensorflow()
    has_validation = any(key.startswith("val_") for key in rows[0])
    for split in ("train", "validation") if has_validation else ("train",):
        writer = tf.summary.create_file_writer(str(logdir / split))
        with writer.as_default():
            for row in rows:
                for key, value in row.items():
                    is_validation = key.startswith("val_")
                    if key == "epoch" or is_validation != (split == "validation"):
                        continue
                    tf.summary.scalar(f"epoch_{key.removeprefix('val_')}", value, step=int(row["epoch"]))
        writer.close()
