"""A layer's column mappings to the vocabulary, and a person's confirmations of them.

Proposals come from :func:`vntwin.twin.matching.match_columns`; low-confidence ones stay
out of fusion until someone who may edit the dataset confirms or overrides them. The
decisions live on the layer's resource (extra ``twin_mapping``, the record format of
:mod:`vntwin.twin.confirmations`), so they travel with the dataset, show in
``resource_show``, and change the layer's fingerprint: the next ``vntwin fuse`` re-fuses it.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from vntwin.catalog import resources
from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.twin.layers import LayerSource, layer_sources, read_layer

MAPPING_EXTRA = "twin_mapping"
SAMPLE_ROWS = 200


def declared_mapping(extras: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The confirmed records of a layer's extras (``{column: {variable_id, by, at}}``)."""
    raw = extras.get(MAPPING_EXTRA)
    if not raw:
        return {}
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict) and "variable_id" in v}


def _source(cat: Catalog, layer: str) -> LayerSource:
    """A layer by its name or resource id, or by its dataset's name when it has one layer."""
    sources = layer_sources(cat)
    for source in sources:
        if layer in (source.name, source.resource_id):
            return source
    of_dataset = [s for s in sources if s.dataset_name == layer]
    if len(of_dataset) == 1:
        return of_dataset[0]
    if of_dataset:
        raise ValidationError({"layer": [f"dataset {layer!r} has {len(of_dataset)} layers: "
                                         + ", ".join(s.name for s in of_dataset)]})
    raise NotFound(f"no public twin layer {layer!r}")


@functools.cache
def _embedder() -> Any:
    """The offline sentence model when its package is installed (``make install`` does),
    loaded once per process (0.2 s); None without it: names, units and values still match.
    """
    from vntwin.twin.embedding import default_embedder

    return default_embedder()


def propose(columns: list[str], samples: dict[str, list[Any]],
            extras: dict[str, Any], layer: str) -> list[Any]:
    """Mappings for ``columns`` with the layer's confirmations applied."""
    from vntwin.twin.confirmations import apply_confirmations
    from vntwin.twin.matching import match_columns
    from vntwin.twin.vocabulary import load_vocabulary

    proposals = match_columns(columns, samples, vocabulary=load_vocabulary(),
                              embedder=_embedder())
    store = {"version": 1, "datasets": {layer: declared_mapping(extras)}}
    return apply_confirmations(proposals, store, layer)


def layer_columns(cat: Catalog, layer: str) -> dict[str, Any]:
    """Every attribute column of a public layer with its proposed or confirmed variable."""
    source = _source(cat, layer)
    frame = read_layer(cat, source).frame
    if frame is None:
        return {"layer": source.name, "dataset": source.dataset_name, "columns": []}
    columns = [c for c in frame.columns if c not in ("geometry", source.place_column)]
    samples = {c: frame[c].dropna().head(SAMPLE_ROWS).tolist() for c in columns}
    mappings = propose(columns, samples, source.extras, source.name)
    return {"layer": source.name, "dataset": source.dataset_name,
            "resource_id": source.resource_id,
            "columns": [m.to_dict() for m in mappings]}


def confirm_columns(cat: Catalog, actor: Actor, layer: str,
                    decisions: dict[str, str | None]) -> dict[str, Any]:
    """Record ``{column: variable id or None}`` for a layer; needs edit rights on its dataset.

    Every column and variable is checked first; one bad entry changes nothing.
    """
    from vntwin.twin.vocabulary import load_vocabulary

    if not isinstance(decisions, dict) or not decisions:
        raise ValidationError({"columns": ["give an object {column: variable id or null}"]})
    source = _source(cat, layer)
    current = layer_columns(cat, layer)
    known = {c["column"] for c in current["columns"]}
    vocabulary = load_vocabulary()
    errors: dict[str, list[str]] = {}
    for column, variable in decisions.items():
        if column not in known:
            errors.setdefault(column, []).append(f"layer {source.name!r} has no column {column!r}")
        elif variable is not None and (not isinstance(variable, str) or variable not in vocabulary):
            errors.setdefault(column, []).append(f"no variable {variable!r} in the vocabulary")
    if errors:
        raise ValidationError(errors)
    at = datetime.now(UTC).isoformat()
    records = declared_mapping(source.extras)
    for column, variable in decisions.items():
        records[column] = {"variable_id": variable, "by": actor.name or "anonymous", "at": at}
    resources.update(cat, actor, {"id": source.resource_id,
                                  MAPPING_EXTRA: json.dumps(records, ensure_ascii=False,
                                                            sort_keys=True)},
                     None, patch=True)
    return layer_columns(cat, layer)
