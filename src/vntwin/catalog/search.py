"""package_search: an in-memory inverted index over the catalogue, kept current by revision.

Why not SQL LIKE or a search server: a two-word, three-facet query over 100,000 datasets
must answer in well under 50 ms on the embedded default (SQLite), with the same behaviour
on PostgreSQL. Each process keeps numpy arrays (one slot per dataset version) and token
postings; before each query it reads the catalogue revision (one row) and loads only the
datasets changed since. Updated datasets get a new slot and the old one is tombstoned;
the index is rebuilt when more than half the slots are dead.
"""

from __future__ import annotations

import bisect
import gc
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from vntwin.catalog.auth import Actor
from vntwin.catalog.models import Group, Package, PackageGroup, Resource
from vntwin.catalog.query import And, MatchAll, Node, Not, Or, Range, Term, parse
from vntwin.errors import SearchQueryError
from vntwin.text import fold, tokens

if TYPE_CHECKING:
    from vntwin.catalog.service import Catalog

# Field weights of the text search: title above tags above notes (and resource text).
WEIGHTS = {"title": 10.0, "tags": 4.0, "notes": 1.0}
KEYWORDS = {  # query field -> index column (single value per dataset)
    "id": "id", "name": "name", "organization": "org", "owner_org": "org",
    "license_id": "license_id", "access_level": "access_level", "state": "state",
    "type": "type", "dataset_type": "type", "update_frequency": "update_frequency",
    "capacity": "capacity", "private": "private",
}
MULTI = {"tags": "tags", "groups": "groups", "res_format": "res_format", "theme": "theme"}
DATES = {"metadata_modified": "modified", "metadata_created": "created"}
NUMBERS = {"num_resources": "num_resources", "num_tags": "num_tags"}
FACETABLE = {"organization", "tags", "groups", "res_format", "license_id", "access_level",
             "theme", "update_frequency", "type", "dataset_type", "capacity", "private"}
SORTABLE = {"score", "id", "name", "metadata_modified", "metadata_created", "title_string",
            "num_resources", "num_tags"}
MAX_ROWS = 1000
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass
class _Columns:
    """Parallel per-slot columns; categorical values are coded through ``vocab``."""

    ids: list[str] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    codes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    numbers: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sort_text: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    pairs: dict[str, tuple[list[int], list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: ([], [])))
    postings: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: {f: defaultdict(list) for f in WEIGHTS})


class _Vocab:
    """Value <-> integer code, per field; values are folded so matching ignores case
    and diacritics (``tags:"dan so"`` finds the tag "Dân số").
    """

    def __init__(self) -> None:
        self.code: dict[str, dict[str, int]] = defaultdict(dict)
        self.value: dict[str, list[str]] = defaultdict(list)

    def encode(self, fieldname: str, value: str) -> int:
        key = fold(value)
        table = self.code[fieldname]
        if key not in table:
            table[key] = len(self.value[fieldname])
            self.value[fieldname].append(value)
        return table[key]

    def lookup(self, fieldname: str, value: str) -> int | None:
        return self.code[fieldname].get(fold(value))


class SearchIndex:
    """The per-process search index of one catalogue."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self.revision = -1
        self.cols = _Columns()
        self.vocab = _Vocab()
        self.slot_of: dict[str, int] = {}
        self.orgs: dict[str, tuple[str, str]] = {}  # id -> (name, title)
        self.groups: dict[str, tuple[str, str]] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._sorted_tokens: dict[str, list[str]] = {}

    # -- keeping current -------------------------------------------------------------
    def refresh(self) -> None:
        """Catch up with the catalogue: load datasets changed since the last refresh."""
        current = self.cat.revision()
        with self._lock:
            if current <= self.revision:
                return
            dead = len(self.cols.ids) - len(self.slot_of)
            if dead > 1000 and dead > len(self.slot_of):
                self._reset()
            self._load_since(self.revision, current)
            self.revision = current
            # The index is hundreds of thousands of long-lived objects: move them out of
            # the collector's way, or each full collection stalls queries for ~0.2 s.
            gc.collect()
            gc.freeze()
            self._arrays.clear()
            self._sorted_tokens.clear()

    def _load_since(self, since: int, upto: int) -> None:
        with self.cat.read() as session:
            for g in session.execute(select(Group.id, Group.name, Group.title,
                                            Group.is_organization)):
                (self.orgs if g.is_organization else self.groups)[g.id] = (g.name, g.title)
            changed = (select(Package.id).where(Package.revision > since,
                                                Package.revision <= upto)).scalar_subquery()
            formats: dict[str, list[str]] = defaultdict(list)
            res_text: dict[str, list[str]] = defaultdict(list)
            for pid, fmt, name, desc in session.execute(
                select(Resource.package_id, Resource.format, Resource.name, Resource.description)
                .where(Resource.package_id.in_(changed), Resource.state == "active")
            ):
                if fmt:
                    formats[pid].append(fmt)
                res_text[pid].append(f"{name} {desc}")
            pkg_groups: dict[str, list[str]] = defaultdict(list)
            for pid, gid in session.execute(
                select(PackageGroup.package_id, PackageGroup.group_id)
                .where(PackageGroup.package_id.in_(changed))
            ):
                pkg_groups[pid].append(gid)
            rows = session.execute(
                select(Package.id, Package.name, Package.title, Package.title_en, Package.notes,
                       Package.notes_en, Package.tags, Package.theme, Package.license_id,
                       Package.access_level, Package.owner_org, Package.state, Package.type,
                       Package.update_frequency, Package.created, Package.modified)
                .where(Package.revision > since, Package.revision <= upto)
                .execution_options(yield_per=5000)
            )
            for row in rows:
                self._add(row, formats.get(row.id, []), res_text.get(row.id, []),
                          pkg_groups.get(row.id, []))

    def _add(self, row: Any, formats: list[str], res_text: list[str], groups: list[str]) -> None:
        old = self.slot_of.pop(row.id, None)
        if old is not None:
            self.cols.alive[old] = False
        if row.state == "deleted":
            return
        c = self.cols
        slot = len(c.ids)
        self.slot_of[row.id] = slot
        c.ids.append(row.id)
        c.alive.append(True)
        enc = self.vocab.encode
        single = {
            "id": row.id, "name": row.name, "org": row.owner_org or "",
            "license_id": row.license_id, "access_level": row.access_level,
            "state": row.state, "type": row.type, "update_frequency": row.update_frequency,
            "capacity": "public" if row.access_level == "public" else "private",
            "private": "false" if row.access_level == "public" else "true",
        }
        for col, value in single.items():
            c.codes[col].append(enc(col, value))
        c.numbers["modified"].append(row.modified.timestamp())
        c.numbers["created"].append(row.created.timestamp())
        c.numbers["num_resources"].append(float(len(res_text)))
        c.numbers["num_tags"].append(float(len(row.tags)))
        c.sort_text["name"].append(row.name)
        c.sort_text["id"].append(row.id)
        c.sort_text["title_string"].append(fold(row.title or row.name))
        for col, values in (("tags", row.tags), ("res_format", formats), ("groups", groups),
                            ("theme", row.theme)):
            slots, codes = c.pairs[col]
            for value in dict.fromkeys(values):
                slots.append(slot)
                codes.append(enc(col, value))
        texts = {
            "title": f"{row.title} {row.title_en} {row.name.replace('-', ' ')}",
            "tags": " ".join(row.tags),
            "notes": " ".join([row.notes, row.notes_en, *res_text,
                               self.orgs.get(row.owner_org or "", ("", ""))[1]]),
        }
        for fname, text in texts.items():
            postings = c.postings[fname]
            for tok in set(tokens(text)):
                postings[tok].append(slot)

    # -- arrays ------------------------------------------------------------------------
    def _array(self, key: str, build: Any, dtype: Any) -> np.ndarray:
        arr = self._arrays.get(key)
        if arr is None:
            arr = np.asarray(build(), dtype=dtype)
            self._arrays[key] = arr
        return arr

    def _codes(self, col: str) -> np.ndarray:
        return self._array(f"c:{col}", lambda: self.cols.codes[col], np.int32)

    def _numbers(self, col: str) -> np.ndarray:
        return self._array(f"n:{col}", lambda: self.cols.numbers[col], np.float64)

    def _pairs(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        slots, codes = self.cols.pairs[col]
        return (self._array(f"ps:{col}", lambda: slots, np.int64),
                self._array(f"pc:{col}", lambda: codes, np.int32))

    def _posting(self, fname: str, tok: str) -> np.ndarray:
        # Unknown tokens are not cached: queries must not grow the cache without bound.
        if tok not in self.cols.postings[fname]:
            return _EMPTY
        return self._array(f"t:{fname}:{tok}", lambda: self.cols.postings[fname][tok], np.int64)

    def _prefix_tokens(self, fname: str, prefix: str) -> list[str]:
        toks = self._sorted_tokens.get(fname)
        if toks is None:
            toks = sorted(self.cols.postings[fname])
            self._sorted_tokens[fname] = toks
        start = bisect.bisect_left(toks, prefix)
        out = []
        for tok in toks[start:]:
            if not tok.startswith(prefix):
                break
            out.append(tok)
            if len(out) > 500:
                break
        return out

    # -- evaluation --------------------------------------------------------------------
    def _eval(self, node: Node, n: int, score: np.ndarray | None) -> np.ndarray:
        if isinstance(node, MatchAll):
            return np.ones(n, dtype=bool)
        if isinstance(node, And):
            mask = np.ones(n, dtype=bool)
            for child in node.children:
                mask &= self._eval(child, n, score)
            return mask
        if isinstance(node, Or):
            mask = np.zeros(n, dtype=bool)
            for child in node.children:
                mask |= self._eval(child, n, score)
            return mask
        if isinstance(node, Not):
            return ~self._eval(node.child, n, None)
        if isinstance(node, Range):
            return self._eval_range(node, n)
        return self._eval_term(node, n, score)

    def _eval_text(self, fields: tuple[str, ...], value: str, prefix: bool, n: int,
                   score: np.ndarray | None) -> np.ndarray:
        words = tokens(value)
        if not words:
            return np.ones(n, dtype=bool)
        mask = np.ones(n, dtype=bool)
        for i, word in enumerate(words):
            word_mask = np.zeros(n, dtype=bool)
            as_prefix = prefix and i == len(words) - 1
            for fname in fields:
                toks = self._prefix_tokens(fname, word) if as_prefix else [word]
                for tok in toks:
                    slots = self._posting(fname, tok)
                    word_mask[slots] = True
                    if score is not None:
                        score[slots] += WEIGHTS[fname]
            mask &= word_mask
        return mask

    def _eval_term(self, term: Term, n: int, score: np.ndarray | None) -> np.ndarray:
        fname = term.field
        if fname is None or fname == "text":
            return self._eval_text(tuple(WEIGHTS), term.value, term.prefix, n, score)
        if fname in ("title", "notes"):
            return self._eval_text((fname,), term.value, term.prefix, n, score)
        value = self._resolve_ref(fname, term.value)
        if fname in KEYWORDS:
            col = KEYWORDS[fname]
            codes = self._codes(col)
            if term.prefix:
                wanted = [code for key, code in self.vocab.code[col].items()
                          if key.startswith(fold(value))]
                return np.isin(codes, wanted)
            code = self.vocab.lookup(col, value)
            return codes == code if code is not None else np.zeros(n, dtype=bool)
        if fname in MULTI:
            col = MULTI[fname]
            slots, codes = self._pairs(col)
            mask = np.zeros(n, dtype=bool)
            if term.prefix:
                wanted = [c for k, c in self.vocab.code[col].items() if k.startswith(fold(value))]
                mask[slots[np.isin(codes, wanted)]] = True
            else:
                code = self.vocab.lookup(col, value)
                if code is not None:
                    mask[slots[codes == code]] = True
            return mask
        if fname in DATES or fname in NUMBERS:
            return self._eval_range(Range(fname, term.value, term.value, True, True), n)
        raise SearchQueryError(f"unknown search field {fname!r}")

    def _resolve_ref(self, fname: str, value: str) -> str:
        """Organisations and groups are indexed by id; queries name them."""
        if fname == "organization":
            for oid, (name, _) in self.orgs.items():
                if name == value:
                    return oid
        if fname == "groups":
            for gid, (name, _) in self.groups.items():
                if name == value:
                    return gid
        return value

    def _eval_range(self, rng: Range, n: int) -> np.ndarray:
        if rng.field in DATES:
            values = self._numbers(DATES[rng.field])
            low = _parse_time(rng.low) if rng.low else None
            high = _parse_time(rng.high) if rng.high else None
        elif rng.field in NUMBERS:
            values = self._numbers(NUMBERS[rng.field])
            try:
                low = float(rng.low) if rng.low else None
                high = float(rng.high) if rng.high else None
            except ValueError:
                raise SearchQueryError(f"{rng.field} range needs numbers") from None
        elif rng.low is None and rng.high is None and (rng.field in KEYWORDS or rng.field in MULTI):
            if rng.field in MULTI:
                mask = np.zeros(n, dtype=bool)
                mask[self._pairs(MULTI[rng.field])[0]] = True
                return mask
            return np.ones(n, dtype=bool)
        else:
            raise SearchQueryError(f"range queries are not supported on {rng.field!r}")
        mask = np.ones(n, dtype=bool)
        if low is not None:
            mask &= values >= low if rng.include_low else values > low
        if high is not None:
            mask &= values <= high if rng.include_high else values < high
        return mask

    # -- public ------------------------------------------------------------------------
    def search(self, actor: Actor, params: SearchParams) -> dict[str, Any]:
        """Run a search; returns ids of the page plus count and facets."""
        self.refresh()
        with self._lock:
            return self._search(actor, params)

    def _visible(self, actor: Actor, n: int, include_private: bool,
                 include_drafts: bool) -> np.ndarray:
        alive = self._array("alive", lambda: self.cols.alive, bool)
        state = self._codes("state")
        active = self.vocab.lookup("state", "active")
        mask = alive & (state == active if active is not None else False)
        if include_drafts:
            draft = self.vocab.lookup("state", "draft")
            if draft is not None:
                orgs_codes = [self.vocab.lookup("org", o) for o, r in actor.roles.items()
                              if r in ("admin", "editor")]
                editable = [c for c in orgs_codes if c is not None]
                can_edit = (np.ones(n, dtype=bool) if actor.sysadmin
                            else np.isin(self._codes("org"), editable))
                mask |= alive & (state == draft) & can_edit
        level = self._codes("access_level")
        public = self.vocab.lookup("access_level", "public")
        readable = level == public if public is not None else np.zeros(n, dtype=bool)
        if include_private and not actor.anonymous:
            if actor.sysadmin:
                readable = np.ones(n, dtype=bool)
            else:
                agencies = self.vocab.lookup("access_level", "agencies")
                if actor.roles and agencies is not None:
                    readable = readable | (level == agencies)
                member_orgs = [self.vocab.lookup("org", o) for o in actor.roles]
                readable = readable | np.isin(self._codes("org"),
                                              [c for c in member_orgs if c is not None])
        return mask & readable

    def _search(self, actor: Actor, p: SearchParams) -> dict[str, Any]:
        n = len(self.cols.ids)
        score = np.zeros(n, dtype=np.float64)
        mask = self._visible(actor, n, p.include_private, p.include_drafts)
        mask &= self._eval(parse(p.q), n, score)
        for fq in p.fq:
            mask &= self._eval(parse(fq), n, None)
        hits = np.flatnonzero(mask)
        count = int(hits.size)
        order = self._order(hits, score, p.sort)
        page = hits[order[p.start:p.start + p.rows]] if p.rows else hits[:0]
        ids = [self.cols.ids[i] for i in page]
        facets = {f: self._facet(f, hits, p.facet_limit, p.facet_mincount) for f in p.facet_fields}
        return {"count": count, "ids": ids, "facets": facets}

    def _order(self, hits: np.ndarray, score: np.ndarray, sort: str) -> np.ndarray:
        keys: list[np.ndarray] = []
        for clause in reversed([c.strip() for c in sort.split(",") if c.strip()]):
            fieldname, _, direction = clause.partition(" ")
            direction = direction.strip().lower() or "asc"
            if fieldname not in SORTABLE or direction not in ("asc", "desc"):
                raise SearchQueryError(f"cannot sort by {clause!r}; sortable: "
                                       f"{', '.join(sorted(SORTABLE))} with asc or desc")
            if fieldname == "score":
                key = score[hits]
            elif fieldname in DATES:
                key = self._numbers(DATES[fieldname])[hits]
            elif fieldname in NUMBERS:
                key = self._numbers(NUMBERS[fieldname])[hits]
            else:
                text = self.cols.sort_text[fieldname]
                ranks = self._array(f"rank:{fieldname}", lambda t=text: _ranks(t), np.int64)
                key = ranks[hits]
            keys.append(-key if direction == "desc" else key)
        if not keys:
            return np.arange(hits.size)
        return np.lexsort(keys)

    def _facet(self, fname: str, hits: np.ndarray, limit: int,
               mincount: int) -> list[tuple[str, int]]:
        if fname not in FACETABLE:
            raise SearchQueryError(f"cannot facet on {fname!r}; facet fields: "
                                   f"{', '.join(sorted(FACETABLE))}")
        if fname in MULTI:
            col = MULTI[fname]
            slots, codes = self._pairs(col)
            selected = np.zeros(len(self.cols.ids), dtype=bool)
            selected[hits] = True
            counts = np.bincount(codes[selected[slots]], minlength=len(self.vocab.value[col]))
        else:
            col = KEYWORDS[fname]
            counts = np.bincount(self._codes(col)[hits], minlength=len(self.vocab.value[col]))
        order = np.argsort(-counts, kind="stable")
        out: list[tuple[str, int]] = []
        for code in order:
            if counts[code] < max(mincount, 1) or (0 <= limit <= len(out)):
                break
            out.append((self.vocab.value[col][code], int(counts[code])))
        return out

    def display_name(self, fname: str, value: str) -> tuple[str, str]:
        """(name, display name) of a facet value: organisations and groups by title."""
        if fname == "organization" and value in self.orgs:
            name, title = self.orgs[value]
            return name, title or name
        if fname == "groups" and value in self.groups:
            name, title = self.groups[value]
            return name, title or name
        return value, value


def _ranks(values: list[str]) -> np.ndarray:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(len(values))
    return ranks


def _parse_time(text: str) -> float:
    """ISO 8601 instants, dates, and Solr's ``NOW`` / ``NOW-7DAYS``."""
    upper = text.upper()
    if upper.startswith("NOW"):
        now = datetime.now(UTC)
        rest = upper[3:]
        if not rest:
            return now.timestamp()
        units = {"DAY": "days", "DAYS": "days", "HOUR": "hours", "HOURS": "hours",
                 "MINUTE": "minutes", "MINUTES": "minutes"}
        sign, body = rest[0], rest[1:]
        digits = "".join(ch for ch in body if ch.isdigit())
        unit = units.get(body[len(digits):])
        if sign not in "+-" or not digits or unit is None:
            raise SearchQueryError(f"cannot read time {text!r}")
        delta = timedelta(**{unit: int(digits)})
        return (now + delta if sign == "+" else now - delta).timestamp()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchQueryError(f"cannot read time {text!r}; use ISO 8601") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


@dataclass
class SearchParams:
    """package_search's parameters after type conversion."""

    q: str = ""
    fq: list[str] = field(default_factory=list)
    rows: int = 10
    start: int = 0
    sort: str = "score desc, metadata_modified desc"
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = 50
    facet_mincount: int = 1
    include_private: bool = False
    include_drafts: bool = False
