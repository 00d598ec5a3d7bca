"""CSV (and TSV/semicolon) files: decoded here, typed here, never through GDAL.

Text is decoded by ``ingest.encoding`` (UTF-8/16, Windows-1258, TCVN3), split with the
delimiter Python's ``csv.Sniffer`` finds among , ; tab |, typed by ``ingest.schema`` and
classified by ``ingest.tables`` as points (lat/lon columns) or a place-keyed table.
"""

from __future__ import annotations

import csv
import io
from typing import cast

import geopandas as gpd
import pandas as pd

from vntwin.ingest import encoding, normalise, schema, tables
from vntwin.ingest.problems import Where, invalid, too_large
from vntwin.ingest.readers.base import Reader, Source, register
from vntwin.twin.layer import Layer

_DELIMITERS = ",;\t|"


@register
class CsvReader(Reader):
    """Delimited text with a header row."""

    label = "CSV"
    suffixes = (".csv", ".tsv", ".txt")
    staged_name = "upload.csv"
    priority = 100  # any text passes its sniff: after every format with a signature

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """Text: no NUL bytes, unless it is UTF-16 (a BOM, or NULs every other byte)."""
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return True
        return b"\x00" not in head or encoding.utf16_without_bom(head) is not None

    def read(self, source: Source) -> list[Layer]:
        """One layer: points, or a table with a place column."""
        where = source.where.at_layer(source.stem)
        decoded = encoding.decode(source.path.read_bytes(), where, source.encoding)
        how = "detected" if decoded.detected else "as declared"
        report = [f"text encoding {decoded.encoding} ({how})"]
        frame, delimiter = _parse(decoded.text, where, source.limits.max_features)
        codes = [c for c in frame.columns if tables.is_code_name(c)]
        coordinates = tables.coordinate_columns(list(frame.columns)) or ()
        frame = schema.type_text_columns(frame, decimal_comma=delimiter != ",", keep_text=codes,
                                         coordinates=coordinates, report=report)
        found = tables.classify(frame, where, source.crs)
        report += found.report
        if found.kind == "table":
            assert found.place_column is not None
            return [normalise.table_layer(found.frame, name=source.stem, where=where,
                                          place_column=found.place_column,
                                          encoding=decoded.encoding, report=report)]
        points = cast(gpd.GeoDataFrame, found.frame)
        return normalise.vector_layers(points, name=source.stem, where=where,
                                       file_crs=found.crs, override=source.crs,
                                       encoding=decoded.encoding, report=report,
                                       reasons=found.missing)


def _parse(text: str, where: Where, max_rows: int) -> tuple[pd.DataFrame, str]:
    """Rows of text under their cleaned header names, and the delimiter used."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise invalid(where, "the file is empty")
    delimiter = _delimiter(text[: 1 << 16])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        width = len(header)
        rows = []
        for number, row in enumerate(reader, start=1):
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                raise invalid(where.at_row(number), f"{len(row)} fields but the header has "
                                                    f"{width}")
            rows.append((row + [""] * width)[:width])
            if len(rows) > max_rows:
                raise too_large(where, f"more than {max_rows:,} rows")
    except csv.Error as error:
        raise invalid(where.at_row(reader.line_num), f"not valid CSV ({error})") from None
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()  # trailing blank lines; blank rows inside keep their numbers
    if not rows:
        raise invalid(where, "the file has a header but no rows")
    return pd.DataFrame(rows, columns=schema.clean_names(header), dtype=object), delimiter


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","
