"""Mapbox Vector Tile 2.1 encoding of points and simple polygons, vectorised with numpy.

Why not DuckDB spatial's ST_AsMVT or a per-feature encoder: the twin's tiles are points
(a layer as ingested) and hexagons (the grid), thousands a tile, and building a
geometry object per feature cost more than the tile budget. Here every feature's
commands, tags and framing are varints computed over whole arrays: a tile's features are
one varint stream. Coordinates come in already in tile units (``to_tile``); the encoder
rounds them, drops what the spec forbids (repeated points, rings of no area) and gives
rings the winding the spec asks for. Other geometry kinds (lines, polygons with holes)
go through ``vntwin.twin.tiles``' DuckDB path.

Protobuf layout (vector_tile.proto): Tile.layers = 3; Layer.name = 1, features = 2,
keys = 3, values = 4, extent = 5, version = 15; Feature.id = 1, tags = 2 (packed),
type = 3, geometry = 4 (packed); Value.string_value = 1, double_value = 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EXTENT = 4096
BUFFER = 64  # tile units kept around the tile, as ST_AsMVTGeom's default
POINT, POLYGON = 1, 3
_MOVE_TO, _LINE_TO, _CLOSE = 1, 2, 7


def to_tile(lon: np.ndarray, lat: np.ndarray, z: int, x: int, y: int,
            extent: int = EXTENT) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator tile units (0..extent across the tile, y down) of lon/lat degrees."""
    n = float(2**z)
    tx = ((np.asarray(lon, np.float64) + 180.0) / 360.0 * n - x) * extent
    phi = np.radians(np.asarray(lat, np.float64))
    ty = ((1.0 - np.arcsinh(np.tan(phi)) / np.pi) / 2.0 * n - y) * extent
    return tx, ty


def _zigzag(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.int64)
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)


def _varint_sizes(v: np.ndarray) -> np.ndarray:
    size = np.ones(len(v), np.int64)
    for k in range(1, 10):
        size += v >= np.uint64(1 << (7 * k))
    return size


def _varints(v: np.ndarray) -> bytes:
    """Protobuf varints of an unsigned array, concatenated."""
    v = np.asarray(v, np.uint64)
    if not len(v):
        return b""
    size = _varint_sizes(v)
    owner = np.repeat(np.arange(len(v)), size)
    byte = np.arange(len(owner)) - np.repeat(np.cumsum(size) - size, size)
    out = (v[owner] >> (7 * byte).astype(np.uint64)) & np.uint64(0x7F)
    out |= (byte < size[owner] - 1).astype(np.uint64) << np.uint64(7)
    return out.astype(np.uint8).tobytes()


def _varint(value: int) -> bytes:
    """One protobuf varint (for framing: numpy costs more than it saves on one number)."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(key: int, payload: bytes) -> bytes:
    """A length-delimited field: key, length, bytes."""
    return _varint(key) + _varint(len(payload)) + payload


def _segments(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Interleave per-feature token runs: ``parts`` are (tokens, owning feature) pairs in
    the order their runs appear inside each feature; returns the tokens feature by feature
    and the owner of each.
    """
    tokens = np.concatenate([t for t, _ in parts])
    owner = np.concatenate([o for _, o in parts])
    rank = np.concatenate([np.full(len(t), i) for i, (t, _) in enumerate(parts)])
    order = np.lexsort((rank, owner))  # stable: each run keeps its own order
    return tokens[order], owner[order]


def _string_value(text: bytes) -> bytes:
    """Value{string_value} framed as Layer.values; short strings (most) without varints."""
    if len(text) < 126:
        return bytes((0x22, len(text) + 2, 0x0A, len(text))) + text
    return _field(0x22, _field(0x0A, text))


def _string_values(texts: np.ndarray) -> bytes:
    """Values{string_value} of distinct texts; texts of one short length (cell ids) as
    one array, others one by one.
    """
    raw = [t.encode() for t in texts.tolist()]
    size = len(raw[0]) if raw else 0
    if raw and size < 126 and all(len(r) == size for r in raw):
        body = np.empty((len(raw), size + 4), np.uint8)
        body[:, :4] = (0x22, size + 2, 0x0A, size)
        body[:, 4:] = np.frombuffer(b"".join(raw), np.uint8).reshape(len(raw), size)
        return body.tobytes()
    return b"".join(_string_value(r) for r in raw)


class _Values:
    """The layer's keys and values tables, each value stored once."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.payload: list[bytes] = []
        self.count = 0

    def column(self, name: str, data: np.ndarray | pd.Series,
               keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tag pairs of one property (its rows where ``keep``): the rows that are not
        null, and their (key index, value index) pairs.
        """
        key = len(self.keys)
        self.keys.append(name)
        if isinstance(data, np.ndarray) and data.dtype.kind == "f":
            numbers = data[keep].astype(np.float64, copy=False)  # the grid's columns
            series = None
        else:
            series = pd.Series(data).reset_index(drop=True)[keep].reset_index(drop=True)
            numbers = None
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                numbers = series.to_numpy(np.float64, na_value=np.nan)
        if numbers is not None:
            rows = np.flatnonzero(~np.isnan(numbers))
            uniq, inverse = np.unique(numbers[rows], return_inverse=True)
            # Value{double_value}: 0x19 + 8 bytes little-endian, framed as Layer.values
            body = np.empty((len(uniq), 11), np.uint8)
            body[:, :3] = (0x22, 9, 0x19)
            body[:, 3:] = uniq.astype("<f8").view(np.uint8).reshape(-1, 8)
            self.payload.append(body.tobytes())
        else:
            assert series is not None
            mask = series.notna().to_numpy()
            rows = np.flatnonzero(mask)
            texts = series[mask].astype(str).to_numpy()
            uniq, inverse = np.unique(texts, return_inverse=True)
            self.payload.append(_string_values(uniq))
        first = self.count
        self.count += len(uniq)
        return rows, np.column_stack([np.full(len(rows), key), first + inverse.ravel()])

    def encoded(self) -> bytes:
        return (b"".join(_field(0x1A, k.encode()) for k in self.keys)
                + b"".join(self.payload))


def _layer(name: str, kind: int, geometry: np.ndarray, geometry_owner: np.ndarray,
           n: int, ids: np.ndarray | None, props: dict[str, np.ndarray | pd.Series],
           keep: np.ndarray, extent: int) -> bytes:
    """A Tile holding one layer: the ``n`` features of ``props``' rows where ``keep``."""
    values = _Values()
    tag_parts: list[tuple[np.ndarray, np.ndarray]] = []
    for column, data in props.items():
        rows, pairs = values.column(column, data, keep)
        tag_parts.append((pairs.ravel().astype(np.uint64), np.repeat(rows, 2)))
    if tag_parts:
        tags, tag_owner = _segments(tag_parts, n)
    else:
        tags, tag_owner = np.zeros(0, np.uint64), np.zeros(0, np.int64)
    tag_bytes = np.bincount(tag_owner, _varint_sizes(tags), minlength=n).astype(np.int64)
    geom_bytes = np.bincount(geometry_owner, _varint_sizes(geometry),
                             minlength=n).astype(np.int64)
    every = np.arange(n)
    has_tags = tag_bytes > 0
    tagged = every[has_tags]
    u = np.uint64
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    size = 2 + 1 + _varint_sizes(geom_bytes.astype(u)) + geom_bytes  # type, geometry
    if ids is not None:
        ids = np.asarray(ids, u)
        size += 1 + _varint_sizes(ids)
        parts.append((np.column_stack([np.full(n, 0x08, u), ids]).ravel(), np.repeat(every, 2)))
    size[has_tags] += 1 + _varint_sizes(tag_bytes[has_tags].astype(u)) + tag_bytes[has_tags]
    parts.append((np.column_stack([np.full(len(tagged), 0x12, u),
                                   tag_bytes[has_tags].astype(u)]).ravel(),
                  np.repeat(tagged, 2)))
    parts.append((tags, tag_owner))
    parts.append((np.column_stack([np.full(n, 0x18, u), np.full(n, kind, u),
                                   np.full(n, 0x22, u), geom_bytes.astype(u)]).ravel(),
                  np.repeat(every, 4)))
    parts.append((geometry, geometry_owner))
    # each feature framed as Layer.features (0x12, its size)
    parts.insert(0, (np.column_stack([np.full(n, 0x12, u), size.astype(u)]).ravel(),
                     np.repeat(every, 2)))
    stream, _ = _segments(parts, n)
    body = (_varint(0x78) + _varint(2) + _field(0x0A, name.encode()) + _varints(stream)
            + values.encoded() + _varint(0x28) + _varint(extent))
    return _field(0x1A, body)


def encode_points(name: str, tx: np.ndarray, ty: np.ndarray,
                  props: dict[str, np.ndarray | pd.Series], ids: np.ndarray | None = None,
                  extent: int = EXTENT, buffer: int = BUFFER) -> bytes:
    """A tile of point features (tile units, see ``to_tile``); b"" when none is inside
    the tile and its buffer. ``props`` are columns (numbers become doubles, anything else
    text; NaN and None leave the tag out).
    """
    tx, ty = np.asarray(tx, np.float64), np.asarray(ty, np.float64)
    keep = np.isfinite(tx) & np.isfinite(ty)  # an empty point has NaN coordinates
    keep &= (tx > -buffer - 0.5) & (tx < extent + buffer + 0.5)
    keep &= (ty > -buffer - 0.5) & (ty < extent + buffer + 0.5)
    x = np.rint(np.where(keep, tx, 0)).astype(np.int64)
    y = np.rint(np.where(keep, ty, 0)).astype(np.int64)
    n = int(keep.sum())
    if n == 0:
        return b""
    geometry = np.column_stack([np.full(n, (_MOVE_TO | (1 << 3)), np.uint64),
                                _zigzag(x[keep]), _zigzag(y[keep])]).ravel()
    owner = np.repeat(np.arange(n), 3)
    return _layer(name, POINT, geometry, owner, n, None if ids is None else np.asarray(ids)[keep],
                  props, keep, extent)


def encode_rings(name: str, tx: np.ndarray, ty: np.ndarray, offsets: np.ndarray,
                 props: dict[str, np.ndarray | pd.Series], ids: np.ndarray | None = None,
                 extent: int = EXTENT) -> bytes:
    """A tile of polygons of one ring each (hexagons, clipped or not): ring ``i`` is
    ``tx/ty[offsets[i]:offsets[i + 1]]``, open or closed. Rings left with fewer than three
    distinct points or no area once rounded are dropped; b"" when none is left.
    """
    offsets = np.asarray(offsets, np.int64)
    count = len(offsets) - 1
    if count <= 0:
        return b""
    x, y = np.rint(tx).astype(np.int64), np.rint(ty).astype(np.int64)
    ring = np.repeat(np.arange(count), np.diff(offsets))
    # drop repeated points, then a closing point equal to the ring's first
    same = np.zeros(len(x), bool)
    same[1:] = (x[1:] == x[:-1]) & (y[1:] == y[:-1]) & (ring[1:] == ring[:-1])
    x, y, ring = x[~same], y[~same], ring[~same]
    sizes = np.bincount(ring, minlength=count)
    starts = np.cumsum(sizes) - sizes
    last = starts + sizes - 1
    closing = np.zeros(len(x), bool)
    has = sizes > 1
    closing[last[has]] = (x[last[has]] == x[starts[has]]) & (y[last[has]] == y[starts[has]])
    x, y, ring = x[~closing], y[~closing], ring[~closing]
    sizes = np.bincount(ring, minlength=count)
    starts = np.cumsum(sizes) - sizes
    # surveyor's formula in tile units (y down): the spec's exterior rings are positive
    following = np.arange(len(x)) + 1
    filled = sizes > 0
    following[(starts + sizes - 1)[filled]] = starts[filled]  # wraps to the ring's first
    area = np.bincount(ring, x * y[following] - x[following] * y, minlength=count)
    keep = (sizes >= 3) & (area != 0)
    flip = np.repeat(area < 0, sizes)
    local = np.arange(len(x)) - np.repeat(starts, sizes)
    index = np.where(flip, np.repeat(starts + sizes - 1, sizes) - local, np.arange(len(x)))
    x, y = x[index], y[index]
    point_keep = np.repeat(keep, sizes)
    x, y, ring, local = x[point_keep], y[point_keep], ring[point_keep], local[point_keep]
    n = int(keep.sum())
    if n == 0:
        return b""
    new_id = np.cumsum(keep) - 1
    owner_of_point = new_id[ring]
    sizes = sizes[keep]
    dx = np.diff(x, prepend=0)
    dy = np.diff(y, prepend=0)
    first = local == 0
    dx[first], dy[first] = x[first], y[first]  # each feature starts at the cursor (0, 0)
    deltas = np.column_stack([_zigzag(dx), _zigzag(dy)]).ravel()
    u = np.uint64
    every = np.arange(n)
    point_owner = np.repeat(owner_of_point, 2)
    is_first = np.repeat(first, 2)
    parts = [
        (np.full(n, _MOVE_TO | (1 << 3), u), every),
        (deltas[is_first], point_owner[is_first]),
        ((_LINE_TO | ((sizes - 1) << 3)).astype(u), every),
        (deltas[~is_first], point_owner[~is_first]),
        (np.full(n, _CLOSE | (1 << 3), u), every),
    ]
    geometry, owner = _segments(parts, n)
    return _layer(name, POLYGON, geometry, owner, n,
                  None if ids is None else np.asarray(ids)[keep], props, keep, extent)
