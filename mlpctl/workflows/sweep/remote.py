"""Trials as Ray tasks (`--executor ray`): the same trial function the worker pool runs, on a
local Ray or a cluster. Ray is an optional extra (`pip install 'mlpctl[ray]'`), imported only
here and only when asked for.

Ray Core tasks, not Ray Tune: Ray reuses its worker processes, so TensorFlow is imported once
per worker, and every trial is an ordinary run directory in the sweep directory, which the
driver alone indexes in sweep.json as the pool does. Results are collected with `ray.wait` as
they finish; closing the generator (fail-fast, Ctrl-C) cancels the tasks not yet done.
"""

import io
import os
import selectors
import socket
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpctl.errors import ConfigError, described
from mlpctl.signals import stop_signals_handled

CONNECT_SECONDS = 30.0  # a head that does not answer by then is reported, not waited for forever
IMPORT_SECONDS = 120.0  # for the connection's own process to import Ray (not counted in CONNECT_SECONDS)


@dataclass
class RaySettings:
    """How the trials run on Ray (--executor ray): the cluster, each trial's resources, collection."""
    address: str | None  # None: a Ray of our own on this machine, ended with the sweep
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    collect: bool = False  # send each run directory back to the driver (no shared storage)
    in_flight: int | None = None  # trials submitted at once; None: all, Ray schedules them


def ray_settings(executor: str, address: str | None, cpus: float, gpus: float, collect: bool,
                 in_flight: int | None) -> RaySettings | None:
    """The Ray settings with executor `ray`; without it, a Ray option given is a usage error."""
    if executor == "ray":
        return RaySettings(address, cpus, gpus, collect, in_flight)
    if address or collect or cpus != 1.0 or gpus:
        raise ConfigError("--address, --collect, --cpus-per-trial and --gpus-per-trial are for --executor ray")
    return None


def import_ray():
    """Ray, its own C++ log lines kept to errors (set, like TensorFlow's, only once the command
    has asked for it, and only where the user has not set them)."""
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'mlpctl[ray]'") from None
    return ray


def check_output_dir(settings: RaySettings, output_dir: Path) -> None:
    """On a cluster a relative folder would be relative to each node's Ray working directory,
    which Ray deletes with the session: refuse it."""
    if settings.address is not None and not settings.collect and not output_dir.is_absolute():
        raise ConfigError(f"--output-dir {output_dir}: with --address the sweep directory must be an absolute path "
                          f"on storage every node reaches (or add --collect)")


def connect(ray, settings: RaySettings) -> bool:
    """Connect to the cluster (or start a local Ray); True when this process started Ray and
    must shut it down. A `host:port` that does not accept a connection within CONNECT_SECONDS
    is reported at once: Ray itself would retry for minutes. An address is tried first in a
    process of its own (`try_address`), so that one Ray keeps retrying (a gRPC port that is not
    a Ray head's, a tunnel to nowhere) costs CONNECT_SECONDS, one line, and a Ctrl-C that works."""
    if ray.is_initialized():
        return False
    if settings.address not in (None, "auto"):
        probe(settings.address)
    if settings.address is not None:
        try_address(settings.address)
    try:
        ray.init(address=settings.address, log_to_driver=False, logging_level="ERROR",
                 **({"include_dashboard": False} if settings.address is None else {}))
    except Exception as error:  # noqa: BLE001 - whatever Ray raises, the user's fix is the address or token
        raise ConfigError(f"--address {settings.address or '(local)'}: cannot connect to Ray: {described(error)}; "
                          f"check the address, that the head node is up, and Ray's token (RAY_AUTH_TOKEN)") from None
    return settings.address is None


TRY_ADDRESS = """
import os, sys
os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
import ray
print("imported", flush=True)
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
ray.shutdown()
"""


def try_address(address: str) -> None:
    """ray.init(address) in a child process, given CONNECT_SECONDS to connect once it has
    imported Ray: its C++ retries and warnings stay there, a Ctrl-C here ends it, and its
    failure comes back as one line."""
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen([sys.executable, "-c", TRY_ADDRESS, address], stdout=subprocess.PIPE,
                                 stderr=errors, stdin=subprocess.DEVNULL, text=True)
        assert child.stdout is not None
        try:
            with stop_signals_handled(), selectors.DefaultSelector() as selector:  # a Ctrl-C ends the wait
                selector.register(child.stdout, selectors.EVENT_READ)
                selector.select(IMPORT_SECONDS)  # "imported", or the end of a child that failed first
                child.wait(CONNECT_SECONDS)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"--address {address}: no Ray head answered within {CONNECT_SECONDS:.0f} s (the "
                              f"port speaks gRPC, but Ray cannot connect through it); check the address, or the "
                              f"tunnel") from None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        errors.seek(0)
        lines = [line for line in errors.read().splitlines() if line.strip() and not line.startswith((" ", "["))]
    if child.returncode != 0:
        cause = lines[-1][:300] if lines else f"exit code {child.returncode}"
        raise ConfigError(f"--address {address}: cannot connect to Ray: {cause}; check the address, that the head "
                          f"node is up, and Ray's token (RAY_AUTH_TOKEN)")


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + an empty SETTINGS


def probe(address: str) -> None:
    """`host:port` (or `ray://host:port`) answers within CONNECT_SECONDS as a Ray head does:
    its GCS is a gRPC server, which answers HTTP/2's connection preface with a SETTINGS frame.
    A port that accepts the connection but speaks something else (a web server, a database)
    would keep ray.init retrying for minutes. Not checked with RAY_USE_TLS (the head expects TLS
    first)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        connection = socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS)
    except ValueError:
        raise ConfigError(f"--address {address}: expected auto or HOST:PORT, e.g. 10.0.0.5:6379") from None
    except OSError as error:
        raise ConfigError(f"--address {address}: no Ray head answered ({error.strerror or error}); check the address "
                          f"and that the head node is up and reachable") from None
    if address.startswith("ray://") or os.environ.get("RAY_USE_TLS", "0") not in ("0", ""):
        connection.close()
        return
    with connection:
        try:
            connection.sendall(HTTP2_PREFACE)
            answer = connection.recv(9)
        except OSError:
            answer = b""
    if len(answer) < 4 or answer[3] != 4:  # a frame header whose type is SETTINGS
        raise ConfigError(f"--address {address}: something answered, but not a Ray head (its GCS port, 6379 by "
                          f"default, speaks gRPC); check the port")


def run_in_ray(tasks: list, run_trial, settings: RaySettings, sweep_dir: Path):
    """(key, result) for each task as it finishes, each task `run_trial(task)` as a Ray task;
    `task[-2]` is the trial's key. Closing the generator cancels what has not finished."""
    ray = import_ray()
    started_here = connect(ray, settings)  # False when the command connected first
    env = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"} if settings.gpus_per_trial else {}
    remote = ray.remote(num_cpus=settings.cpus_per_trial, num_gpus=settings.gpus_per_trial, max_retries=0,
                        runtime_env={"env_vars": env} if env else None)(trial_on_a_node)
    waiting, running = list(tasks), dict[Any, Any]()
    try:
        while waiting or running:
            while waiting and (settings.in_flight is None or len(running) < settings.in_flight):
                task = waiting.pop(0)
                running[remote.remote(run_trial, task, settings.collect)] = task
            done, _ = ray.wait(list(running), num_returns=1)
            task = running.pop(done[0])
            yield _outcome(ray, done[0], task, sweep_dir)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def _outcome(ray, ref, task, sweep_dir: Path) -> tuple[str, dict]:
    try:
        key, result, archive = ray.get(ref)
    except Exception as error:  # noqa: BLE001 - the task died (its worker was killed, the node lost)
        killed = type(error).__name__ == "OutOfMemoryError"  # Ray's memory monitor ended the task
        return task[-2], {"status": "killed" if killed else "failed", "error": f"Ray task failed: {described(error)}"}
    if archive and result.get("run_dir") and not (sweep_dir / result["run_dir"]).exists():
        unpack(archive, sweep_dir)
    return key, result


def trial_on_a_node(run_trial, task, collect: bool) -> tuple[str, dict, bytes | None]:
    """What a Ray task runs: the trial, its data error naming the node (data must be at the same
    path on every node), and with `collect` its run directory packed for the driver."""
    key, result = run_trial(task)
    if result.get("status") == "data_error":
        result["error"] = f"{result['error']} (on node {socket.gethostname()})"
    archive = None
    if collect and result.get("run_dir"):
        archive = pack(Path(task[2]) / result["run_dir"])
    return key, result, archive


def pack(run_dir: Path) -> bytes:
    """A trial's run directory as tar.gz bytes, sent back from a node (--collect)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(run_dir, arcname=run_dir.name)
    return buffer.getvalue()


def unpack(archive: bytes, sweep_dir: Path) -> None:
    """A run directory sent back by a node, into the sweep directory (nothing outside it)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as packed:
        packed.extractall(sweep_dir, filter="data")
