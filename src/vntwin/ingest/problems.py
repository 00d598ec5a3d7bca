"""One shape for every ingest error: which file, which layer, which row, and why.

Uploaders fix their files from these messages, so each names the place as precisely as
the reader knows it. All of them go under the ``file`` key of ``ValidationError.errors``
(CKAN's error shape), so the API can show them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vntwin.errors import TooLarge, ValidationError


@dataclass(frozen=True)
class Where:
    """The place a problem was found: the upload's name, then a layer, then a row.

    Rows count from 1 in the order the file stores them (for CSV, the first record
    after the header is row 1).
    """

    file: str
    layer: str | None = None
    row: int | None = None

    def at_layer(self, layer: str) -> Where:
        """The same file, inside ``layer``."""
        return replace(self, layer=layer, row=None)

    def at_row(self, row: int) -> Where:
        """The same layer, at ``row`` (1-based)."""
        return replace(self, row=row)

    def __str__(self) -> str:
        parts = [self.file]
        if self.layer is not None:
            parts.append(f"layer '{self.layer}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        return ", ".join(parts)


def invalid(where: Where, reason: str) -> ValidationError:
    """A ValidationError saying ``where`` and ``reason``; raise it."""
    return ValidationError({"file": [f"{where}: {reason}"]})


def invalid_many(where: Where, reasons: list[str]) -> ValidationError:
    """A ValidationError with several reasons about one place (e.g. every broken row)."""
    return ValidationError({"file": [f"{where}: {reason}" for reason in reasons]})


def too_large(where: Where, reason: str) -> TooLarge:
    """A TooLarge error: the upload breaks one of the configured size limits."""
    return TooLarge(f"{where}: {reason}")


def capped(lines: list[str], limit: int = 50) -> list[str]:
    """At most ``limit`` lines, then one line saying how many were left out.

    A file with a million broken rows must not make a million-line report.
    """
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"... and {len(lines) - limit} more"]
