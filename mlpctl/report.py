"""Report stage: the run directory's layout, what goes in it and in which file, and the state
a run directory is in.

Every file but history.csv is written to a temporary name and renamed into place, so a reader
never sees half a file. The states (README, Outputs): `metrics.json` exists from the moment the
run directory does, with status `running` and the pid and host of the process; it is rewritten
at each change of state, and a run that ends (`completed`, `diverged`, `interrupted`, `failed`)
says so there. `config.yaml` is written before training; history.csv grows by whole rows while
the run trains and is rewritten whole at the end. A `running` run whose process is gone was
killed (`runstate.status_of`). Plots and report.html come last and are optional: one that fails is a
note, never a lost run.
"""

import contextlib
import csv
import io
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mlpctl import evolution, html_report, plots, scoring, signals
from mlpctl.config import RunConfig, resolved_yaml
from mlpctl.engines import checkpoint, with_data_loss
from mlpctl.errors import described
from mlpctl.files import atomic_write, replace_atomically, unwritable, write_json
from mlpctl.progress import Progress
from mlpctl.runstate import this_process

FILES = {
    "report": "report.html",
    "config": "config.yaml",
    "metrics": "metrics.json",
    "history": "history.csv",
    "curves": "learning_curves.png",
    "model": "model.keras",
    "preprocessing": "preprocessing.json",
    "snapshots": "snapshots.npz",
}
FINAL_STATES = ("completed", "diverged", "interrupted", "failed", "invalid", "data_error", "output_error")
HISTORY_FLUSH_SECONDS = 1.0  # history.csv is at most this far behind the training


def write_config(run_dir: Path, config: RunConfig) -> None:
    atomic_write(run_dir / FILES["config"], resolved_yaml(config))


def history_csv(rows: list[dict[str, float]], columns: list[str] | None = None) -> str:
    columns = columns or list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def save_model(model, run_dir: Path) -> None:
    """Atomically, like every file; Keras insists on a .keras suffix, so the temporary name keeps one."""
    replace_atomically(run_dir / FILES["model"], model.save, suffix=".tmp.keras")


def save_snapshots(model, snapshots: dict[int, list], path: Path) -> None:
    """snapshots.npz: `epoch_<k>/<weight path>` -> that weight after epoch k, e.g.
    `epoch_10/hidden_1/kernel` (the weight paths Keras gives, without the model's name)."""
    names = [weight.path.partition("/")[2] or weight.path for weight in model.weights]
    arrays = {f"epoch_{epoch}/{name}": value for epoch, weights in snapshots.items()
              for name, value in zip(names, weights)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())


class RunRecord:
    """metrics.json while a run goes on: created `running` with the process's identity, and
    rewritten, atomically, at each change of state."""

    def __init__(self, run_dir: Path, config: RunConfig, smoke: bool = False, resumed_after: int | None = None):
        self.run_dir = run_dir
        self.document = {
            "status": "running", "smoke": smoke, "name": config.name, "scenario": config.scenario,
            "epochs_run": resumed_after or 0, "seed": config.seed, "run_dir": str(run_dir.resolve()),
            **this_process(), "started": datetime.now(UTC).isoformat(timespec="seconds"),
            **({"resumed_after_epoch": resumed_after} if resumed_after is not None else {}),
            "notes": [], "metrics": {},
        }
        self.write()

    def write(self, **changes) -> dict:
        self.document.update(changes)
        with signals.deferred():  # a second Ctrl-C must not cut metrics.json in half
            write_json(self.run_dir / FILES["metrics"], self.document)
        return self.document

    def ended(self, status: str, **changes) -> dict:
        """The run is over; `interrupted` also records which signal stopped it."""
        if status == "interrupted":
            changes["signal"] = signals.received() or "SIGINT"
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        return self.write(status=status, finished=finished, **changes)


class HistoryLog(Progress):
    """Passes every report on to `inner` and appends each epoch's row to history.csv, flushed
    at least every HISTORY_FLUSH_SECONDS, so a run that is killed keeps its epochs."""

    def __init__(self, path: Path, columns: list[str], inner: Progress, rows: list[dict] = ()):
        self.path, self.columns, self.inner = path, ["epoch", *columns], inner
        self.rows = [with_data_loss(row) for row in rows]  # a resumed run's epochs so far
        self.handle = None
        self.flushed = 0.0

    def start(self, epochs: int) -> None:
        try:
            self.handle = open(self.path, "w", newline="", encoding="utf-8")
            self.handle.write(history_csv(self.rows, self.columns))
            self.handle.flush()
        except OSError as error:
            raise unwritable(self.path, error) from None
        self.inner.start(epochs)

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self.inner.epoch(epoch, logs)
        if self.handle is None:
            return
        logs = with_data_loss(logs)
        try:
            self.handle.write(",".join(str(logs[column]) for column in self.columns) + "\n")
            if time.monotonic() - self.flushed > HISTORY_FLUSH_SECONDS:
                self.handle.flush()
                self.flushed = time.monotonic()
        except OSError as error:
            raise unwritable(self.path, error) from None

    def finish(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass  # rewritten whole at the end of the run
            self.handle = None
        self.inner.finish()


def final_document(config: RunConfig, result, versions: dict, dataset) -> dict:
    """What a run that trained adds to metrics.json (the data's warnings are among its notes)."""
    return {
        "epochs_run": result.epochs_run,
        "rows": dataset.rows,
        **({"positive_class": dataset.preprocessing.classes[1]} if config.scenario == "binary" else {}),
        "engine": result.engine,
        "jit": result.jit,
        **({"distribute": result.distribute} if result.distribute else {}),
        "notes": [*dataset.warnings, *result.notes],
        "stopped_early_at": result.stopped_early_at,
        "duration_s": round(result.duration_s, 3),
        "versions": versions,
        "metrics": result.metrics,
    }


def write_run(record: RunRecord, config: RunConfig, dataset, result, versions: dict, columns: list[str],
              smoke: bool = False) -> dict:
    """The files of a run that trained, essentials first, all of them before metrics.json says the
    run ended; a Ctrl-C meanwhile waits for them. A smoke run writes metrics.json alone. Then,
    unless smoke, the plots and report.html (`write_report`). Returns metrics.json's content."""
    run_dir = record.run_dir
    with signals.deferred():
        if not smoke:
            write_json(run_dir / FILES["preprocessing"], dataset.preprocessing.to_dict())
            atomic_write(run_dir / FILES["history"], history_csv(result.history, ["epoch", *columns]))
            if result.status != "diverged":
                save_model(result.model, run_dir)
            if result.snapshots:
                save_snapshots(result.model, result.snapshots, run_dir / FILES["snapshots"])
        document = record.ended(result.status, **final_document(config, result, versions, dataset))
        if result.status in ("completed", "diverged"):  # only an unfinished run goes on from it
            (run_dir / checkpoint.FILE).unlink(missing_ok=True)
    return document


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
    key = "val_loss" if "val_loss" in rows[0] else "loss"
    finite = [row for row in rows if row[key] == row[key]]  # NaN != NaN
    return min(finite, key=lambda row: row[key])["epoch"] if finite else rows[-1]["epoch"]


class Figures:
    """The figures of a run, each drawn on its own: one that fails (a label matplotlib cannot
    draw, a degenerate input) is noted in `failed` and the others are still drawn."""

    def __init__(self, directory: Path):
        self.directory, self.written, self.failed = directory, [], []

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
        evolution.draw(figures, config, dataset, result)

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


def write_tensorboard(rows: list[dict[str, float]], logdir: Path,
                      kernels: dict[int, dict[str, np.ndarray]] | None = None) -> None:
    """The per-epoch history as TensorBoard scalars, laid out as Keras' TensorBoard callback
    does (train/ and validation/, `epoch_<name>`), after training so every engine gets it; the
    snapshots' `kernels` (epoch -> layer -> weights) as histograms `<layer>/kernel` in train/.
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
            if split == "train":
                for epoch, layers in (kernels or {}).items():
                    for name, values in layers.items():
                        tf.summary.histogram(f"{name}/kernel", values, step=epoch)
        writer.close()
