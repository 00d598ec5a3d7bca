"""What checks see and return, and the registry they join.

A check is a function ``(Context) -> CheckResult | None`` registered with
:func:`check` under the id its rules use in ``rules.toml``; it returns None when there is
nothing for it to measure (no coordinates, no time columns...), so an absent feature
never counts as a perfect or a failed score. The six dimension modules register the
built-in checks the same way a plug-in would add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vntwin.quality.rules import Check, Rules
from vntwin.quality.tables import Table, Tables

if TYPE_CHECKING:
    from vntwin.twin.admin import AdminUnits


@dataclass
class Finding:
    """One problem, with the rows (or items) it was found in."""

    check: str
    message: str
    count: int
    resource_id: str | None = None
    resource_name: str | None = None
    column: str | None = None
    rows: list[int] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's, the report's and the stored one)."""
        return {"check": self.check, "message": self.message, "count": self.count,
                "resource_id": self.resource_id, "resource_name": self.resource_name,
                "column": self.column, "rows": self.rows, "examples": self.examples}


@dataclass
class CheckResult:
    """A check's measure: ``passed`` out of ``total`` units, and the findings."""

    passed: float
    total: float
    findings: list[Finding] = field(default_factory=list)
    unit: str = "values"
    note: str = ""

    @property
    def score(self) -> float | None:
        """0-100, or None when nothing was measured."""
        if self.total <= 0:
            return None
        return round(100.0 * max(0.0, min(self.passed, self.total)) / self.total, 2)


@dataclass
class Context:
    """Everything a check may look at for one dataset."""

    pkg: dict[str, Any]
    tables: Tables
    rules: Rules
    now: datetime
    admin_loader: Callable[[], AdminUnits | None]
    facts: dict[str, Any] = field(default_factory=dict)
    _admin: Any = None
    _admin_loaded: bool = False

    @property
    def admin(self) -> AdminUnits | None:
        """The administrative units, loaded on first use (None when unavailable)."""
        if not self._admin_loaded:
            self._admin = self.admin_loader()
            self._admin_loaded = True
        return self._admin  # type: ignore[no-any-return]

    def rules_of(self, check_id: str) -> Check:
        """The check's entry in the rules file."""
        return self.rules.check(check_id)

    @property
    def max_rows(self) -> int:
        """Most row numbers one finding lists."""
        return self.rules.max_rows_per_finding

    def rows_finding(self, check_id: str, table: Table, column: Any, condition: str,
                     message: str, count: int | None = None,
                     params: tuple[Any, ...] = (), with_examples: bool = True) -> Finding:
        """A finding listing the rows of ``table`` where ``condition`` holds."""
        if count is None:
            count = int(table.scalar(f"SELECT count(*) FROM {table.rel} WHERE {condition}",
                                     params) or 0)
        examples = table.examples(column, condition, self.rules.max_examples, params) \
            if column is not None and with_examples else []
        return Finding(check_id, message, count, table.resource_id, table.resource_name,
                       column.name if column is not None else None,
                       table.row_ids(condition, self.max_rows, params), examples)


CheckFn = Callable[[Context], "CheckResult | None"]
CHECKS: dict[str, CheckFn] = {}


def check(check_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under its id in the rules file."""
    def register(fn: CheckFn) -> CheckFn:
        CHECKS[check_id] = fn
        return fn
    return register
