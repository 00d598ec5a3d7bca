"""The extension point: one :class:`Fuser` per layer kind, found in :data:`FUSERS`.

Built-in fusers (points, lines, polygons, rasters, tables) register themselves exactly as
a plug-in would (:mod:`.builtin`)::

    class HexbinFuser(Fuser):
        kind = "hexbin"
        def fuse(self, layer, res, spec):
            ...  # return the long frame (h3, variable, value)

    register_fuser(HexbinFuser())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from vntwin.twin.layer import Layer

from .frame import FusionError
from .grid import HexGrid

__all__ = ["FUSERS", "FuseSpec", "Fuser", "fuse_layer", "register_fuser"]


@dataclass(frozen=True)
class FuseSpec:
    """What the caller declared about a layer's attributes, and where to put it."""

    extensive: tuple[str, ...] = ()
    intensive: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    unit_cells: pd.DataFrame | None = None
    grid: HexGrid | None = None


class Fuser:
    """Turns one kind of layer into the long frame ``h3, variable, value``."""

    kind: ClassVar[str] = ""

    def fuse(self, layer: Layer, res: int, spec: FuseSpec) -> pd.DataFrame:
        """Fuse ``layer`` onto H3 cells of resolution ``res``."""
        raise NotImplementedError


FUSERS: dict[str, Fuser] = {}


def register_fuser(fuser: Fuser) -> Fuser:
    """Make ``fuser`` the rule for its ``kind`` (replacing any earlier one)."""
    if not fuser.kind:
        raise ValueError(f"{type(fuser).__name__} has no kind")
    FUSERS[fuser.kind] = fuser
    return fuser


def fuse_layer(
    layer: Layer,
    res: int,
    *,
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    categorical: Sequence[str] = (),
    unit_cells: pd.DataFrame | None = None,
    grid: HexGrid | None = None,
) -> pd.DataFrame:
    """Fuse any layer onto H3 cells of resolution ``res`` by the rule registered for
    ``layer.kind``; returns the long frame ``h3`` (uint64), ``variable``, ``value``.

    ``unit_cells`` (``h3``, ``unit_code``, optional ``weight``) is needed for tables;
    ``grid`` restricts every kind to the territory's cells.
    """
    fuser = FUSERS.get(layer.kind)
    if fuser is None:
        raise FusionError(
            f"layer {layer.name!r}: no fusion rule for kind {layer.kind!r} "
            f"(known: {', '.join(sorted(FUSERS))})"
        )
    spec = FuseSpec(tuple(extensive), tuple(intensive), tuple(categorical), unit_cells, grid)
    return fuser.fuse(layer, res, spec)
