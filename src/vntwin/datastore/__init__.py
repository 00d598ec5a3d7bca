"""CKAN-compatible datastore on DuckDB: load tabular files, search them, query them in SQL.

Each resource's rows live in their own DuckDB file, ``<store_dir>/<resource_id>.duckdb``.
"""

from vntwin.datastore.load import delete_resource, is_loaded, load_resource
from vntwin.datastore.search import datastore_search
from vntwin.datastore.sql import datastore_search_sql

__all__ = [
    "datastore_search",
    "datastore_search_sql",
    "delete_resource",
    "is_loaded",
    "load_resource",
]
