"""Which rows go into which batch, for every engine: the seeded order of each epoch, and the
`tf.data` pipelines the fit engine and evaluation read."""

import numpy as np
import tensorflow as tf

from mlpctl.scoring import EVAL_BATCH


def tensor(array: np.ndarray) -> tf.Tensor:
    """`array` as a tensor, sharing its memory when TensorFlow can (a C-contiguous array of
    numbers on a 64-byte boundary: data.preprocessing.aligned_empty), else a copy.

    `tf.constant` copies, with a temporary second copy on the way: 376 MB for the 188 MB of
    60,000 MNIST images. DLPack hands the buffer over instead. It is only safe aligned: TF
    kernels check the alignment and abort the process on a misaligned buffer. Nothing writes
    to the arrays once training starts, so sharing changes no numbers. A read-only array (pandas'
    copy-on-write hands those out) is copied: TF's DLPack refuses it."""
    array = np.asarray(array)
    shareable = (array.size and array.flags.c_contiguous and array.flags.writeable and array.dtype.kind in "fiu"
                 and array.ctypes.data % 64 == 0)
    if not shareable:
        return tf.constant(array)
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())


def epoch_order(seed: int, epoch, rows: int, shuffle: bool, classes: list[np.ndarray] | None = None):
    """The row order of one epoch: a permutation that depends only on (seed, epoch); with
    `classes` (each class's row indices: training.balanced_batches), balanced_order's draw."""
    pair = epoch_seed(seed, epoch)
    if classes is not None:
        return balanced_order(pair, rows, classes)
    if not shuffle:
        return tf.range(rows, dtype=tf.int64)
    return permutation(rows, pair)


def epoch_seed(seed: int, epoch):
    """The stateless random seed of one epoch's draws: (seed, epoch) as int64, in every engine."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])


def permutation(size: int, pair):
    """A permutation of 0 .. size - 1 that depends only on `pair`: the order of random 64-bit
    keys. Not `stateless_shuffle`, which XLA cannot compile (training.jit); every engine and
    setting uses this one, so they draw the same batches."""
    keys = tf.random.stateless_uniform([size], seed=pair, minval=None, maxval=None, dtype=tf.int64)
    return tf.cast(tf.argsort(keys, stable=True), tf.int64)


def balanced_order(pair, rows: int, classes: list[np.ndarray]):
    """`rows` row indices taking the classes in turn (class 0, 1, .., k-1, 0, 1, ..), so
    that every batch of a multiple of k rows holds each class equally, and any batch within one
    row of it. Each class's rows are drawn shuffled without replacement, repeated as often as
    it takes: a small class's rows come back several times an epoch, a large class's are not
    all seen in every epoch (a fresh draw each epoch)."""
    per_class = -(-rows // len(classes))
    draws = []
    for code, members in enumerate(classes):
        pool = np.tile(members.astype(np.int64), -(-per_class // len(members)))
        seed = tf.random.experimental.stateless_fold_in(pair, code)
        draws.append(tf.gather(tf.constant(pool), permutation(len(pool), seed))[:per_class])
    return tf.reshape(tf.transpose(tf.stack(draws)), [-1])[:rows]


def class_rows(y: np.ndarray) -> list[np.ndarray]:
    """Each class's row indices, from class codes or one-hot rows; classes with no training
    rows left out."""
    codes = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else np.asarray(y).reshape(-1).astype(int)
    return [np.flatnonzero(codes == code) for code in np.unique(codes)]


def training_pipeline(x: np.ndarray, y: np.ndarray, weights, batch: int, seed: int, epochs: int,
                      start: int = 0, balanced: bool = False) -> tf.data.Dataset:
    """The batches of epochs start .. epochs - 1, in the order `epoch_order` gives: the graph
    engine's order too. With per-row weights, each batch is (x, y, weight) as Keras expects."""
    arrays = tuple(tensor(a) for a in (x, y, weights) if a is not None)
    rows, shuffle, classes = len(x), batch < len(x), class_rows(y) if balanced else None
    orders = tf.data.Dataset.range(start, epochs).map(lambda epoch: epoch_order(seed, epoch, rows, shuffle, classes))
    batches = orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch))
    return batches.map(lambda indices: tuple(tf.gather(a, indices) for a in arrays)).prefetch(tf.data.AUTOTUNE)


def eval_pipeline(x: np.ndarray, y: np.ndarray, model=None) -> tf.data.Dataset:
    """Rows in their order, EVAL_BATCH at a time (or fewer, for a `model` made under a
    tf.distribute strategy: even_batch): validation passes and final evaluation."""
    replicas = model.distribute_strategy.num_replicas_in_sync if model is not None else 1
    return tf.data.Dataset.from_tensor_slices((tensor(x), tensor(y))).batch(even_batch(len(x), replicas))


def even_batch(rows: int, replicas: int) -> int:
    """EVAL_BATCH, or with several replicas (training.distribute) the most rows up to it that
    split evenly over them. Keras reduces the first batch of every evaluation across the
    replicas to learn its shapes (trainer._maybe_symbolic_build), which fails when their shares
    differ (AddN of [135, 64] and [134, 64]: 269 validation rows of digits on 2 devices); later
    batches may be uneven, down to a replica with no rows."""
    if replicas == 1:
        return EVAL_BATCH
    batch = min(EVAL_BATCH, rows)
    return max(replicas, batch - batch % replicas)
