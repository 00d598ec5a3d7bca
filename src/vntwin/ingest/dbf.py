"""Text in a Shapefile's DBF: detected or declared encoding, decoded value by value.

GDAL can recode DBF text itself, but not from TCVN3 (no iconv name exists) and not with
a row number when the declared encoding is wrong. So the DBF is read as latin-1, which
hands every byte over unchanged, and each column name and value is decoded here.
"""

from __future__ import annotations

import pandas as pd

from vntwin.ingest import encoding as enc
from vntwin.ingest.problems import Where, invalid


def decode_dbf_text(frame: pd.DataFrame, where: Where,
                    declared: str | None) -> tuple[pd.DataFrame, str | None, bool]:
    """The frame with text decoded; the encoding used (None if all ASCII); detected?"""
    columns = [c for c in frame.columns if c != _geometry_name(frame) and _is_text(frame[c])]
    raw = [str(c).encode("latin-1") for c in frame.columns]
    for column in columns:
        raw += [v.encode("latin-1") for v in frame[column] if isinstance(v, str)]
    sample = b"\n".join(raw)
    if sample.isascii():
        return frame, declared, False
    detected = declared is None
    if declared is not None:
        encoding = declared
        enc.refuse_garbling(sample, declared, where)
    else:
        encoding = enc.detect(sample, where)
    frame = frame.rename(columns={c: _decode(str(c), encoding, where, None, None)
                                  for c in frame.columns if c != _geometry_name(frame)})
    for column in [_decode(str(c), encoding, where, None, None) for c in columns]:
        frame[column] = [
            _decode(v, encoding, where, row, column) if isinstance(v, str) else v
            for row, v in enumerate(frame[column], start=1)
        ]
    return frame, encoding, detected


def _decode(value: str, encoding: str, where: Where, row: int | None,
            column: str | None) -> str:
    try:
        return enc.decode_strict(value.encode("latin-1"), encoding)
    except UnicodeDecodeError:
        place = where.at_row(row) if row is not None else where
        field = f"field {column!r}: " if column else "a column name: "
        raise invalid(place, f"{field}bytes that are not valid {encoding} (is the declared "
                             "encoding, .cpg or --encoding, wrong?)") from None


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)


def _geometry_name(frame: pd.DataFrame) -> str | None:
    return getattr(frame, "_geometry_column_name", None)
