"""Ctrl-C, SIGTERM and SIGHUP, as one kind of stop.

`timeout`, Slurm, Kubernetes and CI cancel a job with SIGTERM; a person presses Ctrl-C (SIGINT);
a closed terminal or a dropped ssh connection sends SIGHUP.
While `stop_signals_handled()` is active each raises `Stopped` (a KeyboardInterrupt, so every
place that already lets Ctrl-C end training cleanly handles SIGTERM the same way), which names
the signal. `deferred()` holds a stop back while a run's essential files are written, so that a
second Ctrl-C cannot cut them in half; `polled()` takes a stop only where the code calls
`check()`, which also raises a stop that was lost (see there).
Nothing changes at import.
"""

import contextlib
import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; `signal_name` says which (SIGINT, SIGTERM or SIGHUP)."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


class _State:
    received: str | None = None  # the first stop signal of this process
    deferring: bool = False
    pending: str | None = None
    polling: bool = False


def received() -> str | None:
    """The name of the first stop signal this process got while handling them, if any."""
    return _State.received


def signal_of(error: BaseException) -> str:
    """The stop signal behind a KeyboardInterrupt (plain ones are Ctrl-C's)."""
    return getattr(error, "signal_name", None) or _State.received or "SIGINT"


def check() -> None:
    """Raise the stop signal that arrived, if one did. For the places where a run that has not
    been stopped goes on: the training loops between steps, the wrap-up of a run that was not
    interrupted (a run that caught its stop must not be stopped by it twice).

    A signal's handler runs wherever Python happens to be, and an exception raised inside a
    finalizer (`__del__`: TensorFlow's garbage collection of traced functions runs them at any
    moment) is printed as "Exception ignored" and lost. Without this, such a SIGTERM let the run
    go on to its last epoch and exit 0."""
    if _State.received and not _State.deferring:
        raise Stopped(_State.received)


def _on_stop(signum, frame) -> None:
    name = signal.Signals(signum).name
    _State.received = _State.received or name
    if _State.polling:
        return  # taken where the code calls check()
    if _State.deferring:
        _State.pending = _State.pending or name
        return
    raise Stopped(name)


@contextlib.contextmanager
def stop_signals_handled():
    """SIGINT, SIGTERM and SIGHUP raise Stopped in the main thread while inside; the previous handlers
    come back after. Elsewhere than the main thread this does nothing (Python allows handlers
    only there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.received = _State.pending = None  # a stop belongs to the command it stopped
    previous = {number: signal.signal(number, _on_stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def polled():
    """Inside, a stop signal is only noted, and raised where the code asks (`check()`: the
    engines between chunks of epochs, epochs or iterations), never at whatever bytecode Python
    happens to be on. TensorFlow's Python wrappers around its C++ are not safe to leave at an
    arbitrary point: an exception raised in them as a SIGTERM arrived under XLA left its state
    half released, and about 5 stops in 100 crashed on the way out (exit 134, glibc's
    `free(): invalid pointer`) with the run left `running` and no model (bench/stops.py)."""
    if _State.polling:
        yield
        return
    _State.polling = True
    try:
        yield
    finally:
        _State.polling = False


@contextlib.contextmanager
def deferred():
    """Inside, a stop signal is only noted; it is raised as Stopped once the block is done."""
    if _State.deferring:
        yield
        return
    _State.deferring = True
    try:
        yield
    finally:
        _State.deferring = False
        pending, _State.pending = _State.pending, None
        if pending:
            raise Stopped(pending)
