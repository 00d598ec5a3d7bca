"""The reader extension point: one ``Reader`` subclass per format, in one registry.

A reader says how to recognise its format from the first bytes (``sniff``), which file
suffixes belong to it, what plain name the upload is staged under before a library opens
it, and how to turn the file into layers. Built-in readers register with ``@register``
exactly as a plugin would (STYLE habit 5); ``read_layers`` asks the registry, in
``priority`` order, which reader recognises the content.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from pyproj import CRS

from vntwin.ingest.problems import Where
from vntwin.ingest.safety import Limits
from vntwin.twin.layer import Layer


@dataclass(frozen=True)
class Source:
    """What a reader gets: the staged upload and everything the caller asked for."""

    path: Path
    """The upload, staged under ``Reader.staged_name`` in ``private_dir``."""
    where: Where
    """The upload's name, for messages."""
    stem: str
    """Layer name for single-layer formats (the upload's name without suffix)."""
    private_dir: Path
    """A private temporary directory, deleted when reading ends (zip extraction...)."""
    output_dir: Path
    """Where files that outlive reading go (reprojected rasters)."""
    crs: CRS | None
    """The caller's CRS, overriding the file's."""
    encoding: str | None
    """The caller's text encoding (a codec name, or "tcvn3"), overriding detection."""
    limits: Limits


class Reader(ABC):
    """Reads one format into normalised layers (EPSG:4326, NFC text, checked geometry)."""

    label: ClassVar[str]
    """Format name for messages ("GeoJSON")."""
    suffixes: ClassVar[tuple[str, ...]]
    """Lower-case file suffixes of this format, with the dot."""
    staged_name: ClassVar[str]
    """Plain file name the upload is staged under before a library opens it."""
    priority: ClassVar[int] = 50
    """Sniffing order, lowest first: readers with a magic number before loose text."""

    @classmethod
    @abstractmethod
    def sniff(cls, head: bytes) -> bool:
        """Whether the file's first bytes (up to 64 KiB) are this format."""

    @abstractmethod
    def read(self, source: Source) -> list[Layer]:
        """Every layer of the file; ValidationError (or TooLarge) when it cannot be read."""


R = TypeVar("R", bound=type[Reader])
_REGISTRY: list[type[Reader]] = []


def register(reader: R) -> R:
    """Class decorator adding a reader to the registry."""
    if reader not in _REGISTRY:
        _REGISTRY.append(reader)
        _REGISTRY.sort(key=lambda r: r.priority)
    return reader


def registered() -> tuple[type[Reader], ...]:
    """The registered readers, in sniffing order (``priority``, then registration)."""
    return tuple(_REGISTRY)


def by_content(head: bytes) -> type[Reader] | None:
    """The first reader that recognises ``head``."""
    return next((r for r in _REGISTRY if r.sniff(head)), None)


def by_suffix(suffix: str) -> type[Reader] | None:
    """The reader that owns a file suffix (".geojson"), if any."""
    return next((r for r in _REGISTRY if suffix.lower() in r.suffixes), None)
