"""Checkpoints: what an engine needs to go on from an epoch as if it had never stopped.

One file, checkpoint.npz, written atomically (the previous one stays whole until the new one
is): every variable of the model (dropout's and noise's random state included) and of the
optimizer, the engine's own state (early stopping, plateau), the history so far, and a digest
of the data file. The batch order needs nothing: it depends only on (seed, epoch).
"""

import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlpctl import signals
from mlpctl.errors import DataError
from mlpctl.files import DAMAGED_NPZ, atomic_write
from mlpctl.rundir.layout import FILES

FILE = FILES["checkpoint"]


@dataclass
class Saved:
    """A checkpoint read back: the epochs done, the history, every variable's array and the engine's state."""
    epoch: int  # epochs done
    history: list[dict]
    arrays: list[np.ndarray]  # in the order the engine gave them
    state: dict = field(default_factory=dict)  # the engine's other state, as JSON
    duration_s: float = 0.0  # training seconds up to the checkpoint
    data_digest: str = ""
    config: dict | None = None  # the resolved config it was trained with (None: written before it was kept)


def digest(path: Path) -> str:
    """sha256 of a data file: a resumed run must read the very same rows."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def load(path: Path) -> Saved:
    """checkpoint.npz read back; a cut or damaged file is a DataError naming it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            arrays = [archive[f"a{index}"] for index in range(meta["arrays"])]
        return Saved(meta["epoch"], meta["history"], arrays, meta["state"], meta["duration_s"], meta["data_digest"],
                     meta.get("config"))
    except (*DAMAGED_NPZ, KeyError, TypeError) as error:
        raise DataError(f"{path}: cannot be read as a checkpoint ({type(error).__name__}: {error})") from None


class Checkpoints:
    """When an engine writes a checkpoint (training.checkpoint), writing it, and the one a
    resumed run starts from (`resume`)."""

    def __init__(self, path: Path | None, every_epochs: int | None, every_seconds: float | None,
                 resume: Saved | None = None, data_digest: str = "", clock=time.monotonic, config: dict | None = None):
        self.path, self.every_epochs, self.every_seconds = path, every_epochs, every_seconds
        self.resume, self.data_digest, self.clock, self.config = resume, data_digest, clock, config
        self.last = clock()
        self.started = clock()
        self.saved_epoch = resume.epoch if resume else 0  # the epoch the checkpoint on disk is at

    @property
    def start_epoch(self) -> int:
        return self.resume.epoch if self.resume else 0

    def epochs_to_next(self, done: int) -> int | None:
        """Epochs until the next checkpoint by count, so that the graph engine ends a chunk there."""
        return self.every_epochs - done % self.every_epochs if self.path and self.every_epochs else None

    def due(self, done: int) -> bool:
        """Whether a periodic checkpoint is due after epoch `done` (training.checkpoint)."""
        if self.path is None:
            return False
        by_count = bool(self.every_epochs) and done % (self.every_epochs or 1) == 0
        by_time = bool(self.every_seconds) and self.clock() - self.last >= self.every_seconds
        return by_count or by_time

    def save(self, done: int, history: list[dict], arrays: list, state: dict | None = None) -> None:
        """checkpoint.npz for the epochs done: the arrays, the engine's state and the history, written atomically."""
        previous = self.resume.duration_s if self.resume else 0.0
        meta = {"epoch": done, "history": history, "arrays": len(arrays), "state": state or {},
                "duration_s": previous + self.clock() - self.started, "data_digest": self.data_digest,
                "config": self.config}
        buffer = io.BytesIO()
        assert self.path is not None, "only a run that writes checkpoints saves one"
        members: dict[str, Any] = {"meta": np.array(json.dumps(meta)),
                                   **{f"a{i}": np.asarray(a) for i, a in enumerate(arrays)}}
        np.savez(buffer, **members)
        atomic_write(self.path, buffer.getvalue())
        self.last, self.saved_epoch = self.clock(), done

    def take_stop(self, done: int, save: Callable[[int], None], ended: bool = False) -> None:
        """Where an engine takes a graceful stop (Ctrl-C, SIGTERM, SIGHUP), at the boundary after
        epoch `done` (`signals.check`). A stop that came is raised after `save(done)` has written
        the checkpoint there, so --resume goes on from exactly where the run stopped; not when
        training ends there anyway (`ended`: the last epoch, an early stop, where a resumed run
        would not stop as this one did), checkpoints are off, or the one on disk is that epoch's."""
        try:
            signals.check()
        except KeyboardInterrupt:
            if not ended and self.path is not None and done > self.saved_epoch:
                save(done)
            raise


def values(variables) -> list[np.ndarray]:
    """The arrays of `variables`, copied out of TensorFlow."""
    return [np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable) for variable in variables]


def restore(variables, arrays: list[np.ndarray]) -> None:
    """Assign saved values to variables, in order; the same config builds the same variables."""
    if len(variables) != len(arrays):
        raise DataError(f"the checkpoint holds {len(arrays)} arrays, the model and optimizer have {len(variables)}: "
                        f"not a checkpoint of this run's config")
    for variable, array in zip(variables, arrays):
        variable.assign(array)
