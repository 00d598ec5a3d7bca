"""Column names for a loaded table: the originals, made unique and non-empty.

Agencies' headers are kept as written (Vietnamese included, NFC) so users recognise
them; only what would break the table is changed. DuckDB compares identifiers without
case, so uniqueness is checked case-insensitively too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

RESERVED = frozenset({"_id", "_full_text"})
"""Names CKAN's datastore keeps for itself."""


def clean_names(raw: Sequence[object]) -> list[str]:
    """Return unique, non-empty, NFC names for the columns, in order.

    Empty names become ``column_<n>`` (1-based position); repeats and reserved names get
    ``_2``, ``_3``, ... appended.

    >>> clean_names(["Tỉnh", "", "tỉnh", "_id"])
    ['Tỉnh', 'column_2', 'tỉnh_2', '_id_2']
    """
    taken: set[str] = {name.casefold() for name in RESERVED}
    names: list[str] = []
    for position, value in enumerate(raw, start=1):
        text = "" if value is None else str(value)
        text = " ".join(unicodedata.normalize("NFC", text).split())
        base = text or f"column_{position}"
        name, suffix = base, 1
        while name.casefold() in taken:
            suffix += 1
            name = f"{base}_{suffix}"
        taken.add(name.casefold())
        names.append(name)
    return names
