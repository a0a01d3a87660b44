"""One process at a time in a run directory: a lock the kernel releases when the process dies,
and a heartbeat that tells a reader on another host whether the run still shows signs of life.

The lock is `flock` on `.lock` in the run directory, held from the moment the directory is made
(or a resume starts) until the run's files are written; a second `train --resume` of the same
run (a retried CI job, a scheduler's requeue) finds it held and is refused. While it is held, a
thread touches the lock file every HEARTBEAT_SECONDS: its age is the run's "last sign of life"
(`states.silent_for`), which is all a reader on another host can know.
"""

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from mlpctl.errors import ConfigError, OutputError
from mlpctl.rundir.layout import FILES
from mlpctl.rundir.states import HEARTBEAT_SECONDS


@contextlib.contextmanager
def held(run_dir: Path) -> Iterator[None]:
    """The run directory's lock for the time of the block, with its heartbeat; ConfigError
    (exit 2) when another process holds it."""
    path = run_dir / FILES["lock"]
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise OutputError(f"{path}: cannot be written ({error.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"{run_dir}: still running: another process holds its lock ({path.name})") from None
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(fd, stop), name="mlpctl-heartbeat", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        os.close(fd)  # releases the lock


def is_held(run_dir: Path) -> bool:
    """Whether a process (this one included) holds the run directory's lock now."""
    try:
        fd = os.open(run_dir / FILES["lock"], os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _heartbeat(fd: int, stop: threading.Event) -> None:
    """The lock file's modification time, renewed until `stop`; a full disk does not stop a run."""
    while True:
        with contextlib.suppress(OSError):
            os.utime(fd)
        if stop.wait(HEARTBEAT_SECONDS):
            return
