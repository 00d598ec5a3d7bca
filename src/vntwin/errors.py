"""Domain errors: no HTTP in them. Each API family maps them to its own envelope."""

from __future__ import annotations


class VntwinError(Exception):
    """Base class of every error vntwin raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(VntwinError):
    """The named object does not exist, or the caller may not know it exists."""


class NotAuthorized(VntwinError):
    """The caller is not allowed to do this (or the token is wrong, expired or revoked)."""


class ValidationError(VntwinError):
    """Input failed validation; ``errors`` maps each field to its messages (CKAN's shape)."""

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        self.errors = errors
        if message is None:
            message = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        super().__init__(message)


class SearchQueryError(VntwinError):
    """A search query (q, fq, sort) or a datastore SQL query could not be parsed or run."""


class BadRequest(VntwinError):
    """The request itself is malformed (invalid JSON, unknown action)."""


class TooLarge(VntwinError):
    """An upload or document is over the configured size limit."""


class RateLimited(VntwinError):
    """Too many requests (or failed sign-ins) from one client; try again in ``retry_after`` s."""

    def __init__(self, message: str, retry_after: float = 60.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(VntwinError):
    """The thing to create exists already."""
