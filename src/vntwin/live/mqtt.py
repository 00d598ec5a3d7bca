"""The MQTT subscriber: SensorThings' MQTT extension into the ingest path.

Publishing ``{"phenomenonTime": ..., "result": ...}`` to ``v1.1/Datastreams(7)/Observations``
(or ``{"Datastream": {"@iot.id": 7}, ...}`` to ``v1.1/Observations``) creates an
observation. Nothing acknowledged is lost:

- the client has a fixed id and a persistent session (``clean_session=False``), so the
  broker keeps queueing QoS 1 messages while vntwin is down;
- messages are acknowledged by hand (paho's ``manual_ack``), and only after the batch
  holding them is committed; a database error keeps the batch and retries it;
- a message redelivered after a restart is recognised (unique datastream and time) and
  counted as a duplicate, not stored twice.

The broker must keep enough for an outage: Mosquitto's default ``max_queued_messages``
(1000) drops the rest. ``vntwin.live.broker.mosquitto_config`` writes a suitable file.
"""

from __future__ import annotations

import collections
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from vntwin.catalog.service import Catalog
from vntwin.errors import ValidationError
from vntwin.live.ingest import Incoming, Ingestor, Outcome

TOPICS = ("v1.1/+/Observations", "v1.1/Observations")
_TOPIC = re.compile(r"v1\.1/Datastreams\((\d+)\)/Observations")
BATCH_SIZE = 2000
BATCH_WINDOW_S = 0.05
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is and how to log in."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_url(url: str) -> BrokerUrl:
    """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ValidationError({"mqtt_url": [f"expected mqtt://host:port or mqtts://host:port, "
                                            f"got {url!r}"]})
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerUrl(parts.hostname, parts.port or (8883 if tls else 1883), tls,
                     unquote(parts.username) if parts.username else None,
                     unquote(parts.password) if parts.password else None)


def datastream_of(topic: str) -> int | None:
    """The datastream id a topic names (None for ``v1.1/Observations``)."""
    m = _TOPIC.fullmatch(topic)
    return int(m.group(1)) if m else None


def make_client(broker: BrokerUrl, client_id: str, *, persistent: bool = True,
                manual_ack: bool = False) -> mqtt.Client:
    """A paho 2.x client (MQTT 3.1.1) configured for ``broker``."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=not persistent, protocol=mqtt.MQTTv311,
                         manual_ack=manual_ack)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    return client


@dataclass
class Stats:
    """What a subscriber did since it started."""

    received: int = 0
    acknowledged: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    connected: bool = False
    connects: int = 0


class Subscriber:
    """Subscribes to the observation topics and stores what arrives, in batches."""

    def __init__(self, cat: Catalog, url: str | None = None, client_id: str | None = None,
                 ingestor: Ingestor | None = None,
                 on_batch: Callable[[list[Outcome]], None] | None = None) -> None:
        url = url or cat.settings.mqtt_url
        if not url:
            raise ValidationError({"mqtt_url": ["set VNTWIN_MQTT_URL, e.g. "
                                                "mqtt://127.0.0.1:1883"]})
        self.cat = cat
        self.broker = parse_url(url)
        self.ingestor = ingestor or Ingestor(cat)
        self.on_batch = on_batch
        self.stats = Stats()
        # A deque and an event, not a queue.Queue: the network thread appends without a
        # lock per message, and the writer takes everything that arrived in one go.
        self._inbox: collections.deque[mqtt.MQTTMessage] = collections.deque()
        self._arrived = threading.Event()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self.client = make_client(self.broker, client_id or cat.settings.mqtt_client_id,
                                  manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- paho callbacks (network thread) ----------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        self.stats.connected = True
        self.stats.connects += 1
        client.subscribe([(topic, 1) for topic in TOPICS])
        log.info("subscribed to %s at %s:%s (session present: %s)", ", ".join(TOPICS),
                 self.broker.host, self.broker.port, getattr(flags, "session_present", None))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        self.stats.connected = False
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.stats.received += 1
        self._inbox.append(message)
        if not self._arrived.is_set():
            self._arrived.set()

    # -- the writer thread ------------------------------------------------------------------
    def _next_batch(self) -> list[mqtt.MQTTMessage]:
        """Up to BATCH_SIZE messages: what arrives within BATCH_WINDOW_S of the first."""
        if not self._inbox:
            self._arrived.wait(0.5)
            self._arrived.clear()  # cleared before the check below: no wake-up is lost
            if not self._inbox:
                return []
        deadline = time.monotonic() + BATCH_WINDOW_S
        while len(self._inbox) < BATCH_SIZE and time.monotonic() < deadline:
            time.sleep(0.005)
        take = min(len(self._inbox), BATCH_SIZE)
        return [self._inbox.popleft() for _ in range(take)]

    def _store(self, batch: list[mqtt.MQTTMessage]) -> list[Outcome]:
        items = []
        for message in batch:
            stream = datastream_of(message.topic)
            if stream is None and message.topic != "v1.1/Observations":
                items.append(Incoming(b"", -1))  # counted as an unknown datastream
            else:
                items.append(Incoming(bytes(message.payload), stream))
        delay = 0.5
        while True:
            try:
                return self.ingestor.submit(items)
            except Exception:
                if self._stop.is_set():
                    raise
                log.exception("storing a batch of %d observations failed; retrying in "
                              "%.1f s (nothing of it is acknowledged)", len(batch), delay)
                time.sleep(delay)
                delay = min(delay * 2, 10)

    def _write_loop(self) -> None:
        # On stop, the batch in hand is stored and acknowledged, and the rest of the inbox
        # is left: unacknowledged, the broker delivers it to the next run, which stores it
        # then. Draining the inbox instead would commit messages whose acknowledgements
        # can no longer reach the broker (the connection closes), and each would come back
        # as a duplicate.
        while not self._stop.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            try:
                outcomes = self._store(batch)
            except Exception:
                log.exception("stopping with %d observations unacknowledged", len(batch))
                return
            for message in batch:
                if message.qos > 0:
                    self.client.ack(message.mid, message.qos)
            self.stats.acknowledged += len(batch)
            for outcome in outcomes:
                self.stats.outcomes[outcome.outcome] = \
                    self.stats.outcomes.get(outcome.outcome, 0) + 1
            if self.on_batch is not None:
                self.on_batch(outcomes)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (in the background, retrying) and start storing."""
        self._stop.clear()
        self._writer = threading.Thread(target=self._write_loop, name="vntwin-live-writer",
                                        daemon=True)
        self._writer.start()
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        """Finish the batch being stored, acknowledge it, then disconnect; messages
        received but not yet stored stay unacknowledged, so the broker delivers them again
        to the next run. The writer stops before the connection closes so that every
        committed batch's acknowledgements are sent (paho sends queued PUBACKs before the
        DISCONNECT): a clean stop causes no redelivery of stored observations.
        """
        self._stop.set()
        self._arrived.set()  # wake a writer waiting for messages
        if self._writer is not None:
            self._writer.join(30)
        # The last PUBACKs must reach the broker before the socket closes: closing it
        # with deliveries still arriving resets the connection, and a broker that had not
        # read the PUBACKs yet redelivers those messages as duplicates to the next run
        # (seen under load). Wait for paho to write them, then give the broker a moment.
        deadline = time.monotonic() + 2
        while self.client.want_write() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.stats.connected:
            time.sleep(0.2)
        self.client.disconnect()
        self.client.loop_stop()
        log.info("stopped: %d messages acknowledged (%s), %d received left unacknowledged "
                 "for the next run", self.stats.acknowledged, self.stats.outcomes,
                 len(self._inbox))

    def wait_connected(self, timeout: float = 10) -> bool:
        """Wait until subscribed (for tests and the CLI's first message)."""
        deadline = time.monotonic() + timeout
        while not self.stats.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.stats.connected
