"""Measuring, storing and reading datasets' quality: the calls pages and APIs make.

- :func:`quality_for`: a dataset's report for a caller allowed to see the dataset,
  measured again first when the dataset changed since the stored score (its *stamp*:
  the catalogue revision of its last change, the size and time of each datastore table
  it reads, and the rules' version) — so a score is never older than the data;
- :func:`refresh`: measure and store one dataset now (the write hook and the CLI);
- :func:`refresh_all`: every dataset, e.g. after the demo is loaded.

*Live* is measured again on every read from facts stored with the score, because
freshness changes with the calendar, not with the data.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vntwin.catalog.auth import Actor
from vntwin.catalog.lookup import get_package
from vntwin.catalog.models import Package, utcnow
from vntwin.catalog.service import Catalog
from vntwin.datastore.files import is_resource_id
from vntwin.errors import NotFound
from vntwin.quality.rules import Rules, load_rules
from vntwin.quality.scorer import reevaluate_live, score
from vntwin.quality.store import QualityScore, load_score, save_score
from vntwin.quality.tables import Tables

log = logging.getLogger(__name__)
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
PARQUET_FORMATS = ("PARQUET", "GEOPARQUET")


def rules_for(cat: Catalog) -> Rules:
    """The rules in force: ``VNTWIN_QUALITY_RULES`` or the packaged file."""
    return load_rules(cat.settings.quality_rules)


def _lock(package_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(package_id, threading.Lock())


def _sources(cat: Catalog, pkg: dict[str, Any]) -> list[tuple[str, Path, str, str]]:
    """(kind, path, resource id, name) of each measurable table, in resource order."""
    out = []
    for res in pkg.get("resources") or []:
        rid = str(res.get("id") or "")
        name = str(res.get("name") or rid)
        path = cat.settings.datastore_dir / f"{rid}.duckdb"
        if res.get("datastore_active") and is_resource_id(rid) and path.is_file():
            out.append(("datastore", path, rid, name))
        elif str(res.get("format") or "").upper() in PARQUET_FORMATS \
                and res.get("url_type") == "upload" and res.get("hash"):
            stored = cat.uploads.path_for(str(res["hash"]).removeprefix("sha256:"))
            if stored.is_file():
                out.append(("parquet", stored, rid, name))
    return out


def stamp(cat: Catalog, package_id: str, revision: int, pkg: dict[str, Any]) -> str:
    """What a stored score must match to be fresh (see the module's docstring)."""
    parts = [str(revision), rules_for(cat).version, str(cat.settings.quality_rules or "")]
    for kind, path, rid, _ in _sources(cat, pkg):
        info = path.stat()
        parts.append(f"{kind}:{rid}:{info.st_size}:{info.st_mtime_ns}")
    return f"{revision}:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _admin_loader(cat: Catalog) -> Any:
    def load() -> Any:
        from vntwin.twin.admin import AdminUnits

        try:
            return AdminUnits.load(cat.settings.admin_dir)
        except Exception:  # missing npm data or a broken cache: measure the rest
            from vntwin.quality.refresh import stopping

            if not stopping():  # at shutdown, library thread pools refuse work: expected
                log.warning("administrative units unavailable for quality checks",
                            exc_info=True)
            return None
    return load


def measure(cat: Catalog, pkg: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The report of a dataset dict (``package_show``'s), without storing it."""
    now = now or utcnow()
    tables = Tables()
    try:
        for kind, path, rid, name in _sources(cat, pkg):
            if kind == "datastore":
                tables.add_datastore(path, rid, name)
            else:
                tables.add_parquet(path, rid, name)
        return score(pkg, tables, rules_for(cat), now, _admin_loader(cat))
    finally:
        tables.close()


def refresh(cat: Catalog, package_id: str, *, force: bool = False) -> dict[str, Any] | None:
    """Measure and store a dataset unless its stored score is fresh; None if it is gone."""
    from vntwin.catalog import packages
    from vntwin.catalog.users import SYSTEM

    with _lock(package_id):
        with cat.read() as session:
            row = session.get(Package, package_id)
            if row is None or row.state == "deleted":
                return None
            revision = row.revision
        pkg = packages.show(cat, SYSTEM, package_id)
        current = stamp(cat, package_id, revision, pkg)
        with cat.read() as session:
            stored = load_score(session, package_id)
            if stored is not None and stored.stamp == current and not force:
                return dict(stored.report)
        started = time.perf_counter()
        report = measure(cat, pkg)
        seconds = time.perf_counter() - started
        report["seconds"] = round(seconds, 3)
        with cat.sessions() as session, session.begin():
            if session.get(Package, package_id) is not None:
                save_score(session, package_id, current, report, seconds)
        return report


def quality_for(cat: Catalog, actor: Actor, ref: str, *,
                now: datetime | None = None) -> dict[str, Any]:
    """The dataset's quality report for a caller who may see the dataset (NotFound
    otherwise), measured again first if the dataset changed.
    """
    with cat.read() as session:
        pkg = get_package(session, actor, ref)
        package_id = pkg.id
    report = refresh(cat, package_id)
    if report is None:
        raise NotFound(f"Dataset {ref!r} was not found")
    with cat.read() as session:
        stored = load_score(session, package_id)
        computed = stored.computed_at.isoformat() if stored else report.get("computed_at")
    out = reevaluate_live(report, rules_for(cat), now or utcnow())
    out["computed_at"] = computed
    out["up_to_date"] = True
    return out


def refresh_all(cat: Catalog, *, force: bool = False) -> dict[str, float | None]:
    """Measure every active dataset whose score is stale; name -> overall score."""
    with cat.read() as session:
        rows = list(session.execute(select(Package.id, Package.name)
                                    .where(Package.state == "active").order_by(Package.name)))
    out: dict[str, float | None] = {}
    for package_id, name in rows:
        report = refresh(cat, package_id, force=force)
        if report is not None:
            out[name] = report.get("overall")
    return out


def stored_scores(cat: Catalog, package_ids: list[str]) -> dict[str, QualityScore]:
    """Stored scores (fresh or not) of several datasets, for lists and statistics."""
    with cat.read() as session:
        return {s.package_id: s for s in session.scalars(
            select(QualityScore).where(QualityScore.package_id.in_(package_ids)))}


def summary(scores: dict[str, float | None]) -> str:
    """One sentence naming each dataset's overall score (for the demo's and the CLI's
    output).
    """
    if not scores:
        return ""
    shown = ", ".join(f"{name} {'—' if s is None else f'{s:g}'}" for name, s in scores.items())
    return f" Quality scores (0-100, see /quality/<dataset>): {shown}."


def package_id(cat: Catalog, ref: str) -> str:
    """The id of an active dataset by id or name (NotFound otherwise)."""
    from vntwin.catalog.users import SYSTEM

    with cat.read() as session:
        return get_package(session, SYSTEM, ref).id
