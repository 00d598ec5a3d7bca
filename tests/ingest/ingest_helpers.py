"""Shared by the ingest tests: where the fixtures are, and ingesting like the CLI does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vntwin.ingest import read_layers, write_layer
from vntwin.twin.layer import Layer

FIXTURES = Path(__file__).parent / "fixtures"


def ingest(path: Path, out: Path, **options: Any) -> list[tuple[Layer, Path]]:
    """Read (temporary files next to the output), then write every layer into ``out``."""
    layers = read_layers(path, workdir=out, **options)
    return [(layer, write_layer(layer, out, f"{layer.name}-v1")) for layer in layers]
