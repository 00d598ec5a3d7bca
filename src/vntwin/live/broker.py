"""Running Mosquitto for vntwin: a configuration that loses nothing acknowledged, topic
ACLs per source, and a private broker process for tests, benchmarks and the demo.

Mosquitto's defaults drop QoS 1 messages for an offline client beyond 1000
(``max_queued_messages``) and send it at most 20 at a time (``max_inflight_messages``);
both are raised here so a subscriber restart under load loses nothing and ingest is not
throttled by acknowledgement round trips. Persistence is written every
``autosave_interval`` seconds and at shutdown: a clean broker restart keeps every queued
message; a crash (SIGKILL, power loss) can lose what arrived since the last save.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vntwin.catalog.service import Catalog
from vntwin.errors import VntwinError
from vntwin.live.models import LiveSource, StaDatastream

MOSQUITTO = "/usr/sbin/mosquitto"
ENSURE_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "ensure-mosquitto.sh"


class BrokerMissing(VntwinError):
    """Mosquitto is not installed (and could not be)."""


def mosquitto_config(port: int, persistence_dir: Path, *, host: str = "127.0.0.1",
                     password_file: Path | None = None, acl_file: Path | None = None,
                     autosave_s: int = 1, user: str | None = None) -> str:
    """A ``mosquitto.conf`` for vntwin's observation streams. ``user``: the account the
    broker switches to when started as root (Mosquitto's default is ``mosquitto``).
    """
    lines = [
        "# written by vntwin (vntwin.live.broker.mosquitto_config)",
        *([f"user {user}"] if user else []),
        f"listener {port} {host}",
        "persistence true",
        f"persistence_location {persistence_dir}/",
        f"autosave_interval {autosave_s}",
        "autosave_on_changes false",
        "max_queued_messages 0",          # keep everything for an offline subscriber
        "max_inflight_messages 10000",    # ack round trips (one per batch) do not throttle
        "max_queued_bytes 0",
        "persistent_client_expiration 30d",
    ]
    if password_file is not None:
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    else:
        lines.append("allow_anonymous true")
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    return "\n".join(lines) + "\n"


def acl_text(cat: Catalog, service_user: str = "vntwin") -> str:
    """Mosquitto ACLs: the service user reads every observation topic; each source's
    user (named like the source) may publish only to its own datastreams' topics.
    """
    lines = ["# written by `vntwin live broker-config DIR --acl` from the datastreams of "
             "that moment:", "# run it again, then reload Mosquitto (kill -HUP), after "
             "creating datastreams.", "# v1.1/Observations is not granted: the datastream "
             "is in the payload, which the broker cannot check.",
             "# Users are managed with mosquitto_passwd.",
             f"user {service_user}", "topic read v1.1/#", ""]
    with cat.read() as session:
        sources = list(session.scalars(select(LiveSource).order_by(LiveSource.name)))
        for source in sources:
            lines.append(f"user {source.name}")
            streams = session.scalars(select(StaDatastream.id)
                                      .where(StaDatastream.source_id == source.id)
                                      .order_by(StaDatastream.id))
            lines += [f"topic write v1.1/Datastreams({ident})/Observations" for ident in streams]
            lines.append("")
    return "\n".join(lines)


def find_mosquitto(install: bool = True) -> str:
    """Path of the broker binary; runs ``scripts/ensure-mosquitto.sh`` (which installs
    Debian's package when it may) if it is missing.
    """
    found = shutil.which("mosquitto") or (MOSQUITTO if os.path.exists(MOSQUITTO) else None)
    if found:
        return found
    if install and ENSURE_SCRIPT.exists():
        result = subprocess.run(["bash", str(ENSURE_SCRIPT)], capture_output=True, text=True,  # noqa: S603, S607
                                check=False)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip().splitlines()[-1]
        raise BrokerMissing(result.stderr.strip() or "mosquitto could not be installed")
    raise BrokerMissing("mosquitto is not installed: apt-get install mosquitto")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """A private Mosquitto process on a free loopback port, with its own persistence.

    ``restart()`` stops it cleanly (it saves its queue) and starts it again on the same
    port, as an operator's restart would.
    """

    def __init__(self, workdir: Path, port: int | None = None, **config: Any) -> None:
        self.binary = find_mosquitto()
        self.workdir = Path(workdir)
        self.port = port or _free_port()
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        """Start the broker and wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "persistence"
        data.mkdir(exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        # as root, Mosquitto would switch to the 'mosquitto' user, who cannot write a
        # private folder of ours: a test broker on loopback keeps the caller's account
        config = {"user": "root", **self.config} if os.geteuid() == 0 else self.config
        conf.write_text(mosquitto_config(self.port, data, **config), encoding="utf-8")
        log = (self.workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=log,  # noqa: S603
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerMissing(f"mosquitto exited: see {self.workdir / 'mosquitto.log'}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise BrokerMissing("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        """Stop cleanly (SIGTERM: the broker writes its persistence file)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same persistence."""
        self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
