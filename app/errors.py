"""User-facing errors: one clear line naming the field and the reason, exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (file, flag, scenario). Printed without a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
