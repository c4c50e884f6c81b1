"""The server's exceptions for what a request got wrong; routes turn them into HTTP answers."""

from __future__ import annotations


class ServerError(Exception):
    """Base of the server's own errors."""


class NotFoundError(ServerError):
    """No row with this key (HTTP 404)."""


class ConflictError(ServerError):
    """The change does not apply to the row as it is: already done, say (HTTP 409)."""


class AlreadyExistsError(ConflictError):
    """A row with this key is already stored (HTTP 409)."""
