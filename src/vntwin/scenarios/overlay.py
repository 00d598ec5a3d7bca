"""Edits as an overlay: the scenario's view of the twin, the base left untouched.

``State`` holds the variables a scenario reads (the base's read-only arrays until an edit
changes one, which is then copied) and the facility table. Edits apply in the order the
spec lists them; each returns a short summary (cells touched, change of the total) that
goes into the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vntwin.scenarios.base import BaseTwin, VarRef
from vntwin.scenarios.spec import (
    AddFacilities,
    AddTowers,
    Edit,
    LandUse,
    MoveFacility,
    RemoveFacilities,
    ScaleEdit,
)


@dataclass
class State:
    """The twin as a scenario sees it."""

    base: BaseTwin
    facilities: pd.DataFrame
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    refs: dict[str, VarRef] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)

    def ref(self, name: str, *, extensive: bool = False) -> VarRef:
        """The variable a spec name means (checked before, so it resolves)."""
        return self.base.resolve(name, extensive=extensive)

    def get(self, ref: VarRef) -> np.ndarray:
        """The variable on every cell, with the edits so far."""
        if ref.key in self.arrays:
            return self.arrays[ref.key]
        return self.base.values(ref)

    def writable(self, ref: VarRef) -> np.ndarray:
        """A private copy of the variable, to edit."""
        if ref.key not in self.changed:
            self.arrays[ref.key] = np.array(self.get(ref), dtype=np.float64, copy=True)
            self.refs[ref.key] = ref
            self.changed.add(ref.key)
        return self.arrays[ref.key]

    def facilities_of(self, kind: str) -> pd.DataFrame:
        """Facilities of one type."""
        return self.facilities[self.facilities["type"] == kind]


def apply_edits(state: State, edits: list[Edit]) -> list[dict[str, Any]]:
    """Apply the edits in order; returns one summary per edit."""
    return [{"edit": i, "type": edit.type, **_apply(state, edit)}
            for i, edit in enumerate(edits)]


def _apply(state: State, edit: Edit) -> dict[str, Any]:
    base = state.base
    if isinstance(edit, ScaleEdit):
        ref = state.ref(edit.variable)
        mask = base.area_mask(edit.area)
        values = state.writable(ref)
        before = float(np.nansum(values[mask]))
        values[mask] *= edit.multiplier
        return {"variable": ref.key, "area": edit.area.label(), "cells": int(mask.sum()),
                "before": before, "after": float(np.nansum(values[mask]))}
    if isinstance(edit, AddFacilities | AddTowers):
        if isinstance(edit, AddFacilities):
            rows = [f.model_dump() | {"origin": "edit"} for f in edit.facilities]
        else:
            rows = [t.model_dump() | {"type": edit.tower_type, "name": None, "origin": "edit"}
                    for t in edit.towers]
        state.facilities = pd.concat([state.facilities, pd.DataFrame(rows)],
                                     ignore_index=True)[state.facilities.columns]
        return {"added": len(rows), "ids": [r["id"] for r in rows][:50]}
    if isinstance(edit, MoveFacility):
        frame = state.facilities.copy()
        at = frame["id"] == edit.id
        frame.loc[at, ["lat", "lon"]] = [edit.lat, edit.lon]
        state.facilities = frame
        return {"id": edit.id, "lat": edit.lat, "lon": edit.lon}
    if isinstance(edit, RemoveFacilities):
        frame = state.facilities
        if edit.ids:
            gone = frame["id"].isin(edit.ids).to_numpy()
        else:
            gone = (frame["type"] == edit.facility_type).to_numpy()
            if edit.area is not None:
                where = base.locate(frame["lat"].to_numpy(), frame["lon"].to_numpy())
                mask = base.area_mask(edit.area)
                gone &= (where >= 0) & mask[np.maximum(where, 0)]
        state.facilities = frame[~gone].reset_index(drop=True)
        return {"removed": int(gone.sum())}
    assert isinstance(edit, LandUse)
    return _land_use(state, edit)


def _land_use(state: State, edit: LandUse) -> dict[str, Any]:
    base = state.base
    mask = base.area_mask(edit.area)
    summary: dict[str, Any] = {"area": edit.area.label(), "cells": int(mask.sum()),
                               "set": {}, "moved": []}
    for name, value in edit.set.items():
        ref = state.ref(name)
        values = state.writable(ref)
        before = float(np.nansum(values[mask]))
        values[mask] = value
        summary["set"][ref.key] = {"before": before, "after": float(np.nansum(values[mask]))}
    for move in edit.move:
        ref = state.ref(move.variable, extensive=True)
        values = state.writable(ref)
        target = base.area_mask(move.to)
        amount = values[mask] * move.share
        total = float(np.nansum(amount))
        values[mask] -= amount
        weights = np.nan_to_num(values[target])
        if weights.sum() <= 0:
            weights = np.ones(int(target.sum()))
        values[target] += total * weights / weights.sum()
        summary["moved"].append({"variable": ref.key, "amount": total,
                                 "to": move.to.label(), "to_cells": int(target.sum())})
    return summary
