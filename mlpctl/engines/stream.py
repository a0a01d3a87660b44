"""Training and evaluation on a `StreamingDataset` (data.streaming): the fit engine, fed by
`tf.data` pipelines that read the file again for every pass, a chunk at a time.

The batches of an epoch come in the file's order of chunks, each chunk's rows shuffled (seeded
by the seed and the epoch): an approximate shuffle, documented as such. A resumed run goes on
with the next epoch's order.
"""

import itertools

import numpy as np
import tensorflow as tf

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.engines import Outcome, with_data_loss
from mlpctl.engines.checkpoint import Checkpoints
from mlpctl.engines.fit import fit
from mlpctl.progress import Progress
from mlpctl.scoring import EVAL_BATCH

# Training steps per call into TensorFlow. The file is read by a Python generator inside the
# tf.data pipeline, and it reads ahead only while control comes back between calls: a whole
# epoch per call (the in-memory fit engine's setting) left reading and training taking turns,
# (measured on 1M rows without validation: 155-250k rows/s; 8-16 steps per call: 260-400k rows/s,
# with the same noise from run to run). Two chunks are read ahead.
STEPS_PER_EXECUTION = 16


def pipeline(config: RunConfig, dataset, split: str, batch: int, epochs=None) -> tf.data.Dataset:
    """One pass over the split per iteration of the pipeline; `epochs` (an iterator of epoch
    numbers) shuffles each pass for training."""
    prep = dataset.preprocessing
    outputs = prep.n_outputs(config.scenario)
    if config.scenario == "multiclass":
        y_spec = tf.TensorSpec((None,), tf.int32)
    else:
        y_spec = tf.TensorSpec((None, outputs), tf.float32)
    signature = (tf.TensorSpec((None, prep.n_inputs), tf.float32), y_spec)
    weighted = epochs is not None and (config.data.sample_weight or dataset.class_weight is not None)
    if weighted:
        signature += (tf.TensorSpec((None,), tf.float32),)

    def passes():
        """Whole chunks from Python; tf.data cuts them into batches (a Python call per batch
        would cost more than the step on a small network)."""
        epoch = next(epochs) if epochs is not None else None
        for part in dataset.batches(split, None, epoch):
            yield part if weighted else part[:2]

    chunks = tf.data.Dataset.from_generator(passes, output_signature=signature)
    data = chunks.prefetch(2).flat_map(lambda *part: cut(part, batch))
    # its length, known from pass one: Keras then never asks a pass for more batches than it has
    data = data.apply(tf.data.experimental.assert_cardinality(dataset.steps(split, batch)))
    if config.loss_name in catalog.ONE_HOT_LOSSES:
        classes = len(prep.classes)
        data = data.map(lambda x, y, *w: (x, tf.one_hot(y, classes, dtype=tf.float32), *w))
    return data.prefetch(2)


def cut(part: tuple, batch: int) -> tf.data.Dataset:
    """A chunk's arrays as consecutive batches, sliced whole (slicing it into rows and batching
    them again costs a step per row)."""
    rows = tf.shape(part[0], out_type=tf.int64)[0]
    return tf.data.Dataset.range((rows + batch - 1) // batch).map(
        lambda index: tuple(array[index * batch:(index + 1) * batch] for array in part))


def run(config: RunConfig, model, dataset, batch: int, progress: Progress, checkpoints: Checkpoints) -> Outcome:
    epochs = itertools.count(checkpoints.start_epoch)
    training = pipeline(config, dataset, "train", batch, epochs).repeat()  # each pass, the next epoch
    validation = pipeline(config, dataset, "validation", EVAL_BATCH) if "validation" in dataset.rows else None
    return fit(config, model, training, dataset.steps("train", batch), validation, progress, checkpoints)


def evaluate(config: RunConfig, model, dataset) -> dict[str, dict[str, float | None]]:
    """Final metrics of every split, each a pass over the file."""
    metrics = {}
    for split in dataset.rows:
        values = model.evaluate(pipeline(config, dataset, split, EVAL_BATCH), verbose=0, return_dict=True)
        metrics[split] = with_data_loss({name: float(value) if np.isfinite(value) else None
                                         for name, value in values.items()})
    return metrics
