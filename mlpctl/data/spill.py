"""A streamed data set's rows, transformed once and written as float32 files that every later
pass reads (data.streaming).

Parsing a CSV costs far more than a training step on a small network: reading the file again
for every epoch and every validation pass held streaming to a fifth of in-memory speed, with
Python's reader and TensorFlow taking turns at the cores. So the pass after pass one parses and
transforms each row once, exactly as in memory, and writes it here; the engine then reads the
files with TensorFlow's own file ops, in its threads, without Python (engines/stream.py).

Each split's rows go to files of `file_rows` rows (the last one fewer), in the data file's
order. A row is its inputs, then its outputs (a multiclass label as its class code), then its
weight when the run is weighted, all float32. The folder is the run's own scratch space
(`SPILL_FOLDER` in the run directory), removed when the run ends; a killed run leaves it,
and it is safe to delete.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlpctl.files import unwritable

SPILL_FOLDER = ".rows"


@dataclass
class Spill:
    """Where the rows of each split are, and how a row is laid out."""

    folder: Path
    inputs: int
    outputs: int  # columns of the outputs: 1 for a multiclass code
    weighted: bool
    files: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)  # split: [(path, rows)]

    @property
    def width(self) -> int:
        return self.inputs + self.outputs + int(self.weighted)

    def steps(self, split: str, batch: int) -> int:
        """Batches in one pass over the split: each file's last batch may be short."""
        return sum(-(-rows // batch) for _, rows in self.files[split])


class SplitWriter:
    """Collects a split's rows and writes them `file_rows` at a time."""

    def __init__(self, spill: Spill, split: str, file_rows: int):
        self.spill, self.split, self.file_rows = spill, split, file_rows
        self.pending: list[np.ndarray] = []
        self.held = 0
        spill.files[split] = []

    def add(self, rows: np.ndarray) -> None:
        self.pending.append(rows)
        self.held += len(rows)
        while self.held >= self.file_rows:
            block = np.concatenate(self.pending)
            self._write(block[: self.file_rows])
            rest = block[self.file_rows:]
            self.pending, self.held = ([rest] if len(rest) else []), len(rest)

    def close(self) -> None:
        if self.held:
            self._write(np.concatenate(self.pending))
        self.pending, self.held = [], 0

    def _write(self, block: np.ndarray) -> None:
        path = self.spill.folder / f"{self.split}-{len(self.spill.files[self.split]):06d}.f32"
        try:  # not ndarray.tofile, whose error on a full disk has no errno ("N requested and M written")
            with open(path, "wb") as handle:
                handle.write(np.ascontiguousarray(block, dtype=np.float32).data)
        except OSError as error:
            raise unwritable(path, error) from None
        self.spill.files[self.split].append((path, len(block)))


def packed(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The rows as the files hold them: inputs, outputs, weight."""
    columns = [x, y.reshape(len(y), -1).astype(np.float32)]
    if weights is not None:
        columns.append(np.asarray(weights, dtype=np.float32).reshape(-1, 1))
    return np.concatenate(columns, axis=1)


def write_spill(parts, folder: Path, inputs: int, outputs: int, weighted: bool, splits, file_rows: int) -> Spill:
    """The (split, x, y, weights) parts of one pass over the file, written under `folder`
    (emptied first: a killed run's rows are not this run's)."""
    remove_spill(folder)
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise unwritable(folder, error) from None
    spill = Spill(folder, inputs, outputs, weighted)
    writers = {split: SplitWriter(spill, split, file_rows) for split in splits}
    for split, x, y, weights in parts:
        writers[split].add(packed(x, y, weights))
    for writer in writers.values():
        writer.close()
    return spill


def remove_spill(folder: Path) -> None:
    """A streamed run's spilled rows (.rows/) removed, whatever state they are in."""
    shutil.rmtree(folder, ignore_errors=True)
