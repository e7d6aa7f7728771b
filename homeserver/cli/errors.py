"""The one exception synctl commands raise to stop with a message."""

from __future__ import annotations


class CliError(Exception):
    """A failure to report to the user as-is, without a traceback.

    Args:
        message: what went wrong and, where possible, what to do about it.
        exit_code: the process exit status (1 unless a convention says otherwise).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
