"""TensorBoard's event files for a run that asked for them (report.tensorboard)."""

from pathlib import Path

import numpy as np


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
