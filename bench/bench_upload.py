"""Peak memory of the server while it receives a 1 GiB upload (goal: < 300 MB).

The server runs in its own process (uvicorn on ``create_app()``, data dir from
``VNTWIN_DATA_DIR``), so its RSS is measured alone: VmRSS polled every 50 ms from
``/proc/PID/status`` during the upload, and VmHWM (its lifetime peak). The client streams
a generated 1 GiB ``.bin`` file (pseudo-random bytes, so nothing compresses and the
datastore does not try to load it) as a hand-built multipart body from a generator: the
client never holds the file either. Baseline: the same server's RSS when idle.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import RssPoller, hwm_mib, quick, rss_mib, table, verdict

from vntwin.catalog import groups, packages
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM, user_create
from vntwin.testing import free_port, make_settings

GOAL_MB = 300  # decimal megabytes, as the issue states it
CHUNK = 1024 * 1024
SERVER = ("import uvicorn; from vntwin.api.app import create_app; "
          "uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')")


def _mb(mib: float) -> float:
    return mib * 1024**2 / 1e6


def _setup(data_dir: Path) -> tuple[str, str]:
    """A sysadmin, an organisation and a dataset; returns (token, dataset id)."""
    cat = Catalog(make_settings(data_dir, None))
    try:
        _, token = user_create(cat, "bench-admin", sysadmin=True)
        groups.group_create(cat, SYSTEM, {"name": "bench-org", "title": "Cơ quan benchmark"},
                            organization=True)
        pkg = packages.create(cat, SYSTEM, {"name": "bench-upload", "owner_org": "bench-org",
                                            "title": "Tệp lớn (benchmark)"})
    finally:
        cat.close()
    return token, pkg["id"]


def _start_server(data_dir: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "VNTWIN_DATA_DIR": str(data_dir), "VNTWIN_SITE_URL": base}
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(port=port)], env=env,
                            cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/3/action/status_show", timeout=1).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("server did not start:\n"
                                   + (workdir / "server.log").read_text()[-2000:]) from None
            time.sleep(0.1)


class _Body:
    """A multipart body generated on the fly; hashes the file bytes as they are sent."""

    def __init__(self, package_id: str, size: int, filename: str, seed: int) -> None:
        self.boundary = "vntwin-bench-" + secrets.token_hex(12)
        self.size = size
        self.seed = seed
        self.sha256 = hashlib.sha256()
        b = self.boundary
        self.head = (
            f'--{b}\r\nContent-Disposition: form-data; name="package_id"\r\n\r\n{package_id}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{filename}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="upload"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{b}--\r\n".encode()

    @property
    def length(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __iter__(self) -> Iterator[bytes]:
        rng = np.random.default_rng(self.seed)
        yield self.head
        left = self.size
        while left:
            chunk = rng.bytes(min(CHUNK, left))
            self.sha256.update(chunk)
            left -= len(chunk)
            yield chunk
        yield self.tail


def _upload(base: str, token: str, body: _Body) -> tuple[dict, float]:
    import httpx

    t0 = time.perf_counter()
    r = httpx.post(f"{base}/api/action/resource_create", content=iter(body), timeout=600,
                   headers={"Authorization": token, "Content-Type": body.content_type,
                            "Content-Length": str(body.length)})
    elapsed = time.perf_counter() - t0
    r.raise_for_status()
    return r.json()["result"], elapsed


def _download(url: str, token: str) -> tuple[str, int, float]:
    import httpx

    sha = hashlib.sha256()
    size = 0
    t0 = time.perf_counter()
    with httpx.stream("GET", url, headers={"Authorization": token}, timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size, time.perf_counter() - t0


def _file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def run(workdir: Path) -> str:
    size = (64 if quick() else 1024) * CHUNK
    data_dir = workdir / "data"
    token, package_id = _setup(data_dir)
    proc, base = _start_server(data_dir, workdir)
    try:
        pid = proc.pid
        time.sleep(0.5)
        idle = rss_mib(pid)
        # Warm the upload path with a 1 MiB file, so the big upload's growth is its own.
        _upload(base, token, _Body(package_id, CHUNK, "warm-up.bin", seed=1))
        time.sleep(0.3)
        warm = rss_mib(pid)
        duckdb_loaded = "duckdb" in Path(f"/proc/{pid}/maps").read_text()

        body = _Body(package_id, size, f"bench-{size // CHUNK}mib.bin", seed=2)
        client_before = rss_mib()
        with RssPoller(pid) as server_poll, RssPoller(os.getpid()) as client_poll:
            result, seconds = _upload(base, token, body)
        after = rss_mib(pid)
        hwm = hwm_mib(pid)
        sent = body.sha256.hexdigest()
        stored_path = data_dir / "uploads" / sent[:2] / sent[2:4] / sent
        on_disk = _file_sha256(stored_path) if stored_path.exists() else "(missing)"
        reported = result.get("hash", "")
        hash_ok = reported == f"sha256:{sent}" and on_disk == sent and result["size"] == size

        with RssPoller(pid) as down_poll:
            down_sha, down_size, down_s = _download(result["url"], token)
        down_ok = down_sha == sent and down_size == size
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for p in (data_dir / "uploads").rglob("*"):  # 1 GiB: do not leave it in bench/work
            if p.is_file():
                p.unlink()

    mb = size / 1e6
    peak = server_poll.peak
    lines = ["## Upload memory (`bench/bench_upload.py`)", ""]
    lines.append(f"A generated **{size / 1024**3:.3g} GiB** `.bin` file ({size:,} bytes of "
                 "pseudo-random data) streamed by httpx from a generator as one multipart "
                 "`POST /api/action/resource_create` to a uvicorn server in its own process "
                 f"(SQLite catalogue). Server RSS polled every 50 ms ({server_poll.samples:,} "
                 "samples) from `/proc/PID/status`.")
    lines += ["", f"**Goal: server peak RSS < {GOAL_MB} MB** during the upload: peak "
              f"{_mb(peak):.0f} MB ({peak:.0f} MiB) — {verdict(_mb(peak) < GOAL_MB)}. "
              f"It is {peak - warm:+.1f} MiB over the same server after a 1 MiB upload "
              f"(baseline), so memory does not grow with the file's size.", ""]
    lines += [table(["server process", "RSS MiB"], [
        ("idle after start (baseline)", idle),
        ("after a 1 MiB warm-up upload", warm),
        (f"peak during the {size // CHUNK:,} MiB upload (polled)", peak),
        ("after the upload", after),
        ("lifetime peak (VmHWM)", hwm),
        (f"peak during the {size // CHUNK:,} MiB download (polled)", down_poll.peak),
    ]), ""]
    lines += [table(["transfer", "MiB", "seconds", "MB/s", "integrity"], [
        ("upload (client generates + hashes, server parses + hashes + writes)",
         size // CHUNK, seconds, mb / seconds,
         "sha256 and size match (response and file on disk)" if hash_ok
         else f"**MISMATCH** sent {sent[:12]} reported {reported[:19]} disk {on_disk[:12]}"),
        ("download of the same file (FileResponse)", size // CHUNK, down_s, mb / down_s,
         "sha256 matches" if down_ok else "**MISMATCH**"),
    ]), ""]
    if duckdb_loaded:
        lines.append(f"The step from idle to after the warm-up ({warm - idle:+.0f} MiB) is the "
                     "first upload importing DuckDB (the datastore checks every upload; "
                     "`_duckdb` shows in `/proc/PID/maps` afterwards), a one-time cost "
                     "independent of file size.")
        lines.append("")
    lines.append(f"The client (this process) never holds the file either: its RSS went from "
                 f"{client_before:.0f} MiB before to a peak of {client_poll.peak:.0f} MiB "
                 "during the upload.")
    if not (hash_ok and down_ok):
        raise AssertionError("\n".join(lines))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp)))
