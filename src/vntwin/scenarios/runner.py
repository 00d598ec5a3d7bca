"""Running a batch of scenarios: check all, reuse what is stored, compute the rest in
parallel, store each result as a dataset.

Order of work, so that a bad batch costs nothing: (1) every spec is parsed and checked
against the twin (one :class:`SpecError` listing every issue of every spec); (2) the
organisation that receives the results is settled; (3) results already stored for the
same spec, twin version and inputs are reused; (4) the rest are computed in a process
pool (at most one process per core; the base twin is loaded once per process, or
inherited from the parent when the pool forks); (5) the parent stores each result as
it arrives, so catalogue writes stay in one process. A scenario that fails at run time
is reported and the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.errors import VntwinError
from vntwin.scenarios.base import BaseTwin
from vntwin.scenarios.catalogue import (
    ResultFiles,
    find_result,
    organisation_for,
    store_result,
    write_files,
)
from vntwin.scenarios.check import Prepared, prepare_many
from vntwin.scenarios.engine import run_prepared
from vntwin.scenarios.loader import LoadedSpec
from vntwin.twin.build import twin_store
from vntwin.twin.store import TwinStore

Progress = Callable[[dict[str, Any]], None]


@dataclass
class BatchReport:
    """What a batch run produced: one entry per spec, in the order given."""

    twin_version: str
    results: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Scenarios that failed at run time."""
        return [r for r in self.results if "error" in r]


def default_workers() -> int:
    """Processes for a batch: the cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


_WORKER_BASE: BaseTwin | None = None


def _init_worker(path: str, admin_dir: str | None) -> None:
    global _WORKER_BASE
    _WORKER_BASE = BaseTwin.load(TwinStore(Path(path)), Path(admin_dir) if admin_dir else None)


def compute(base: BaseTwin, prepared: Prepared) -> ResultFiles:
    """Run one scenario and write its result files (in a new temporary folder that the
    caller removes once the files are stored).
    """
    outcome = run_prepared(base, prepared)
    folder = Path(tempfile.mkdtemp(prefix="vntwin-scenario-"))
    try:
        return write_files(prepared, outcome, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _work(prepared: Prepared) -> ResultFiles:
    assert _WORKER_BASE is not None
    return compute(_WORKER_BASE, prepared)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` from a single-threaded CLI (children inherit the loaded base); a server
    has threads, and forking a threaded process is unsafe, so it uses ``forkserver``.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # workers start with the engine imported
        return context
    return multiprocessing.get_context("spawn")


def check_batch(cat: Catalog, actor: Actor,
                loaded: list[LoadedSpec]) -> tuple[BaseTwin, list[Prepared]]:
    """Check every spec against the current twin (raises :class:`SpecError`)."""
    base = BaseTwin.load(twin_store(cat), cat.settings.admin_dir)
    return base, prepare_many(base, loaded, cat, actor)


def run_batch(cat: Catalog, actor: Actor, loaded: list[LoadedSpec], *, org: str | None = None,
              workers: int | None = None, progress: Progress | None = None,
              reuse: bool = True) -> BatchReport:
    """Run scenarios on the current twin and store each result as a dataset."""
    started = time.perf_counter()
    base, prepared = check_batch(cat, actor, loaded)
    org_name = organisation_for(cat, actor, org)
    report = BatchReport(base.version, [{} for _ in prepared])
    total = len(prepared)
    done = 0

    def tell(index: int, status: str, **extra: Any) -> None:
        if progress:
            progress({"scenario": prepared[index].loaded.spec.name, "index": index,
                      "done": done, "total": total, "status": status, **extra})

    todo: list[int] = []
    for i, item in enumerate(prepared):
        found = find_result(cat, actor, item) if reuse else None
        if found is not None:
            report.results[i] = {**found, "reused": True}
            done += 1
            tell(i, "reused")
        else:
            todo.append(i)
    for item in (prepared[i] for i in todo):  # warm the shared arrays before forking
        base.values(base.resolve(item.loaded.spec.population, extensive=True))
    n = min(workers or default_workers(), default_workers(), len(todo)) if todo else 0
    report.workers = max(n, 1)

    def finish(i: int, written: ResultFiles | None, error: str | None) -> None:
        nonlocal done
        done += 1
        if error is not None:
            report.results[i] = {"name": prepared[i].loaded.spec.name, "error": error,
                                 "key": prepared[i].key}
            tell(i, "failed", error=error)
            return
        assert written is not None
        try:
            stored = store_result(cat, actor, org_name, prepared[i], written)
        except VntwinError as exc:
            report.results[i] = {"name": prepared[i].loaded.spec.name,
                                 "error": f"could not store the result: {exc.message}"}
            tell(i, "failed", error=exc.message)
            return
        finally:
            shutil.rmtree(written.folder, ignore_errors=True)
        report.results[i] = {**stored, "reused": False}
        tell(i, "done", seconds=written.result.get("seconds"))

    if n <= 1:
        for i in todo:
            tell(i, "running")
            try:
                outcome = compute(base, prepared[i])
            except VntwinError as exc:
                finish(i, None, exc.message)
                continue
            except Exception as exc:  # a crash in one scenario must not stop the batch
                finish(i, None, f"{type(exc).__name__}: {exc}")
                continue
            finish(i, outcome, None)
    elif todo:
        with ProcessPoolExecutor(max_workers=n, mp_context=_context(),
                                 initializer=_init_worker,
                                 initargs=(str(base.store.path), str(cat.settings.admin_dir))
                                 ) as pool:
            futures = {pool.submit(_work, prepared[i]): i for i in todo}
            for i in todo:
                tell(i, "queued")
            for future in as_completed(futures):
                i = futures[future]
                try:
                    outcome = future.result()
                except VntwinError as exc:
                    finish(i, None, exc.message)
                    continue
                except Exception as exc:  # a crash in one scenario must not stop the batch
                    finish(i, None, f"{type(exc).__name__}: {exc}")
                    continue
                finish(i, outcome, None)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
