"""``$filter`` paths of an entity set: properties, JSON keys and navigation paths through
any number of levels (``Datastream/Thing/name`` of an Observation, ``Datastreams/name``
of a Thing: true when any of its Datastreams matches, as STA servers read it).

A navigation path is a :class:`NavPath`: compared with a value, it becomes
``fk IN (SELECT id FROM target WHERE ...)`` for a to-one step (an indexed semi-join, not
a subquery per row) and ``EXISTS (SELECT ... WHERE related AND ...)`` for a to-many one;
used in arithmetic beside another column, it is a scalar subquery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from vntwin.live.sta_expr import Deferred, binary, concrete, condition, error, fit
from vntwin.live.sta_geo import LocationGeometry
from vntwin.live.sta_model import SETS, EntitySet, Nav

MAX_PATH = 6


class NavPath(Deferred):
    """``nav/...``: the value ``inner`` of the entities ``nav`` leads to from ``parent``."""

    is_path = True

    def __init__(self, parent: EntitySet, nav: Nav, inner: Any) -> None:
        self.parent, self.nav, self.inner = parent, nav, inner

    def map_inner(self, fn: Callable[[Any], Any]) -> NavPath:
        """The same path around ``fn(inner)``."""
        return NavPath(self.parent, self.nav, fn(self.inner))

    def _wrap(self, cond: Any) -> ColumnElement[bool]:
        target = SETS[self.nav.target].model
        if self.nav.fk is not None:
            return self.nav.fk.in_(select(target.id).where(cond))  # type: ignore[no-any-return]
        return exists(select(target.id).where(self.nav.related(self.parent.model), cond)
                      .correlate(self.parent.model))

    def compare(self, op: str, other: Any) -> Any:
        """The entities related through the path where ``inner op other`` holds."""
        if isinstance(self.inner, Deferred):
            return self._wrap(self.inner.compare(op, other))
        return self._wrap(binary(self.inner, op, fit(other, self.inner)))

    def as_condition(self) -> Any:
        """A boolean at the end of the path (``startswith(Datastreams/name, 'PM')``)."""
        return self._wrap(condition(self.inner))

    def typed(self, other: Any) -> Any:
        """The value as a scalar subquery (to-one paths only: one value per row)."""
        if self.nav.many:
            raise error(f"{self.nav.target} are many: a path through them can only be "
                        "compared (any of them matching), not computed with")
        target = SETS[self.nav.target].model
        return (select(concrete(self.inner, other)).select_from(target)
                .where(self.nav.related(self.parent.model)).correlate(self.parent.model)
                .limit(1).scalar_subquery())


def resolver(entity_set: EntitySet, session: Session | None = None) -> Callable[[str], Any]:
    """Resolves ``$filter`` paths of ``entity_set``; ``session`` reads what spatial
    functions need (Locations' geometries).
    """
    def resolve(path: str) -> Any:
        parts = path.split("/")
        if len(parts) > MAX_PATH + 2:
            raise error(f"{path!r} is longer than {MAX_PATH} navigation steps")
        return _resolve(entity_set, parts, (entity_set.name,), session)

    return resolve


def _resolve(entity_set: EntitySet, parts: list[str], seen: tuple[str, ...],
             session: Session | None) -> Any:
    head = parts[0]
    nav = entity_set.navs.get(head)
    if nav is None:
        if entity_set.name == "Locations" and parts == ["location"]:
            return LocationGeometry(session)
        return entity_set.column("/".join(parts))
    if len(parts) == 1:
        raise error(f"{head} is an entity, not a value: name one of its properties "
                    f"({head}/name, {head}/@iot.id)")
    if nav.target in seen:
        raise error(f"the path {'/'.join(parts)!r} comes back to {nav.target}, "
                    f"already on the way ({'/'.join(seen)})")
    target = SETS[nav.target]
    if not nav.many and len(parts) == 2 and parts[1] in ("id", "@iot.id"):
        return nav.fk  # Datastream/@iot.id: the column itself
    return NavPath(entity_set, nav, _resolve(target, parts[1:], (*seen, nav.target), session))


__all__ = ["NavPath", "resolver"]
