"""Which rows go into which batch, for every engine: the seeded order of each epoch, and the
`tf.data` pipelines the fit engine and evaluation read."""

import numpy as np
import tensorflow as tf

from mlpctl.scoring import EVAL_BATCH


def epoch_order(seed: int, epoch, rows: int, shuffle: bool):
    """The row order of one epoch: a permutation that depends only on (seed, epoch)."""
    indices = tf.range(rows, dtype=tf.int64)
    if not shuffle:
        return indices
    pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(indices, seed=pair)


def training_pipeline(x: np.ndarray, y: np.ndarray, weights, batch: int, seed: int, epochs: int,
                      start: int = 0) -> tf.data.Dataset:
    """The batches of epochs start .. epochs - 1, in the order `epoch_order` gives: the graph
    engine's order too. With per-row weights, each batch is (x, y, weight) as Keras expects."""
    arrays = tuple(tf.constant(a) for a in (x, y, weights) if a is not None)
    rows, shuffle = len(x), batch < len(x)
    orders = tf.data.Dataset.range(start, epochs).map(lambda epoch: epoch_order(seed, epoch, rows, shuffle))
    batches = orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch))
    return batches.map(lambda indices: tuple(tf.gather(a, indices) for a in arrays)).prefetch(tf.data.AUTOTUNE)


def eval_pipeline(x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
    """Rows in their order, EVAL_BATCH at a time: validation passes and final evaluation."""
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(EVAL_BATCH)
