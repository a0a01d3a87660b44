"""Writing files so that a reader never sees half of one, and naming new directories.

Every file mlpctl writes goes through `atomic_write`: the bytes go to a temporary file beside the
target, which is then renamed over it, so a crash leaves the old file or the new one, never a
mix. Nothing here reads or changes process state (the umask included) at import.
"""

import contextlib
import json
import os
import secrets
import stat
import sys
import tokenize
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

from mlpctl.errors import DataError, MlpctlError, OutputError

NEW_FILE_MODE = 0o666  # as open() asks for it; the kernel takes the umask off
JSON_BYTES = 256 * 2**20  # metrics.json is kilobytes; a 100,000-trial sweep.json tens of MB
# What NumPy raises reading a cut, empty or damaged .npz (a zip of arrays) or a gzip file, besides
# OSError and ValueError: a checkpoint or mnist.npz cut short was exit 1 (BadZipFile, EOFError), and
# an array's header is parsed with ast.literal_eval (SyntaxError, tokenize's TokenError)
DAMAGED_NPZ = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError, tokenize.TokenError,
               NotImplementedError, RuntimeError)  # zipfile: a compression method or encryption flag made up


def safe_name(text: str, default: str) -> str:
    """ASCII letters, digits, '.', '_' and '-' only, for file, directory and run names."""
    name = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "._-" else "-" for ch in text).strip("-._")
    return name[:100] or default


def create_run_dir(output_dir: Path, name: str, now: datetime | None = None, timestamped: bool = True) -> Path:
    """`<output_dir>/<name>-<YYYYmmdd-HHMMSS>` (or `<name>`), with -2, -3, ... if taken.
    Never reuses a directory."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--output-dir: cannot create {output_dir}: {exc.strerror}") from None
    stem = f"{name}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}" if timestamped else name
    for attempt in range(1, 1000):
        run_dir = output_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            run_dir.mkdir()  # atomic: fails if another run took the name first
            return run_dir
        except FileExistsError:
            continue
        except OSError as exc:  # read-only, full, or a name too long for the file system
            raise OutputError(f"cannot create {run_dir}: {exc.strerror}") from None
    raise RuntimeError(f"no free run directory name for {stem} in {output_dir}")


def temporary_name(path: Path, suffix: str = ".tmp") -> Path:
    """A name for a temporary file next to `path`, hidden by a leading dot."""
    return path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"


def create_new(path: Path) -> None:
    """An empty file at `path`, which must not exist: O_EXCL, and mode 0666 as `open()` would
    create it, so it gets the umask's permissions without the umask being read (tempfile.mkstemp
    would give 0600)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE))


def unwritable(path: Path, error: OSError) -> OutputError:
    """The one-line error for a file system that refuses to write `path`."""
    return OutputError(f"cannot write {path}: {error.strerror or error}")


def replace_atomically(path: Path, write, suffix: str = ".tmp") -> None:
    """`write(temporary)` makes the file at a new temporary path beside `path`, which then
    replaces `path`: all or nothing, and the temporary file never outlives a failure. A file
    system that refuses (full, read-only, a name too long) is an OutputError naming the file."""
    temporary = None
    try:
        while temporary is None:
            temporary = temporary_name(path, suffix)  # named before it exists: a stop from here on leaves nothing
            try:
                create_new(temporary)
            except FileExistsError:  # another's (8 random hex digits alike): not ours to remove
                temporary = None
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise unwritable(path, error) from None
    except BaseException:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: str | bytes) -> None:
    """`data` at `path`, all or nothing (`replace_atomically`)."""
    payload = data if isinstance(data, bytes) else data.encode("utf-8")
    replace_atomically(path, lambda temporary: temporary.write_bytes(payload))


def write_json(path: Path, document: dict) -> None:
    """A JSON document written atomically (temporary file, then rename)."""
    atomic_write(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def write_stdout(data: str | bytes) -> None:
    """What a script asked for (`--json`, `show`, `predict -o -`) on stdout, flushed now. A full
    disk or a closed pipe behind it is an OutputError naming stdout (exit 2), not an internal error
    at exit; stdout is then put on /dev/null, so that Python's own flush at exit does not fail
    again with the bytes still held."""
    try:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
    except OSError as error:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise OutputError(f"stdout: cannot be written ({error.strerror or error})") from None


def read_regular(path: Path, limit: int, error: type[MlpctlError] = DataError) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is `error` naming it.

    A device (/dev/zero, or a link to it) would be read until memory runs out and a FIFO would
    hang, so the file is opened without blocking and refused unless it is a regular file; the
    read stops one byte past `limit`. A missing file is FileNotFoundError, for the caller to word."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as failure:
        raise error(f"{path}: cannot be read ({failure.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{path}: not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: over {limit:,} bytes, too big for what mlpctl writes or reads here")
    return data


def read_json(path: Path, limit: int = JSON_BYTES) -> dict:
    """A JSON document mlpctl wrote (metrics.json, sweep.json, ...). One that is damaged or was
    edited into something else, or is not a regular file, is a DataError naming the file; a
    missing one is FileNotFoundError."""
    try:
        document = json.loads(read_regular(path, limit).decode("utf-8"))
    except (FileNotFoundError, DataError):
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DataError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(document, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


LATEST = "latest"


def point_latest(run_dir: Path) -> None:
    """`<output_dir>/latest` -> this run directory, replaced atomically: a relative symbolic
    link, or, where the file system has none, a file holding the run directory's path.
    Raises OutputError if neither can be written."""
    link = run_dir.parent / LATEST
    if link.is_file() and not link.is_symlink() and follow_latest(link) == link:
        raise OutputError(f"{link}: not one mlpctl wrote (a file of yours?): left as it is, not pointed at this run")
    temporary = link.parent / f".{LATEST}.{secrets.token_hex(4)}.tmp"
    try:
        os.symlink(run_dir.name, temporary)
    except OSError:
        atomic_write(link, f"{run_dir.resolve()}\n")
        return
    try:
        os.replace(temporary, link)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise unwritable(link, error) from None


def follow_latest(path: Path) -> Path:
    """A run directory as a command was given it: `latest` as `point_latest` writes it where the
    file system has no links (a file holding the run directory's path) is the run it names, so
    every command that takes a run directory follows it; any other path is returned as it is."""
    if path.name != LATEST or path.is_symlink() or not path.is_file():
        return path
    try:
        named = Path(read_regular(path, 4096).decode("utf-8").strip())
    except (OSError, UnicodeDecodeError, MlpctlError):
        return path
    return named if named.is_absolute() and named.is_dir() and named.parent == path.parent.resolve() else path
