"""GeoParquet (and plain Parquet tables), read with pyarrow: no GDAL involved.

The file's metadata is checked against the limits before any data is decoded, since a
small Parquet file can declare row groups that expand to gigabytes. A Parquet file
without GeoParquet metadata is a table: points from lat/lon columns, or place-keyed.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from shapely.errors import GEOSException

from vntwin.ingest.problems import Where, invalid, too_large
from vntwin.ingest.readers.base import Reader, Source, register
from vntwin.ingest.readers.ogr import finish
from vntwin.twin.layer import Layer


@register
class GeoParquetReader(Reader):
    """GeoParquet 1.x (WKB or native encodings); plain Parquet as a table."""

    label = "GeoParquet"
    suffixes = (".parquet", ".geoparquet")
    staged_name = "upload.parquet"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """Parquet's magic number."""
        return head.startswith(b"PAR1")

    def read(self, source: Source) -> list[Layer]:
        """The file's one layer."""
        where = source.where.at_layer(source.stem)
        try:
            metadata = pq.ParquetFile(source.path).metadata
            _check_size(metadata, where, source)
            geo = b"geo" in (metadata.metadata or {})
            frame = gpd.read_parquet(source.path) if geo else pd.read_parquet(source.path)
        except (pa.ArrowException, OSError, ValueError, TypeError, GEOSException) as error:
            raise invalid(where, f"not a readable (Geo)Parquet file ({error})") from None
        report = []
        if isinstance(frame, gpd.GeoDataFrame):
            for name in frame.columns:
                if name != frame.geometry.name and isinstance(frame[name], gpd.GeoSeries):
                    frame[name] = frame[name].to_wkt()
                    report.append(f"extra geometry column {name!r} kept as WKT text")
        return finish(frame, source.stem, where, source, report=report)


def _check_size(metadata: pq.FileMetaData, where: Where, source: Source) -> None:
    limits = source.limits
    if metadata.num_rows > limits.max_features:
        raise too_large(where, f"{metadata.num_rows:,} rows; the limit is "
                               f"{limits.max_features:,}")
    expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if expanded > limits.max_expanded_bytes:
        raise too_large(where, f"the data expands to {expanded:,} bytes; the limit is "
                               f"{limits.max_expanded_bytes:,}")
