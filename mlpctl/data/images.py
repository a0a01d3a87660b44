"""Image sets as Keras keeps them (`data.source: mnist | fashion_mnist`), read with NumPy alone:
no TensorFlow, no network. The files are the ones `keras.datasets` downloads into its cache;
when one is missing, the error says where to get it and where to put it.

Each 28x28 image becomes 784 inputs `pixel_0` .. `pixel_783` (row by row) scaled to [0, 1] (the
byte divided by 255), and the set's own test images are the test split.
"""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from mlpctl.errors import DataError
from mlpctl.files import DAMAGED_NPZ

SIDE = 28
PIXELS = [f"pixel_{index}" for index in range(SIDE * SIDE)]
CACHE = Path("~/.keras/datasets")
# source -> (Keras' cache file or folder, where Keras downloads it from)
KERAS_FILES = {
    "mnist": ("mnist.npz", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"),
    "fashion_mnist": ("fashion-mnist", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/ "
                                       "(train-images-idx3-ubyte.gz and its three siblings)"),
}
FASHION = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
           "t10k-images-idx3-ubyte.gz")


def default_path(source: str) -> Path:
    """Where keras.datasets keeps an image set's file (~/.keras/datasets)."""
    return (CACHE / KERAS_FILES[source][0]).expanduser()


def read_images(source: str, path: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) as uint8 images and integer labels."""
    path = path or default_path(source)
    if not path.exists():
        _, url = KERAS_FILES[source]
        raise DataError(f"data.path: {source} needs {path}, which is not there; download {url} on a machine with "
                        f"network and put it at {default_path(source)} (where keras.datasets keeps it), or set "
                        f"data.path to your copy")
    try:
        if path.is_dir():
            x_train, y_train, x_test, y_test = (_idx(path / name)
                                                for name in (FASHION[1], FASHION[0], FASHION[3], FASHION[2]))
            return x_train, y_train, x_test, y_test
        with np.load(path, allow_pickle=False) as arrays:
            x_train, y_train, x_test, y_test = (np.asarray(arrays[key])
                                                for key in ("x_train", "y_train", "x_test", "y_test"))
            return x_train, y_train, x_test, y_test
    except (*DAMAGED_NPZ, KeyError) as error:
        raise DataError(f"data.path: {path} is not {source} as keras.datasets keeps it "
                        f"(x_train, y_train, x_test, y_test): {str(error)[:200]}") from None


def _idx(path: Path) -> np.ndarray:
    """An IDX file (gzip): images after a 16-byte header, labels after an 8-byte one."""
    data = gzip.open(path).read()
    if "images" in path.name:
        return np.frombuffer(data, np.uint8, offset=16).reshape(-1, SIDE, SIDE)
    return np.frombuffer(data, np.uint8, offset=8)


def image_frame(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per image: its pixels in [0, 1], then `label`."""
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE) or len(images) != len(labels):
        raise DataError(f"data.path: expected {SIDE}x{SIDE} images and one label each, got images of shape "
                        f"{images.shape} and {len(labels)} labels")
    frame = pd.DataFrame(images.reshape(len(images), -1).astype(np.float32) / 255.0, columns=PIXELS)
    frame["label"] = labels.astype(np.int64)
    return frame


def read_image_set(source: str, path: Path | None) -> tuple[pd.DataFrame, int]:
    """The training images, then the test images, in one frame; and how many are training images."""
    x_train, y_train, x_test, y_test = read_images(source, path)
    train, test = image_frame(x_train, y_train), image_frame(x_test, y_test)
    return pd.concat([train, test], ignore_index=True), len(train)
