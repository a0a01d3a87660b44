"""TensorFlow start-up, in one place: its environment defaults, quiet import, threads, seeding
and the versions a run records.

Importing this module changes nothing. `import_tensorflow` is the one door TensorFlow comes in
by: it sets mlpctl's environment defaults first (TF reads them once, at import), and hides TF's
start-up logs unless asked for them. Every command that trains or predicts goes through it.
"""

import contextlib
import os
import platform
import sys
from pathlib import Path

_NATIVE_LOGS = {"shown": False}  # start_tensorflow's verbose, for native_logs_hidden
ONE_THREAD_WORK = 10_000_000  # weights x rows per training step; below it, one TF thread is fastest
TF_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def tensorflow_environment(verbose: bool = False, onednn: bool = False) -> dict[str, str]:
    """The environment defaults mlpctl sets before TensorFlow is imported; a user's own value wins.

    oneDNN off unless asked for (`onednn`: XLA on big steps, engines.wants_onednn): its kernels
    cost more than they give on MLP-sized matrices on CPU otherwise (the first call into a
    training graph is ~0.1 s shorter, small epochs are faster; bench/README.md);
    TF_ENABLE_ONEDNN_OPTS=1 brings them back. XLA's compiled programs are kept in a per-user
    folder (xla_cache_folder), so that the same shapes are not compiled again by a later run.
    Unless verbose, TF's C++ INFO and WARNING lines are hidden."""
    defaults = {"TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0"}
    cache = xla_cache_folder()
    if cache and not set(cache) & set("\"'\n"):  # XLA splits its flags at spaces, except inside quotes
        defaults["TF_XLA_FLAGS"] = f'--tf_xla_persistent_cache_directory="{cache}"'
    if not verbose:
        defaults["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return defaults


def xla_cache_folder() -> str | None:
    """Where XLA keeps compiled training programs between runs: a folder per kind of machine in
    MLPCTL_XLA_CACHE (a folder, or off), else in $XDG_CACHE_HOME/mlpctl/xla (~/.cache/mlpctl/xla).
    TF creates it when it first compiles; each program is a file of a few hundred KB, and the
    folder may be deleted any time.

    Per machine because a program is machine code for the CPU that compiled it: a home folder
    shared by cluster nodes of different CPUs would hand one node another's code (XLA warns that
    it could die of an illegal instruction)."""
    chosen = os.environ.get("MLPCTL_XLA_CACHE", "")
    if chosen.lower() in ("off", "0", "false", "no"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(chosen or os.path.join(base, "mlpctl", "xla"), machine_kind())


CACHE_MB = 1024  # the XLA cache's default cap (MLPCTL_XLA_CACHE_MB), pruned oldest first when TF starts


def cache_cap() -> int:
    """The XLA cache's cap in bytes: MLPCTL_XLA_CACHE_MB, else CACHE_MB."""
    try:
        return max(0, int(float(os.environ.get("MLPCTL_XLA_CACHE_MB", CACHE_MB)) * 2**20))
    except ValueError:
        return CACHE_MB * 2**20


def prune_cache(folder: Path, cap: int) -> int:
    """Files of `folder` deleted, the least recently written first, until what is left is at most
    three quarters of `cap` bytes (so that it is not pruned again at every start); returns how
    many. A file another process removes meanwhile, or cannot be removed, is passed over: the
    cache is only a cache."""
    files: list[tuple[float, int, Path]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):  # gone meanwhile: passed over
                    if entry.is_file():
                        info = entry.stat()
                        files.append((info.st_mtime, info.st_size, Path(entry.path)))
    except OSError:
        return 0
    total = sum(size for _, size, _ in files)
    if total <= cap:
        return 0
    removed = 0
    for _, size, program in sorted(files, key=lambda item: item[0]):
        if total <= cap * 3 // 4:
            break
        with contextlib.suppress(OSError):
            program.unlink()
            total -= size
            removed += 1
    return removed


def machine_kind() -> str:
    """A short name for this CPU and TensorFlow: the architecture, and a digest of the CPU's
    instruction-set flags and TF's version."""
    import hashlib
    from importlib import metadata

    flags = ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith(("flags", "Features"))), "")
    try:
        tensorflow = metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        tensorflow = "none"
    digest = hashlib.sha256(f"{flags}|{platform.processor()}|{tensorflow}".encode()).hexdigest()[:12]
    return f"{platform.machine() or 'cpu'}-{digest}"


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True):
    """Send file descriptor 2 to /dev/null for a while.

    TensorFlow's C++ start-up logs bypass Python and ignore TF_CPP_MIN_LOG_LEVEL since 2.19
    (tensorflow/tensorflow#100442), so the only way to hide them is below Python.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def native_logs_hidden():
    """native_stderr_silenced unless TF was started verbose: around calls where TF's C++ side
    logs without asking Python, such as XLA loading a program from its cache (E-lines about
    text-format parsing and CPU features, on every run that finds one)."""
    return native_stderr_silenced(enabled=not _NATIVE_LOGS["shown"])


def import_tensorflow(verbose: bool = False, onednn: bool = False):
    """Import TensorFlow and Keras (the slow part, ~5 s) without starting TF; returns `tensorflow`.
    The environment (tensorflow_environment) counts only before the first import."""
    for name, value in tensorflow_environment(verbose, onednn).items():
        os.environ.setdefault(name, value)
    cache = xla_cache_folder()
    if cache and "tensorflow" not in sys.modules:
        prune_cache(Path(cache), cache_cap())
    with native_stderr_silenced(enabled=not verbose):
        import keras  # noqa: F401 - imported here, quietly, so that later imports are silent
        import tensorflow

    return tensorflow


def start_tensorflow(verbose: bool = False, threads: int | None = None, onednn: bool = False,
                     cpu_devices: int | None = None) -> None:
    """Import TF and touch its devices once, so that its one-time start-up logging happens here,
    where it is silenced, and not in the middle of the progress display. Unless verbose, TF's
    Python-side warnings (e.g. about retracing when one process trains many models) go too.

    `threads` caps TF's thread pools before they exist; once TF has started (an earlier run in
    this process) they stay as they are. They change the speed; the numbers were bit-identical
    across thread counts on every problem in bench/. `cpu_devices`: split the CPU into this many
    logical devices where there is no GPU (training.distribute: mirrored), likewise only before
    TF has started."""
    tf = import_tensorflow(verbose, onednn)
    _NATIVE_LOGS["shown"] = verbose
    with native_stderr_silenced(enabled=not verbose):
        try:
            if threads:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            if cpu_devices and not tf.config.list_physical_devices("GPU"):
                tf.config.set_logical_device_configuration(
                    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        except RuntimeError:  # "cannot be modified after initialization"
            pass
        tf.config.list_logical_devices()
    if not verbose:
        tf.get_logger().setLevel("ERROR")


def mirrored_strategy():
    """tf.distribute.MirroredStrategy over every GPU, else over the CPU's logical devices
    (start_tensorflow's `cpu_devices`)."""
    import tensorflow as tf

    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    with native_logs_hidden():
        return tf.distribute.MirroredStrategy([device.name for device in devices])


def tf_threads(step_work: int, cores: int | None = None) -> int | None:
    """1 when each training step is small (`step_work` = weights x rows per step), else `cores`
    (None: TF's default, one per core).

    A small step's ops take microseconds, and handing them between TF's threads costs more than
    a second core gives: the digits net's epoch takes 6 ms on one thread and 11 ms on two
    (bench/README.md). Bigger steps get the cores, which they can use. TF's own
    TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, when set, win."""
    if any(name in os.environ for name in TF_THREAD_VARIABLES):
        return None
    return 1 if step_work < ONE_THREAD_WORK else cores


def seed_everything(seed: int) -> None:
    """Same config and seed, same numbers: seeds Python, NumPy and TF, and makes TF ops
    deterministic (some CPU reductions are otherwise free to change summation order)."""
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def versions() -> dict[str, str]:
    """What a run's numbers depend on, for metrics.json."""
    tf = import_tensorflow()
    import keras
    import numpy as np

    import mlpctl

    return {
        "mlpctl": mlpctl.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "tf_onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "tf_threads": str(tf.config.threading.get_intra_op_parallelism_threads() or "default"),
    }
