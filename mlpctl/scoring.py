"""From model outputs to answers and scores: labels, probabilities, loss targets, confusion
matrices, per-class precision/recall/F1, ROC and precision-recall points.

NumPy only. The model object is handed in and asked for its outputs (`scores`); nothing here
imports TensorFlow. Training, the report, `evaluate` and `predict` all score through here, so
they agree on what an output means.
"""

import numpy as np

EVAL_BATCH = 4096  # rows per step when evaluating or predicting: no gradients are kept


def scores(model, x: np.ndarray) -> np.ndarray:
    """The model's raw outputs: P(positive) for binary, class probabilities, or values.

    Batch by batch with predict_on_batch: `predict` on NumPy builds a tf.data pipeline each
    call, slower for small inputs and noisy on stderr (TF 2.21 logs an E-line about it)."""
    batches = [model.predict_on_batch(x[start:start + EVAL_BATCH]) for start in range(0, max(len(x), 1), EVAL_BATCH)]
    return np.concatenate([np.asarray(batch) for batch in batches])  # no rows: one empty batch, the right width


def labels_from_scores(output: np.ndarray) -> np.ndarray:
    """Encoded class indices from classification outputs."""
    return (output[:, 0] > 0.5).astype(int) if output.shape[1] == 1 else output.argmax(axis=1)


def probabilities(output: np.ndarray) -> np.ndarray:
    """One column per class (binary outputs give P(positive); the negative class is 1 - p)."""
    return np.c_[1 - output[:, 0], output[:, 0]] if output.shape[1] == 1 else output


def one_hot(codes: np.ndarray, classes: int) -> np.ndarray:
    """Integer class codes as one-hot rows, float64 as `keras.utils.to_categorical` gives them."""
    return np.eye(classes, dtype=np.float64)[np.asarray(codes, dtype=int).reshape(-1)]


def loss_targets(one_hot_loss: bool, y: dict[str, np.ndarray], classes) -> dict[str, np.ndarray]:
    """Labels as the loss wants them: one-hot for categorical_crossentropy and its focal twin
    (`one_hot_loss`), integer codes otherwise."""
    if not one_hot_loss:
        return y
    return {split: one_hot(labels, len(classes)) for split, labels in y.items()}


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_scores(y_true: np.ndarray, y_pred: np.ndarray, names: list) -> list[dict]:
    """Precision, recall, F1 and support for each class."""
    matrix = confusion(y_true, y_pred, len(names))
    rows = []
    for index, name in enumerate(names):
        hits = matrix[index, index]
        predicted, actual = matrix[:, index].sum(), matrix[index].sum()
        precision = hits / predicted if predicted else 0.0
        recall = hits / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"class": name, "precision": float(precision), "recall": float(recall), "f1": float(f1),
                     "support": int(actual)})
    return rows


def _ranked_hits(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positives found (cumulative) at each distinct threshold, highest score first, and the
    index of the last row at each threshold."""
    order = np.argsort(-score, kind="stable")
    y, s = y_true[order], score[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    return np.cumsum(y)[distinct], distinct


def roc_points(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """False and true positive rates over every threshold, and the area under the curve."""
    tps, distinct = _ranked_hits(y_true, score)
    fps = (distinct + 1) - tps
    tpr = np.r_[0, tps] / max(tps[-1], 1)
    fpr = np.r_[0, fps] / max(fps[-1], 1)
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def pr_points(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Recall and precision over every threshold, and the average precision."""
    tps, distinct = _ranked_hits(y_true, score)
    precision = tps / (distinct + 1)
    recall = tps / max(tps[-1], 1)
    average = float(np.sum(np.diff(np.r_[0, recall]) * precision))
    return np.r_[0, recall], np.r_[1, precision], average


def with_data_loss(values: dict) -> dict:
    """`values` (a history row, or one split's metrics) with data_loss beside loss (and
    val_data_loss beside val_loss): equal to the loss where no penalty made the engine log it."""
    filled = {}
    for name, value in values.items():
        filled[name] = value
        if name in ("loss", "val_loss"):
            twin = name.replace("loss", "data_loss")
            filled[twin] = values.get(twin, value)
    return filled
