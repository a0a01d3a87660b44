"""Report stage: the run directory and everything in it.

Every file is written to a temporary name and renamed into place, so a reader never sees half a
file. `config.yaml` is written before training (a crashed run can still be repeated) and
`metrics.json` last (its presence means the run finished, whatever its status).
"""

import csv
import io
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from mlpctl.config import RunConfig, resolved_yaml
from mlpctl.errors import ConfigError

FILES = {
    "report": "report.html",
    "config": "config.yaml",
    "metrics": "metrics.json",
    "history": "history.csv",
    "curves": "learning_curves.png",
    "model": "model.keras",
    "preprocessing": "preprocessing.json",
}


def safe_name(text: str, default: str) -> str:
    """Letters, digits, '.', '_' and '-' only, for file and directory names."""
    name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in text).strip("-._")
    return name or default


def create_run_dir(output_dir: Path, name: str, now: datetime | None = None, timestamped: bool = True) -> Path:
    """`<output_dir>/<name>-<YYYYmmdd-HHMMSS>` (or `<name>`), with -2, -3, ... if taken.
    Never reuses a directory."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--output-dir: cannot create {output_dir}: {exc.strerror}") from None
    stem = f"{name}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}" if timestamped else name
    for attempt in range(1, 1000):
        run_dir = output_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            run_dir.mkdir()  # atomic: fails if another run took the name first
            return run_dir
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run directory name for {stem} in {output_dir}")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


def atomic_write(path: Path, data: str | bytes) -> None:
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_config(run_dir: Path, config: RunConfig) -> None:
    atomic_write(run_dir / FILES["config"], resolved_yaml(config))


def write_json(path: Path, document: dict) -> None:
    atomic_write(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def history_csv(rows: list[dict[str, float]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def save_model(model, run_dir: Path) -> None:
    """Keras insists on a .keras suffix, so the temporary name keeps one."""
    temporary = run_dir / ".model.tmp.keras"
    model.save(temporary)
    os.replace(temporary, run_dir / FILES["model"])


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
    from mlpctl import html_report, plots

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
    `points` = (x, y, label) are the rows shown on a two-input decision boundary."""
    from mlpctl import inference, plots

    output, written, per_class = inference.scores(model, x), [], None
    if config.scenario == "regression":
        for name, draw in (("predicted_vs_actual", plots.predicted_vs_actual), ("residuals", plots.residuals)):
            written.append(directory / f"{name}.png")
            draw(y, output, prep.targets, written[-1], label)
    else:
        true_labels, predicted = y.ravel().astype(int), inference.labels_from_scores(output)
        written.append(directory / "confusion_matrix.png")
        plots.confusion_matrix(true_labels, predicted, prep.classes, written[-1], label)
        per_class = [{"split": label, **row} for row in plots.per_class_scores(true_labels, predicted, prep.classes)]
        if config.scenario == "binary":
            for name, draw in (("roc_curve", plots.roc_curve), ("pr_curve", plots.pr_curve)):
                written.append(directory / f"{name}.png")
                draw(true_labels, output[:, 0], written[-1], label)
    if len(prep.features) == 2 and not prep.categories and not prep.pca:
        written.append(directory / "decision_boundary.png")
        _two_inputs(written[-1], config, prep, model, *points)
    return written, per_class


def _two_inputs(path: Path, config: RunConfig, prep, model, x, y, label: str) -> None:
    import numpy as np
    import pandas as pd

    from mlpctl import inference, plots

    raw = x * np.asarray(prep.scale, dtype=np.float32) + np.asarray(prep.center, dtype=np.float32)

    def predict(points):
        frame = pd.DataFrame(points, columns=prep.features)
        return inference.scores(model, prep.transform(frame))

    regression = config.scenario == "regression"
    title = f"{'fitted surface' if regression else 'decision regions'} ({label})"
    plots.decision_boundary(predict, raw, y, prep.features, path, title, regression)
