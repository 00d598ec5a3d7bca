"""The canonical vocabulary of the twin: variables, their units and kinds, loaded from data.

The vocabulary is a TOML file (``vocabulary.toml`` beside this module), not code, so that a
new variable or a new spelling agencies use is a data change. Schema matching
(:mod:`vntwin.twin.matching`) maps incoming columns onto it; fusion reads each variable's
``kind`` as the default for how to aggregate it.

Example:
>>> from vntwin.twin.vocabulary import load_vocabulary
>>> vocab = load_vocabulary()
>>> vocab["population"].unit, vocab["population"].kind
('persons', 'extensive')

"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vntwin.errors import NotFound, VntwinError
from vntwin.text import nfc, tokens

__all__ = [
    "DEFAULT_PATH",
    "STRUCTURAL_ROLES",
    "Unit",
    "Variable",
    "Vocabulary",
    "VocabularyError",
    "load_vocabulary",
    "name_key",
    "parse_vocabulary",
]

DEFAULT_PATH = Path(__file__).with_name("vocabulary.toml")
STRUCTURAL_ROLES = ("place", "time", "identifier", "geometry", "note")
_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

Kind = Literal["extensive", "intensive", "categorical"]


class VocabularyError(VntwinError):
    """The vocabulary file is unreadable or an entry in it is invalid (the message names it)."""


def name_key(text: str) -> str:
    """The form two names are compared in: folded, word characters only, no separators.

    ``"Dân số"``, ``"dan_so"``, ``"DanSo"`` and ``"dan so"`` all give ``"danso"``.
    """
    return "".join(tokens(text.replace("_", " ")))


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Entry):
    """A unit a column name may carry, and its conversion within its dimension."""

    code: str = Field(min_length=1)
    dimension: str = Field(min_length=1)
    factor: float = Field(gt=0, description="value in the dimension's base = value * factor")
    aliases: tuple[str, ...] = ()
    bracket_aliases: tuple[str, ...] = ()


class Variable(_Entry):
    """One canonical variable of the twin (see the header of ``vocabulary.toml``)."""

    id: str
    label_vi: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    kind: Kind
    synonyms: tuple[str, ...]
    abbreviations: tuple[str, ...] = ()
    unit_aliases: tuple[str, ...] = ()
    value_range: tuple[float, float] | None = None
    typical_range: tuple[float, float] | None = None
    integer: bool = False
    group: str | None = None

    @field_validator("id")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"id {value!r} is not snake_case (a-z, 0-9, single underscores)")
        return value

    @field_validator("label_vi", "label_en")
    @classmethod
    def _nfc(cls, value: str) -> str:
        return nfc(value)

    @field_validator("synonyms")
    @classmethod
    def _two_synonyms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len({name_key(s) for s in value if name_key(s)}) < 2:
            raise ValueError("needs at least 2 distinct synonyms (after folding)")
        return tuple(nfc(s) for s in value)

    @field_validator("value_range", "typical_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError(f"range {list(value)} must be [min, max] with min < max")
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """Every unambiguous name: synonyms, both labels and the id."""
        return (*self.synonyms, self.label_vi, self.label_en, self.id)


class Vocabulary:
    """The variables by id, the units by code, the names of non-variable columns, and the
    filler words ("number of", "total", "average") that names may start or end with.

    Look-ups: ``vocab["population"]`` (raises :class:`~vntwin.errors.NotFound`),
    ``vocab.get(id)``, ``id in vocab``, ``len(vocab)``, iteration in file order.
    """

    def __init__(self, variables: Sequence[Variable], units: Sequence[Unit] = (),
                 structural: Mapping[str, Sequence[str]] | None = None,
                 filler_prefixes: Sequence[str] = (),
                 filler_suffixes: Sequence[str] = ()) -> None:
        self.variables: tuple[Variable, ...] = tuple(variables)
        self.units: tuple[Unit, ...] = tuple(units)
        self.structural: dict[str, tuple[str, ...]] = {
            role: tuple((structural or {}).get(role, ())) for role in STRUCTURAL_ROLES}
        self.filler_prefixes: tuple[str, ...] = tuple(filler_prefixes)
        self.filler_suffixes: tuple[str, ...] = tuple(filler_suffixes)
        self._by_id = {v.id: v for v in self.variables}
        self._units = {u.code: u for u in self.units}

    def __getitem__(self, variable_id: str) -> Variable:
        try:
            return self._by_id[variable_id]
        except KeyError:
            raise NotFound(f"no variable {variable_id!r} in the vocabulary") from None

    def get(self, variable_id: str) -> Variable | None:
        """The variable with this id, or None."""
        return self._by_id.get(variable_id)

    def __contains__(self, variable_id: object) -> bool:
        return variable_id in self._by_id

    def __iter__(self) -> Iterator[Variable]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    @property
    def ids(self) -> list[str]:
        """Every variable id, in file order."""
        return list(self._by_id)

    def unit(self, code: str) -> Unit | None:
        """The unit with this code, or None for a unit the table does not list (counts)."""
        return self._units.get(code)


def _check(model: type[_Entry], raw: Any, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise VocabularyError(f"{where}: expected a table, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors())
        raise VocabularyError(f"{where}: {problems}") from None


def parse_vocabulary(data: Mapping[str, Any], source: str = "vocabulary") -> Vocabulary:
    """Validate parsed TOML (a dict) into a :class:`Vocabulary`.

    Raises :class:`VocabularyError` naming the entry (``variable #3 'households'``) for a
    missing or malformed field, a duplicate id, or an unambiguous synonym claimed by two
    variables (abbreviations may be shared: the values decide between them).
    """
    raw_vars = data.get("variable")
    if not isinstance(raw_vars, list) or not raw_vars:
        raise VocabularyError(f"{source}: no [[variable]] entries")
    variables: list[Variable] = []
    owner: dict[str, str] = {}
    for i, raw in enumerate(raw_vars, 1):
        label = raw.get("id", "?") if isinstance(raw, Mapping) else "?"
        var = _check(Variable, raw, f"{source}: variable #{i} {label!r}")
        if var.id in {v.id for v in variables}:
            raise VocabularyError(f"{source}: variable #{i} {var.id!r}: duplicate id")
        for name in var.names:
            key = name_key(name)
            if key and owner.setdefault(key, var.id) != var.id:
                raise VocabularyError(
                    f"{source}: variable #{i} {var.id!r}: synonym {name!r} already names "
                    f"{owner[key]!r}; move it to `abbreviations` in both if it is ambiguous")
        variables.append(var)
    units = [_check(Unit, raw, f"{source}: unit #{i} {raw.get('code', '?')!r}")
             for i, raw in enumerate(data.get("unit", []), 1)]
    structural = data.get("structural", {})
    unknown = set(structural) - set(STRUCTURAL_ROLES)
    if unknown:
        raise VocabularyError(f"{source}: [structural] has unknown roles {sorted(unknown)}; "
                              f"known: {list(STRUCTURAL_ROLES)}")
    filler = {key: data.get(key, []) for key in ("filler_prefixes", "filler_suffixes")}
    for key, words in filler.items():
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise VocabularyError(f"{source}: {key} must be a list of strings")
    return Vocabulary(variables, units, structural, filler["filler_prefixes"],
                      filler["filler_suffixes"])


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Load and validate a vocabulary file; the packaged one when ``path`` is None (cached)."""
    if path is None:
        return _default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default() -> Vocabulary:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> Vocabulary:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VocabularyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise VocabularyError(f"{path}: not valid TOML: {exc}") from None
    return parse_vocabulary(data, str(path))
