"""Exit codes and the errors that map to them: the one place both are defined."""

from enum import IntEnum


class ExitCode(IntEnum):
    """mlpctl's exit codes, the same for every command (README, Errors and exit codes)."""
    COMPLETED = 0
    INTERNAL = 1
    CONFIG = 2  # usage or config error
    DATA = 3
    DIVERGED = 4
    HANGUP = 129  # SIGHUP: the terminal closed, an ssh connection dropped
    # INTERRUPTED and TERMINATED follow; KILLED: a sweep whose trial's process was killed (SIGKILL: the OOM killer)
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    KILLED = 137
    TERMINATED = 143  # SIGTERM: timeout, Slurm, Kubernetes, a CI cancel


# How a run or a sweep trial ended -> the exit code that reports it.
EXIT_BY_STATUS = {
    "completed": ExitCode.COMPLETED,
    "invalid": ExitCode.CONFIG,
    "data_error": ExitCode.DATA,
    "diverged": ExitCode.DIVERGED,
    "failed": ExitCode.INTERNAL,
    "output_error": ExitCode.CONFIG,
    "interrupted": ExitCode.INTERRUPTED,
    "killed": ExitCode.KILLED,
}


class MlpctlError(Exception):
    """An error the user can fix; the CLI prints its message on one line, without a traceback."""

    exit_code = ExitCode.INTERNAL


class ConfigError(MlpctlError):
    """A usage or config problem, or output that cannot be written: exit 2."""
    exit_code = ExitCode.CONFIG


class DataError(MlpctlError):
    """The data, or a file mlpctl reads back, is not what it must be: exit 3."""
    exit_code = ExitCode.DATA


class OutputError(MlpctlError):
    """The output cannot be written: a full disk, a read-only folder, a name too long."""

    exit_code = ExitCode.CONFIG


BY_SIGNAL = {"SIGTERM": ExitCode.TERMINATED, "SIGHUP": ExitCode.HANGUP}  # a stop by any other: INTERRUPTED


def exit_code_of(status: str, signal_name: str | None = None) -> ExitCode:
    """The exit code that reports a run or trial that ended with `status`; an interrupted one
    says by which signal."""
    if status == "interrupted" and signal_name in BY_SIGNAL:
        return BY_SIGNAL[signal_name]
    return EXIT_BY_STATUS.get(status, ExitCode.INTERNAL)


def status_of_error(error: MlpctlError) -> str:
    """The status of a run or trial that one of our errors ended."""
    if isinstance(error, OutputError):
        return "output_error"
    return {ExitCode.CONFIG: "invalid", ExitCode.DATA: "data_error"}.get(error.exit_code, "failed")


def described(error: BaseException) -> str:
    """`TypeName: the first line of its message` (at most 200 characters of it): a foreign
    exception (Keras, matplotlib, Ray) told in one line of ours."""
    first = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {first}"
