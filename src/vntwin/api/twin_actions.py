"""Twin actions on the CKAN Action API: ingest an uploaded file as twin layers, and see or
confirm how a layer's columns map to the vocabulary.

Each adapter only converts parameters; the rules live in :mod:`vntwin.twin`.
"""

from __future__ import annotations

from typing import Any

from vntwin.api.actions import Call, action
from vntwin.api.params import as_bool, as_dict, required
from vntwin.errors import NotAuthorized, ValidationError


@action("twin_ingest", takes_file=True)
def _twin_ingest(c: Call) -> dict[str, Any]:
    """Read an uploaded file (CSV, GeoJSON, GeoPackage, zipped Shapefile, GeoParquet,
    GeoTIFF) into twin layers of dataset ``dataset`` (created in ``owner_org`` when new);
    ``crs`` and ``encoding`` override detection; ``fuse=true`` fuses the catalogue after.
    Nothing is stored when the file cannot be read.
    """
    from vntwin.twin.ingest_catalog import ingest_file

    if c.actor.anonymous:
        raise NotAuthorized("twin_ingest requires an authenticated user")
    if c.upload is None:
        raise ValidationError({"upload": ["send the file as a multipart 'upload' field"]})
    d = c.data
    result = ingest_file(c.cat, c.actor, c.upload.path, dataset=str(required(d, "dataset")),
                         org=d.get("owner_org") or d.get("org"), title=d.get("title"),
                         crs=d.get("crs") or None, encoding=d.get("encoding") or None,
                         filename=c.upload.filename)
    if as_bool(d, "fuse", False):
        from vntwin.twin.build import fuse_catalog

        report = fuse_catalog(c.cat)
        result["fuse"] = {"res": report.res, "fused": report.fused, "skipped": report.skipped,
                          "failed": report.failed}
    return result


@action("twin_layer_columns", side_effect_free=True)
def _twin_layer_columns(c: Call) -> dict[str, Any]:
    """A layer's columns with the proposed (or confirmed) vocabulary variable of each,
    its confidence, reasons and alternatives; ``needs_review`` ones wait for a person.
    """
    from vntwin.twin.mappings import layer_columns

    return layer_columns(c.cat, str(required(c.data, "layer")))


@action("twin_layer_columns_confirm")
def _twin_layer_columns_confirm(c: Call) -> dict[str, Any]:
    """Confirm or override mappings: ``columns`` is ``{column: variable id or null}``.
    Needs edit rights on the layer's dataset; the next fusion uses the decision.
    """
    from vntwin.twin.mappings import confirm_columns

    if c.actor.anonymous:
        raise NotAuthorized("twin_layer_columns_confirm requires an authenticated user")
    return confirm_columns(c.cat, c.actor, str(required(c.data, "layer")),
                           as_dict(c.data, "columns") or {})
