"""Background scenario runs with progress, for pages that must not wait on one request.

A job runs ``run_batch`` in a thread of the server process (the scenarios themselves run
in the runner's process pool) and records every progress event; a page polls
``GET /scenarios/jobs/{id}``. Jobs live in memory: a restart forgets them, but every
finished result is a dataset already, so nothing computed is lost.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, VntwinError
from vntwin.scenarios.compare import comparison
from vntwin.scenarios.loader import LoadedSpec, SpecError
from vntwin.scenarios.service import trim

MAX_JOBS = 200


@dataclass
class Job:
    """One background batch."""

    id: str
    owner: str | None
    total: int
    status: str = "queued"  # queued | running | done | failed
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    events: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    answer: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def view(self, detail: str = "national") -> dict[str, Any]:
        """What a page shows: progress, and the results once done."""
        out: dict[str, Any] = {"id": self.id, "status": self.status, "created": self.created,
                               "done": self.done, "total": self.total,
                               "events": self.events[-50:]}
        if self.answer is not None:
            out.update({k: v for k, v in self.answer.items() if k != "results"})
            out["results"] = [trim(r, detail) for r in self.answer["results"]]  # type: ignore[arg-type]
        if self.error is not None:
            out["error"] = self.error
        return out


class Jobs:
    """The jobs of one server process."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, cat: Catalog, actor: Actor, loaded: list[LoadedSpec],
              org: str | None = None, workers: int | None = None) -> Job:
        """Start a batch in the background; returns at once."""
        from vntwin.scenarios.runner import run_batch

        job = Job(uuid.uuid4().hex, actor.user_id or actor.name, len(loaded))

        def progress(event: dict[str, Any]) -> None:
            with self._lock:
                job.events.append(event)
                job.done = event["done"]

        def work() -> None:
            job.status = "running"
            try:
                report = run_batch(cat, actor, loaded, org=org, workers=workers,
                                   progress=progress)
            except SpecError as exc:
                job.error = {"detail": exc.message,
                             "errors": [i.as_dict() for i in exc.issues]}
                job.status = "failed"
                return
            except VntwinError as exc:
                job.error = {"detail": exc.message}
                job.status = "failed"
                return
            job.answer = {"twin_version": report.twin_version, "seconds": report.seconds,
                          "workers": report.workers, "results": report.results,
                          "comparison": comparison(report.results)}
            job.status = "done"

        with self._lock:
            if len(self._jobs) >= MAX_JOBS:  # forget the oldest finished ones
                for old in [j for j in self._jobs.values() if j.status in ("done", "failed")
                            ][: len(self._jobs) - MAX_JOBS + 1]:
                    self._jobs.pop(old.id, None)
            self._jobs[job.id] = job
        threading.Thread(target=work, name=f"vntwin-scenarios-{job.id[:8]}",
                         daemon=True).start()
        return job

    def get(self, job_id: str, actor: Actor) -> Job:
        """A job its owner (or a sysadmin) may see."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not (actor.sysadmin or job.owner == (actor.user_id or actor.name)):
            raise NotFound(f"no scenario job {job_id!r}")
        return job
