"""Public test fixtures: a catalogue per backend, an in-process client, a live server.

PostgreSQL tests get a fresh schema each (``search_path`` in the URL), dropped afterwards,
so they never see each other's rows and need no database of their own.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from vntwin.catalog.service import Catalog
from vntwin.settings import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def backends() -> list[str]:
    """Backends to test: ``VNTWIN_TEST_BACKENDS`` (comma-separated), default both."""
    return [b.strip() for b in os.environ.get("VNTWIN_TEST_BACKENDS",
                                              "sqlite,postgresql").split(",") if b.strip()]


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str | None]:
    """A database URL for one test: a SQLite file (None = the default in the data dir) or
    a throw-away PostgreSQL schema.
    """
    if backend == "sqlite":
        yield None
        return
    import psycopg

    base = os.environ.get("VNTWIN_TEST_DATABASE_URL") or DEFAULT_PG
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_settings(data_dir: Path, db_url: str | None, **overrides: object) -> Settings:
    """Settings isolated from the caller's environment and vntwin.toml."""
    return Settings(data_dir=data_dir, database_url=db_url, **overrides)  # type: ignore[arg-type]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_env(settings: Settings) -> dict[str, str]:
    """The environment that points a ``vntwin`` child process at these settings' data."""
    env = {**os.environ, "VNTWIN_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["VNTWIN_DATABASE_URL"] = settings.database_url
    if settings.admin_cache_dir:
        env["VNTWIN_ADMIN_CACHE_DIR"] = str(settings.admin_cache_dir)
    return env


@contextmanager
def subscriber_process(settings: Settings, mqtt_url: str, log: Path) -> Iterator[None]:
    """``vntwin live run`` for a data dir, subscribed at ``mqtt_url``, as a deployment runs
    it beside ``vntwin serve``: a process of its own, sharing only the database.

    Returns once the subscription is made (its log says so): a message published before
    then would find no session at the broker and be dropped.
    """
    import subprocess
    import sys

    env = {**_process_env(settings), "VNTWIN_MQTT_URL": mqtt_url}
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vntwin", "live", "run"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "subscribed to" not in log.read_text(encoding="utf-8", errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vntwin live run did not subscribe: see {log}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()  # SIGTERM: the subscriber stops cleanly
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def server_process(settings: Settings) -> Iterator[str]:
    """Serve a data dir from a separate ``vntwin serve`` process; yields the base URL.

    For clients that block the interpreter while they talk HTTP (GDAL, through pyogrio,
    holds the GIL during a read): a server thread in the same process would never answer.
    """
    import subprocess
    import sys

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**_process_env(settings), "VNTWIN_SITE_URL": url}
    proc = subprocess.Popen([sys.executable, "-m", "vntwin", "serve", "--port", str(port)],  # noqa: S603
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"test server did not start: {err[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def live_server(cat: Catalog) -> Iterator[str]:
    """Serve the catalogue with uvicorn on a free loopback port; yields the base URL.

    Real HTTP, for clients that bring their own stack (``ckanapi`` uses requests).
    """
    import uvicorn

    from vntwin.api.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cat.settings = cat.settings.model_copy(update={"site_url": url})
    app = create_app(cat.settings, cat)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
