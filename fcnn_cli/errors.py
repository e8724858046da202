"""The one exception type the CLI turns into a one-line message and an exit status."""

from __future__ import annotations


class FcnnError(Exception):
    """A problem the user can fix: `message` says what, where and how; exit 2 by default."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
