"""Exit codes and the errors that map to them: the one place both are defined."""

from enum import IntEnum


class ExitCode(IntEnum):
    COMPLETED = 0
    INTERNAL = 1
    CONFIG = 2  # usage or config error
    DATA = 3
    DIVERGED = 4
    INTERRUPTED = 130


# How a run or a sweep trial ended -> the exit code that reports it.
EXIT_BY_STATUS = {
    "completed": ExitCode.COMPLETED,
    "invalid": ExitCode.CONFIG,
    "data_error": ExitCode.DATA,
    "diverged": ExitCode.DIVERGED,
    "failed": ExitCode.INTERNAL,
    "interrupted": ExitCode.INTERRUPTED,
}


class MlpctlError(Exception):
    """An error the user can fix; the CLI prints its message on one line, without a traceback."""

    exit_code = ExitCode.INTERNAL


class ConfigError(MlpctlError):
    exit_code = ExitCode.CONFIG


class DataError(MlpctlError):
    exit_code = ExitCode.DATA
