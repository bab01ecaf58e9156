"""The one exception tree of loadgate, with the exit code each error ends a run with.

Every error a user can cause or meet is a :class:`LoadgateError`; entry points catch the
root, print its message once and exit with its ``exit_code``::

    LoadgateError (2)                  anything loadgate refuses or cannot do
    ├── ConfigError (2)                scenarios.yaml: syntax, unknown keys, bad values
    ├── AuthError (2)                  Cognito sign-in refused or impossible
    ├── TargetError (2)                the target host is refused or unreachable
    ├── InputDataError (2)             results that are missing, truncated or not a run
    ├── ReportError (2)                a report could not be written
    └── SandboxError (2)               the local sandbox could not start or stop

Exit code 1 is not an error: it means the run finished and a threshold failed
(see :mod:`reporting.verdicts`). Exit code 0 means every threshold passed. Exit code
130 means the command was interrupted (Ctrl-C, SIGTERM, SIGHUP).
"""

from __future__ import annotations

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_THRESHOLD_FAILED",
    "AuthError",
    "ConfigError",
    "InputDataError",
    "LoadgateError",
    "ReportError",
    "SandboxError",
    "TargetError",
]

EXIT_OK = 0
EXIT_THRESHOLD_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class LoadgateError(Exception):
    """Root of every error loadgate raises on purpose.

    Attributes:
        exit_code: The process status an entry point exits with for this error.
    """

    exit_code: int = EXIT_ERROR


class ConfigError(LoadgateError):
    """A scenarios file that cannot be read, parsed or validated."""


class AuthError(LoadgateError):
    """Cognito refused a sign-in, or the auth settings cannot work."""


class TargetError(LoadgateError):
    """The target host is not allowed, or cannot be reached."""


class InputDataError(LoadgateError):
    """Run results (Locust CSVs, run directories) that are missing or malformed."""


class ReportError(LoadgateError):
    """A report, summary or CI file could not be written."""


class SandboxError(LoadgateError):
    """The local sandbox (Cognito emulator and chat API) failed to start or stop."""
