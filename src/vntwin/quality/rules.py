"""The quality rules file: dimensions, checks, weights and thresholds, as data.

The packaged ``rules.toml`` (beside this module) is used unless ``VNTWIN_QUALITY_RULES``
names another file. The file is validated when loaded, so a typo in a weight fails with
a message naming the entry instead of producing odd scores.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vntwin.errors import VntwinError

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
DIMENSIONS = ("accurate", "sufficient", "clean", "live", "unified", "shared")


class RulesError(VntwinError):
    """The rules file is unreadable or invalid; the message names the entry."""


class Dimension(BaseModel):
    """A dimension's weight in the overall score and its labels."""

    model_config = ConfigDict(extra="forbid")
    weight: float = Field(ge=0)
    label_vi: str
    label_en: str


class Check(BaseModel):
    """One check: its dimension, weight, labels, advice, and its own parameters."""

    model_config = ConfigDict(extra="allow")
    dimension: str
    weight: float = Field(ge=0)
    label_vi: str
    label_en: str
    advice_vi: str = ""
    advice_en: str = ""

    def param(self, name: str, default: Any = None) -> Any:
        """A check-specific parameter (``tolerance_km``, ``patterns``...)."""
        return (self.model_extra or {}).get(name, default)


class Rules(BaseModel):
    """The whole rules file."""

    model_config = ConfigDict(extra="forbid")
    version: str
    max_rows_per_finding: int = Field(ge=1, le=100_000)
    max_examples: int = Field(ge=0, le=100)
    dimensions: dict[str, Dimension]
    checks: dict[str, Check]
    frequencies: dict[str, float]

    def check(self, check_id: str) -> Check:
        """The rules of one check (KeyError names an unknown check: a bug, not input)."""
        return self.checks[check_id]


def parse_rules(data: dict[str, Any], source: str = "rules") -> Rules:
    """Validate parsed TOML into :class:`Rules`."""
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise RulesError(f"{source}: {problems}") from None
    if set(rules.dimensions) != set(DIMENSIONS):
        raise RulesError(f"{source}: [dimensions] must list exactly {', '.join(DIMENSIONS)}")
    for check_id, check in rules.checks.items():
        if check.dimension not in DIMENSIONS:
            raise RulesError(f"{source}: checks.{check_id}: unknown dimension "
                             f"{check.dimension!r}")
    return rules


def load_rules(path: Path | None = None) -> Rules:
    """The rules in ``path``, or the packaged ones (cached per path)."""
    return _load(Path(path) if path else DEFAULT_RULES)


@lru_cache(maxsize=8)
def _load(path: Path) -> Rules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    return parse_rules(data, str(path))
