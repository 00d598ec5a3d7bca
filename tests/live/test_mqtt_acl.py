"""Broker users and topic ACLs as vntwin writes them (`vntwin live broker-config --acl`):
a source's user publishes to its own datastreams only, the service user reads them all,
and a wrong password, an unknown user or no user at all cannot connect.

A publish the ACL denies is dropped by Mosquitto (MQTT 3.1.1 still acknowledges it, and
the broker counts nothing vntwin can read): the test checks it is not stored, using an
allowed publish that follows it through the same broker queue as a barrier.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from tests.live.conftest import make_source, make_station
from tests.live.mqtt_helpers import CountingPublisher, stored_times, wait
from typer.testing import CliRunner

from vntwin.catalog.service import Catalog
from vntwin.cli import app
from vntwin.live.broker import BrokerMissing, Mosquitto, acl_text
from vntwin.live.mqtt import Subscriber, make_client, parse_url

PASSWORDS = {"vntwin": "dich-vu-mat-khau", "tram-a": "mat-khau-a", "tram-b": "mat-khau-b"}


def _passwd_file(path: Path) -> Path:
    """A mosquitto_passwd file (hashed) of PASSWORDS."""
    if shutil.which("mosquitto_passwd") is None:
        if os.environ.get("VNTWIN_REQUIRE_BROKER"):
            pytest.fail("VNTWIN_REQUIRE_BROKER is set but mosquitto_passwd is missing")
        pytest.skip("mosquitto_passwd is not installed")
    path.write_text("".join(f"{user}:{pw}\n" for user, pw in PASSWORDS.items()),
                    encoding="utf-8")
    subprocess.run(["mosquitto_passwd", "-U", str(path)], check=True)
    return path


def _connect_result(url: str, client_id: str) -> str:
    """How the broker answers a connection: "Success" or its refusal."""
    broker = parse_url(url)
    client = make_client(broker, client_id, persistent=False)
    answered = threading.Event()
    result: list[str] = []

    def on_connect(c: mqtt.Client, userdata: object, flags: object, reason: object,
                   properties: object) -> None:
        result.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        answered.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0] if result else "no answer"


def _url(broker: Mosquitto, user: str, password: str) -> str:
    return f"mqtt://{user}:{password}@127.0.0.1:{broker.port}"


def test_source_users_publish_only_to_their_own_datastreams(cat: Catalog,
                                                            tmp_path: Path) -> None:
    a, _ = make_source(cat, "tram-a")
    b, _ = make_source(cat, "tram-b")
    stream_a = make_station(cat, a, "Trạm A")
    stream_b = make_station(cat, b, "Trạm B", coords=[105.79, 10.04])
    env = {"VNTWIN_DATA_DIR": str(cat.settings.data_dir)}
    if cat.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = cat.settings.database_url
    passwd = _passwd_file(tmp_path / "passwd")
    folder = tmp_path / "conf"
    result = CliRunner().invoke(app, ["live", "broker-config", str(folder), "--acl",
                                      "--password-file", str(passwd)], env=env)
    assert result.exit_code == 0, result.output
    acl = (folder / "acl").read_text(encoding="utf-8")
    assert acl == acl_text(cat)
    assert f"user tram-a\ntopic write v1.1/Datastreams({stream_a})/Observations\n" in acl
    conf = (folder / "mosquitto.conf").read_text(encoding="utf-8")
    assert "allow_anonymous false" in conf and f"acl_file {folder.resolve() / 'acl'}" in conf
    try:
        broker = Mosquitto(tmp_path / "broker", password_file=passwd,
                           acl_file=(folder / "acl").resolve())
    except BrokerMissing as exc:
        pytest.skip(str(exc))
    with broker:
        assert "Not authorized" in _connect_result(_url(broker, "tram-a", "sai"), "x1")
        assert "Not authorized" in _connect_result(_url(broker, "ai-do", "mat-khau"), "x2")
        assert "Not authorized" in _connect_result(broker.url, "x3")  # anonymous
        assert "Success" in _connect_result(_url(broker, "tram-a", PASSWORDS["tram-a"]), "x4")

        subscriber = Subscriber(cat, _url(broker, "vntwin", PASSWORDS["vntwin"]), "vntwin-acl")
        subscriber.start()
        assert subscriber.wait_connected()
        pub_a = CountingPublisher(_url(broker, "tram-a", PASSWORDS["tram-a"]), "gw-a")
        pub_b = CountingPublisher(_url(broker, "tram-b", PASSWORDS["tram-b"]), "gw-b")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        try:
            pub_a.publish(stream_a, start, 10.0)                    # its own: stored
            pub_a.publish(stream_b, start + timedelta(minutes=1), 666.0)  # another's: denied
            pub_a.publish(stream_b, start + timedelta(minutes=2), 667.0,  # denied as well
                          topic="v1.1/Observations")
            assert wait(lambda: len(pub_a.acked) == 3, 10)  # 3.1.1: denied is acked too
            pub_b.publish(stream_b, start + timedelta(minutes=3), 20.0)  # the barrier
            assert wait(lambda: len(stored_times(cat)) >= 2, 10)
            assert wait(lambda: subscriber.stats.acknowledged >= 2, 10)
        finally:
            pub_a.close()
            pub_b.close()
            subscriber.stop()
    iso = [(start + timedelta(minutes=m)).isoformat().replace("+00:00", "Z") for m in (0, 3)]
    assert stored_times(cat) == set(iso)
    assert subscriber.stats.received == 2  # the denied publishes never reached vntwin
