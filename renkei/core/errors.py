"""Refusals raised by the services of the apps (register, remediation, oversight, ...).

A service validates everything first and raises ServiceError with the user's message (already in
the active language) and, per field, what is wrong; NotAllowed when the user may see the record
but not do this with it. Pages show the messages next to their fields; the API answers 400 or
403 through `renkei.core.api.errors.api_error`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refused change; str() is the user's message (active language). ERRORS: field -> message."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAllowed(ServiceError):
    """The user may see the record but not do this with it (403)."""
