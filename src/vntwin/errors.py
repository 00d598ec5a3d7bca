"""Domain errors: no HTTP in them. Each API family maps them to its own envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Message(str):
    """An error message that carries its values: ``Message("Must be at most %(limit)s
    characters", limit=200)`` *is* the English text (a ``str``: APIs, logs and ``==``
    see "Must be at most 200 characters"), and keeps ``template`` and ``params`` so a page
    translates the template and fills in the values in the visitor's language.

    Use it where a message names a value (a limit, the text that was refused); a fixed
    message stays a plain ``str``. Templates use ``%(name)s`` / ``%(name)r``, as gettext's
    python-format does.
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Message:
        """The message ``template % params``."""
        obj = super().__new__(cls, template % params)
        obj.template = template
        obj.params = params
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as template and values (worker processes pass errors back)."""
        return _message, (self.template, self.params)

    def localise(self, gettext: Callable[[str], str]) -> str:
        """The message in another language: ``gettext`` of the template, then the values.

        A value that is itself a :class:`Message` (a status's name) is translated too.
        A translation whose placeholders do not match falls back to the English text.
        """
        params = {key: value.localise(gettext) if isinstance(value, Message) else value
                  for key, value in self.params.items()}
        try:
            return gettext(self.template) % params
        except (KeyError, ValueError, TypeError):
            return str(self)


def _message(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


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
