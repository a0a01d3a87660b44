"""`mlpctl evaluate`: a trained run's metrics and plots on new labelled rows, in a folder of
their own under the run's `evaluations/`. The rows are read and checked as `predict` reads
them; the metrics are the ones training reports, computed the same way."""

from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl.errors import DataError
from mlpctl.figures.report import Figures, answer_figures
from mlpctl.files import create_run_dir, safe_name, write_json
from mlpctl.rundir.layout import FILES, FOLDERS
from mlpctl.rundir.reader import TrainedRun
from mlpctl.workflows.predict import check_columns, encode_known_labels, read_input


def _compile_for_evaluation(run: TrainedRun) -> list[str]:
    """Loss and metrics from the run's config (Keras does not save every loss parameter, such as
    Huber's delta). A custom loss is not imported: the metrics are computed without it."""
    from mlpctl.model import compile_model
    from mlpctl.model.build import metrics_of

    if run.config.loss_name is not None:
        compile_model(run.model, run.config)
        return []
    import keras

    run.model.compile(loss=lambda y_true, y_pred: keras.ops.zeros_like(y_pred[..., 0]),
                      metrics=metrics_of(run.config.scenario, one_hot=False))
    return [f"loss not computed: the run's loss is {run.config.custom_loss}, and evaluate does not "
            f"import code named by a run directory"]


def evaluate_frame(run: TrainedRun, frame: pd.DataFrame) -> tuple[dict, list[str], np.ndarray, np.ndarray]:
    """The run's metrics on labelled rows: (metrics, notes, inputs, encoded labels)."""
    from mlpctl.training import train as trainer

    check_columns(frame, run, keep=[], require_targets=True)
    if frame.empty:
        raise DataError("no rows to evaluate on")
    x, y = run.preprocessing.transform(frame), encode_known_labels(frame, run)
    notes = _compile_for_evaluation(run)
    y_loss = trainer.loss_targets(run.config, {"data": y}, run.classes)
    metrics = trainer.evaluate(run.model, {"data": x}, y_loss)["data"]
    if notes:
        metrics["loss"] = None
    return metrics, notes, x, y


def evaluate_run(run: TrainedRun, data: Path) -> tuple[dict, Path]:
    """Metrics and plots for new labelled rows, in a new folder under <run>/evaluations."""
    frame = read_input(str(data), labels=run.config.label_column)
    if frame.empty:
        check_columns(frame, run, keep=[], require_targets=True)
        raise DataError(f"--data: {data} has no rows to evaluate on")
    metrics, notes, x, y = evaluate_frame(run, frame)
    directory = create_run_dir(run.run_dir / FOLDERS["evaluations"], safe_name(data.stem, "data"))
    figures, per_class = Figures(directory), None
    if run.config.report.plots:
        per_class = answer_figures(figures, run.config, run.preprocessing, run.model, x, y, data.name,
                                          (x, y, data.name))
    document = {"run_dir": str(run.run_dir.resolve()), "data": str(data.resolve()), "rows": len(frame),
                "metrics": metrics, "per_class": per_class, "plots": [path.name for path in figures.written],
                "notes": notes + figures.failed, "evaluation_dir": str(directory.resolve())}
    write_json(directory / FILES["metrics"], document)
    return document, directory
