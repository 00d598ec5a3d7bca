"""``vntwin live ...``: the MQTT subscriber, the simulator, sources and broker files.
Thin: parse, call ``vntwin.live``, print (rich progress on stderr).
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

live_app = typer.Typer(help="Live sensor data: MQTT ingest, simulator, sources.",
                       no_args_is_help=True)
console = Console(stderr=True)


def _catalog():  # type: ignore[no-untyped-def]
    from vntwin.catalog.service import Catalog
    from vntwin.settings import Settings

    return Catalog(Settings())


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@live_app.command("run")
def run(
    url: Annotated[str | None, typer.Option(help="Broker URL (default VNTWIN_MQTT_URL).")] = None,
) -> None:
    """Subscribe to the broker and store observations until stopped (Ctrl-C, SIGTERM)."""
    from vntwin.errors import VntwinError
    from vntwin.live.mqtt import Subscriber
    from vntwin.live.service import LiveService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cat = _catalog()
    stop = _stop_on_signals()
    try:
        service = LiveService(cat)
        subscriber = Subscriber(cat, url, ingestor=service.ingestor)
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        cat.close()
        raise typer.Exit(1) from None
    subscriber.start()
    service.run_thread(stop)
    console.print(f"vntwin live: subscribed at {subscriber.broker.host}:{subscriber.broker.port}"
                  f" as {cat.settings.mqtt_client_id}; Ctrl-C to stop")
    try:
        last = 0
        while not stop.wait(10):
            stats = subscriber.stats
            if stats.acknowledged != last:
                outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(stats.outcomes.items()))
                console.print(f"{stats.acknowledged:,} messages acknowledged ({outcomes})")
                last = stats.acknowledged
    finally:
        subscriber.stop()
        cat.close()
    console.print("vntwin live: stopped")


@live_app.command("simulate")
def simulate_cmd(
    url: Annotated[str | None, typer.Option(help="Broker URL (default VNTWIN_MQTT_URL).")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.")] = 5.0,
    rounds: Annotated[int | None, typer.Option(
        min=1, help="Stop after this many rounds (default: until Ctrl-C).")] = None,
    backfill_hours: Annotated[float, typer.Option(help="First publish this many hours of "
                                                       "history (5-minute steps).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the noise: the same seed at the same "
                                           "times gives the same values.")] = 0,
) -> None:
    """Publish simulated air-quality, water-level and traffic streams (marked simulated)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vntwin.live.simulate import ensure_network, simulate

    cat = _catalog()
    broker = url or cat.settings.mqtt_url
    if not broker:
        console.print("[red]error:[/red] give --url or set VNTWIN_MQTT_URL")
        raise typer.Exit(1)
    stop = _stop_on_signals()
    try:
        stations = ensure_network(cat)
        console.print(f"{len(stations)} simulated datastreams at GeoNames places; publishing "
                      f"to {broker} (Ctrl-C to stop)")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=console) as bar:
            task = bar.add_task("publishing", total=None)

            def step(phase: str, done: int, total: int) -> None:
                label = ("history" if phase == "backfill"
                         else "live (acknowledged by the broker / published)")
                bar.update(task, description=label, completed=done, total=total)

            progress = simulate(cat, broker, interval_s=interval, rounds=rounds,
                                backfill_hours=backfill_hours, seed=seed, on_progress=step,
                                stop=stop)
    except ConnectionError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        cat.close()
    console.print(f"published {progress.published:,} observations, "
                  f"{progress.acknowledged:,} acknowledged by the broker")


@live_app.command("source-create")
def source_create(
    name: Annotated[str, typer.Argument(help="Source name (a-z 0-9 - _).")],
    title: Annotated[str, typer.Option(help="Human-readable title.")] = "",
    rate: Annotated[float | None, typer.Option(help="Observations a second (default: "
                                                    "VNTWIN_LIVE_SOURCE_RATE).")] = None,
) -> None:
    """Create a source of observations; prints its HTTP token as the last line."""
    from vntwin.errors import VntwinError
    from vntwin.live.sources import create_source

    cat = _catalog()
    try:
        with cat.sessions() as session, session.begin():
            source, token = create_source(session, name, title, rate)
            ident = source.id
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        cat.close()
    console.print(f"created source {name} (id {ident})")
    typer.echo(token)


@live_app.command("broker-config")
def broker_config(
    folder: Annotated[Path, typer.Argument(help="Where to write mosquitto.conf (and acl).")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 1883,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    password_file: Annotated[Path | None, typer.Option(
        help="mosquitto_passwd file: turns anonymous access off.")] = None,
    acl: Annotated[bool, typer.Option("--acl", help="Also write topic ACLs from the "
                                                    "sources in the catalogue.")] = False,
) -> None:
    """Write a Mosquitto configuration that loses no acknowledged observation."""
    from vntwin.live.broker import acl_text, mosquitto_config

    folder.mkdir(parents=True, exist_ok=True)
    acl_file = None
    if acl:
        cat = _catalog()
        try:
            acl_file = (folder / "acl").resolve()
            acl_file.write_text(acl_text(cat), encoding="utf-8")
        finally:
            cat.close()
    conf = folder / "mosquitto.conf"
    conf.write_text(mosquitto_config(port, (folder / "persistence").resolve(), host=host,
                                     password_file=password_file.resolve()
                                     if password_file else None, acl_file=acl_file),
                    encoding="utf-8")
    (folder / "persistence").mkdir(exist_ok=True)
    console.print(f"wrote {conf}" + (f" and {acl_file}" if acl_file else "")
                  + f"; start it with: mosquitto -c {conf}")

