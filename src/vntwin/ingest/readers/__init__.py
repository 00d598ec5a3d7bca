"""Readers per format. Importing a module registers its readers; ``priority`` orders the
sniffing (formats with a magic number first, CSV, which accepts any text, last).
"""

from vntwin.ingest.readers import delimited, geoparquet, geotiff, ogr
from vntwin.ingest.readers.base import Reader, Source, by_content, by_suffix, register, registered

__all__ = ["Reader", "Source", "by_content", "by_suffix", "delimited", "geoparquet", "geotiff",
           "ogr", "register", "registered"]
