"""Training and evaluation on a `StreamingDataset` (data.streaming): the fit engine, fed by
`tf.data` pipelines that read the spilled rows (data/spill.py) with TensorFlow's own file ops,
in its threads: no Python between the file and the step, so reading and training overlap.

An epoch takes the split's files in an order drawn from (seed, epoch), each file's rows shuffled
by a draw from (seed, epoch, file): a shuffle within files of about CHUNK_ROWS rows, not across
the whole data set, documented as approximate. The order depends only on the seed and the
epoch, so a resumed run goes on with the epoch order it would have had.
"""

import numpy as np
import tensorflow as tf

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.progress import Progress
from mlpctl.rundir.checkpoint import Checkpoints
from mlpctl.scoring import EVAL_BATCH, with_data_loss
from mlpctl.training.engines import Outcome
from mlpctl.training.engines.batches import epoch_seed, permutation
from mlpctl.training.engines.fit import fit

# Training steps per call into TensorFlow: a whole epoch per call would leave Ctrl-C, SIGTERM and
# the progress bar waiting for the end of an epoch of a file bigger than memory (minutes);
# 256 steps cost nothing measurable against a whole epoch (bench/STREAMING.md).
STEPS_PER_EXECUTION = 256


def pipeline(config: RunConfig, dataset, split: str, batch: int, first_epoch: int | None = None) -> tf.data.Dataset:
    """One pass over the split in its files' order, or, from `first_epoch` on (training), one
    epoch after another, each shuffled and carrying the per-row weights when the run has any."""
    spill = dataset.spilled
    paths = tf.constant([str(path) for path, _ in spill.files[split]])
    if first_epoch is None:
        parts = tf.data.Dataset.from_tensor_slices(paths).map(lambda path: read(path, spill.width))
    else:
        seed = config.seed
        parts = tf.data.Dataset.counter(first_epoch, dtype=tf.int64).flat_map(  # Keras counts the epochs
            lambda epoch: shuffled_epoch(paths, spill.width, seed, epoch))
    columns = split_columns(config, spill, weighted=first_epoch is not None and spill.weighted)
    data = parts.map(columns, num_parallel_calls=tf.data.AUTOTUNE).flat_map(lambda *part: cut(part, batch))
    if first_epoch is None:  # its length, known from the files: Keras never asks a pass for more batches than it has
        data = data.apply(tf.data.experimental.assert_cardinality(spill.steps(split, batch)))
    if config.loss_name in catalog.ONE_HOT_LOSSES:
        classes = len(dataset.preprocessing.classes)
        data = data.map(lambda x, y, *w: (x, tf.one_hot(y, classes, dtype=tf.float32), *w))
    return data.prefetch(tf.data.AUTOTUNE)


def read(path, width: int):
    """A spilled file's rows, (rows, width) float32."""
    return tf.reshape(tf.io.decode_raw(tf.io.read_file(path), tf.float32), (-1, width))


def shuffled_epoch(paths, width: int, seed: int, epoch) -> tf.data.Dataset:
    """One epoch's order of a streamed run's spill files and of the rows in each, from (seed, epoch)."""
    pair = epoch_seed(seed, epoch)
    order = permutation(tf.size(paths), pair)

    def rows_shuffled(index, path):
        rows = read(path, width)
        return tf.gather(rows, permutation(tf.shape(rows)[0], tf.random.experimental.stateless_fold_in(pair, index)))

    return tf.data.Dataset.from_tensor_slices((order, tf.gather(paths, order))).map(rows_shuffled)


def split_columns(config: RunConfig, spill, weighted: bool):
    """A file's rows as (x, y[, weight]): the model's inputs, its targets (class codes as int32
    for a multiclass run) and the row weights."""
    inputs, outputs = spill.inputs, spill.outputs

    def columns(rows):
        x, y = rows[:, :inputs], rows[:, inputs:inputs + outputs]
        if config.scenario == "multiclass":
            y = tf.cast(y[:, 0], tf.int32)
        return (x, y, rows[:, -1]) if weighted else (x, y)

    return columns


def cut(part: tuple, batch: int) -> tf.data.Dataset:
    """A file's arrays as consecutive batches, sliced whole (slicing it into rows and batching
    them again costs a step per row)."""
    rows = tf.shape(part[0], out_type=tf.int64)[0]
    return tf.data.Dataset.range((rows + batch - 1) // batch).map(
        lambda index: tuple(array[index * batch:(index + 1) * batch] for array in part))


def run(config: RunConfig, model, dataset, batch: int, progress: Progress, checkpoints: Checkpoints) -> Outcome:
    """`dataset` spilled (StreamingDataset.spill) with files of whole batches of `batch` rows."""
    training = pipeline(config, dataset, "train", batch, checkpoints.start_epoch)
    validation = pipeline(config, dataset, "validation", EVAL_BATCH) if "validation" in dataset.rows else None
    return fit(config, model, training, dataset.spilled.steps("train", batch), validation, progress, checkpoints)


def evaluate(config: RunConfig, model, dataset) -> dict[str, dict[str, float | None]]:
    """Final metrics of every split, each a pass over its spilled rows."""
    metrics = {}
    for split in dataset.rows:
        values = model.evaluate(pipeline(config, dataset, split, EVAL_BATCH), verbose=0, return_dict=True)
        metrics[split] = with_data_loss({name: float(value) if np.isfinite(value) else None
                                         for name, value in values.items()})
    return metrics
