"""Who runs a run directory, and whether it still does: the pid, host and start time a running
run records in metrics.json, and how a reader tells `running` from `killed`; and metrics.json read
back with the types its readers rely on (`read_record`)."""

import os
import socket
import time
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlpctl.errors import DataError
from mlpctl.files import JSON_BYTES, read_json, read_regular
from mlpctl.rundir.layout import FILES

HEARTBEAT_SECONDS = 30.0  # how often a running run renews its lock file (rundir.lock)
SILENT_SECONDS = 3 * HEARTBEAT_SECONDS  # longer without a beat: no sign of life
PID_LIMIT = 2**31  # pids are C ints; a bigger one cannot be asked about
Count = Annotated[int, Field(ge=0)]


class Record(BaseModel):
    """The fields of metrics.json that readers (show, compare, predict, resume) use, typed as
    mlpctl writes them; the rest is kept as it is."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)
    status: str = "unknown"
    epochs_run: Count | None = None
    pid: Annotated[int, Field(gt=0, lt=PID_LIMIT)] | None = None
    pid_started: Count | None = None
    host: str | None = None
    duration_s: Annotated[float, Field(ge=0)] | None = None
    rows: dict[str, Count] | None = None
    metrics: dict[str, dict[str, float | None]] | None = None
    notes: list[str] = []


def read_record(path: Path) -> dict:
    """metrics.json as written; a field of the wrong type is a DataError naming the file and the
    field (a missing file is FileNotFoundError)."""
    document = read_json(path)
    try:
        Record.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise DataError(f"{path}: {where}: {first['msg'].lower()}, not {first['input']!r}"[:300]) from None
    return document


def _process_start(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def this_process() -> dict:
    """Who runs a run: pid, host and the process's start time (to tell a reused pid apart)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_started": _process_start(os.getpid())}


def status_of(document: dict) -> str:
    """A run's status as a reader should report it: `killed` for a `running` run whose process
    is gone from this host (kill -9, the OOM killer, a power cut), else the recorded one. On
    another host a running run cannot be checked and stays `running`."""
    status = document.get("status", "unknown")
    if status != "running" or document.get("host") != socket.gethostname():
        return status
    pid = document.get("pid")
    if not isinstance(pid, int):
        return status
    return "running" if _alive(pid, document.get("pid_started")) else "killed"


def describe(document: dict, run_dir: Path | None = None) -> str:
    """`killed after 120 epoch(s) (pid 4242 on host)`, `completed after 300 epoch(s)`, ..."""
    status = status_of(document)
    where = f" (pid {document.get('pid')} on {document.get('host')})" if document.get("status") == "running" else ""
    silent = silent_for(run_dir) if status == "running" and run_dir is not None else None
    if silent is not None and silent > SILENT_SECONDS:
        where += f"; no sign of life for {silent / 60:.0f} minute(s): if it is gone, resume it with --force"
    return f"{status} after {epochs_done(document, run_dir)} epoch(s){where}"


def silent_for(run_dir: Path) -> float | None:
    """Seconds since the run's last heartbeat (its lock file's age); None for a run that has no
    lock file (one made before mlpctl kept one)."""
    try:
        return max(0.0, time.time() - (run_dir / FILES["lock"]).stat().st_mtime)
    except OSError:
        return None


def epochs_done(document: dict, run_dir: Path | None = None) -> int:
    """The epochs a run did. metrics.json says so once the run ended; a run still going, or one
    killed, wrote it at the start (0), so then its history.csv's complete rows count (a row cut
    short by the kill has no newline yet)."""
    if document.get("status") != "running" or run_dir is None:
        return document.get("epochs_run") or 0
    try:
        lines = read_regular(run_dir / FILES["history"], JSON_BYTES).count(b"\n")
    except (FileNotFoundError, DataError):
        return document.get("epochs_run") or 0
    return max(lines - 1, document.get("epochs_run") or 0)  # less the header


def _alive(pid: int, started: int | None) -> bool:
    """Whether `pid` still runs the process that recorded itself: the same start time where one
    was recorded (a pid is reused), else merely a process with that pid."""
    if started is not None:
        return _process_start(pid) == started
    return _pid_exists(pid)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
