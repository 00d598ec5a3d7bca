"""Confirmations of schema-matching proposals: a person's decisions, kept as plain JSON.

:func:`confirm` turns a proposed :class:`~vntwin.twin.matching.Mapping` into a decided one;
:func:`record_confirmation` keeps that decision in a store (a plain dict),
:func:`apply_confirmations` re-applies a dataset's decisions to fresh proposals, and
:func:`load_confirmations` / :func:`save_confirmations` read and write the store.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vntwin.errors import NotFound, VntwinError
from vntwin.twin.vocabulary import Vocabulary, load_vocabulary

if TYPE_CHECKING:  # only for annotations: matching imports this module at runtime
    from vntwin.twin.matching import Mapping

__all__ = [
    "Confirmations",
    "apply_confirmations",
    "confirm",
    "load_confirmations",
    "record_confirmation",
    "save_confirmations",
]


Confirmations = dict[str, Any]
"""The confirmation store: ``{"version": 1, "datasets": {dataset: {column: record}}}`` where
a record is ``{"variable_id", "by", "at"}``; plain JSON, changed only through the functions
below, each of which returns a new store."""


def confirm(mapping: Mapping, variable_id: str | None, by: str, *,
            vocabulary: Vocabulary | None = None) -> Mapping:
    """A person's decision on ``mapping``: this column is ``variable_id`` (or, with None, no
    variable). Returns the confirmed mapping (confidence 1.0, no review needed).

    Raises :class:`~vntwin.errors.NotFound` for a variable the vocabulary lacks and
    :class:`ValueError` for an empty ``by``.
    """
    if not by.strip():
        raise ValueError("confirm() needs who confirmed (by)")
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    if variable_id is not None and variable_id not in vocab:
        raise NotFound(f"no variable {variable_id!r} in the vocabulary")
    what = "confirmed" if variable_id == mapping.variable_id else (
        f"overridden (was {mapping.variable_id})")
    reason = f"{what} by {by}" if variable_id else f"marked as no variable by {by}"
    return replace(mapping, variable_id=variable_id, confidence=1.0, needs_review=False,
                   reasons=[reason, *mapping.reasons], confirmed_by=by,
                   role="variable" if variable_id else mapping.role,
                   alternatives=[a for a in mapping.alternatives if a[0] != variable_id])


def record_confirmation(store: Confirmations, dataset: str, mapping: Mapping,
                        at: datetime | None = None) -> Confirmations:
    """A new store with ``mapping`` (from :func:`confirm`) recorded for ``dataset``."""
    if mapping.confirmed_by is None:
        raise ValueError(f"mapping of column {mapping.column!r} is not confirmed: confirm() it")
    datasets = {k: dict(v) for k, v in store.get("datasets", {}).items()}
    datasets.setdefault(dataset, {})[mapping.column] = {
        "variable_id": mapping.variable_id, "by": mapping.confirmed_by,
        "at": (at or datetime.now(UTC)).isoformat()}
    return {"version": 1, "datasets": datasets}


def apply_confirmations(mappings: Sequence[Mapping], store: Confirmations,
                        dataset: str) -> list[Mapping]:
    """``mappings`` with the store's decisions for ``dataset`` applied. A confirmed variable
    is taken from any other column that had been given it; that column needs review.
    """
    records = store.get("datasets", {}).get(dataset, {})
    out = []
    for m in mappings:
        rec = records.get(m.column)
        if rec is None:
            out.append(m)
            continue
        when = rec.get("at", "")
        out.append(replace(confirm(m, rec["variable_id"], rec["by"]),
                           reasons=[f"confirmed by {rec['by']} at {when}".strip(), *m.reasons]))
    pinned = {m.variable_id: m.column for m in out if m.confirmed_by and m.variable_id}
    return [replace(m, variable_id=None, needs_review=True, role="unknown", confidence=0.0,
                    reasons=[f"{m.variable_id} was confirmed for column '{pinned[m.variable_id]}'",
                             *m.reasons])
            if m.variable_id in pinned and m.confirmed_by is None else m for m in out]


def load_confirmations(path: str | Path) -> Confirmations:
    """The store saved at ``path``; an empty one if the file does not exist yet."""
    p = Path(path)
    if not p.exists():
        return {"version": 1, "datasets": {}}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VntwinError(f"{p}: not a confirmation store: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
        raise VntwinError(f"{p}: not a confirmation store (no 'datasets' object)")
    return data


def save_confirmations(store: Confirmations, path: str | Path) -> None:
    """Write the store atomically (a temporary file renamed into place)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name, suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(store, fh, ensure_ascii=False, indent=2, sort_keys=True)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
