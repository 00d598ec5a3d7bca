"""``vntwin ingest FILE --dataset NAME``: a spatial file becomes twin layers of a dataset.

The original file is kept as a resource; each layer becomes one more resource, an
immutable GeoParquet (or GeoTIFF) in the content-addressed store, tagged ``twin_layer``.
Re-ingesting replaces each layer's file in place (same resource id, new version), so the
layer keeps its identity and ``vntwin fuse`` re-fuses only what changed. Everything is
read and validated before anything is stored.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from vntwin.catalog import packages, resources
from vntwin.catalog.auth import Actor
from vntwin.catalog.resources import StoredUpload, discard_unreferenced, store_file
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.text import fold
from vntwin.twin.layer import Layer

LAYER_FORMATS = {"raster": ("GeoTIFF", "image/tiff", ".tif")}
VECTOR_FORMAT = ("GeoParquet", "application/vnd.apache.parquet", ".parquet")


def _existing(cat: Catalog, actor: Actor, name: str) -> dict[str, Any] | None:
    try:
        return packages.show(cat, actor, name)
    except NotFound:
        return None


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def layer_keys(names: list[str]) -> list[str]:
    """Each layer's key: its name when that is a plain file name (``places_vn``), else a
    slug of it ("Địa danh" → ``dia-danh``), made unique within the file.

    The key names the layer's file, its twin layer, OGC collection and tiles (URLs);
    the name as the file gave it stays the resource's title.
    """
    keys: list[str] = []
    for name in names:
        key = name if _PLAIN.fullmatch(name) and ".." not in name else (
            re.sub(r"[^a-z0-9_]+", "-", fold(name)).strip("-_")[:80] or "layer")
        base, n = key, 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.append(key)
    return keys


def _layer_extras(layer: Layer, key: str) -> dict[str, Any]:
    extras: dict[str, Any] = {"twin_layer": key, "twin_kind": layer.kind,
                              "twin_report": "; ".join(layer.report)[:4000]}
    if layer.place_column:
        extras["twin_place_column"] = layer.place_column
    if layer.source_crs:
        extras["twin_source_crs"] = layer.source_crs
    if layer.encoding:
        extras["twin_encoding"] = layer.encoding
    return extras


def ingest_file(cat: Catalog, actor: Actor, path: Path, *, dataset: str,
                org: str | None = None, title: str | None = None, crs: str | None = None,
                encoding: str | None = None, filename: str | None = None,
                keep_original: bool = True) -> dict[str, Any]:
    """Read, validate and store every layer of ``path`` in dataset ``dataset``.

    ``filename`` names the file when ``path`` does not (a file in the upload store);
    ``keep_original=False`` skips storing the source file again (it is already a
    resource of the dataset).
    """
    filename = filename or path.name
    from vntwin.ingest.read import read_layers
    from vntwin.ingest.write import write_layer

    layers = read_layers(path, filename=filename, crs=crs, encoding=encoding)
    if not layers:
        raise ValidationError({"file": [f"{filename}: no layer found"]})
    pkg = _existing(cat, actor, dataset)
    if pkg is None and not org:
        raise ValidationError({"org": [f"dataset {dataset!r} does not exist: give --org to "
                                       "create it"]})
    keys = layer_keys([layer.name for layer in layers])
    with tempfile.TemporaryDirectory(prefix="vntwin-ingest-") as tmp:
        written = [(layer, write_layer(layer, Path(tmp), key))
                   for layer, key in zip(layers, keys, strict=True)]
        stored: list[StoredUpload] = []
        original: StoredUpload | None = None
        try:
            if keep_original:
                original = store_file(cat, path, filename)
            for layer, file in written:
                stored.append(replace(store_file(cat, file, file.name),
                                      schema=layer.schema or None))
            if pkg is None:
                pkg = packages.create(cat, actor, {
                    "name": dataset, "title": title or dataset, "owner_org": org,
                    "notes": f"Lớp dữ liệu không gian nhập từ {filename}."})
            by_layer = {r.get("twin_layer"): r for r in pkg["resources"] if r.get("twin_layer")}
            source = next((r for r in pkg["resources"] if r.get("twin_source")), None)
            meta = {"name": filename, "twin_source": "true"}
            if original is not None and source:
                resources.update(cat, actor, {"id": source["id"], **meta}, original, patch=True)
            elif original is not None:
                resources.create(cat, actor, {"package_id": pkg["id"], **meta}, original)
            for (layer, _), upload, key in zip(written, stored, keys, strict=True):
                fmt, mimetype, _ = LAYER_FORMATS.get(layer.kind, VECTOR_FORMAT)
                data = {"name": f"{layer.name} ({layer.kind})", "format": fmt,
                        "mimetype": mimetype, **_layer_extras(layer, key)}
                if key in by_layer:
                    resources.update(cat, actor, {"id": by_layer[key]["id"], **data},
                                     upload, patch=True)
                else:
                    resources.create(cat, actor, {"package_id": pkg["id"], **data}, upload)
        except BaseException:
            for upload in [*stored, *([original] if original else [])]:
                discard_unreferenced(cat, upload)
            raise
    result = packages.show(cat, actor, dataset)
    return {"dataset": result["name"], "layers": [
        {"name": key, "title": layer.name, "kind": layer.kind,
         "rows": None if layer.frame is None else len(layer.frame), "report": layer.report,
         "schema": layer.schema} for layer, key in zip(layers, keys, strict=True)]}
