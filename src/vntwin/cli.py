"""``vntwin`` command line: serve, demo, user, harvest. Thin: parse, call, print."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from vntwin.live.cli import live_app
from vntwin.scenarios.cli import scenario_app
from vntwin.settings import Settings

app = typer.Typer(help="vntwin: open data catalogue and territorial digital twin of Vietnam.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
user_app = typer.Typer(help="User accounts and API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
twin_app = typer.Typer(help="Ask the territorial twin.", no_args_is_help=True)
app.add_typer(twin_app, name="twin")
quality_app = typer.Typer(help="Measure data quality.", no_args_is_help=True)
app.add_typer(quality_app, name="quality")
app.add_typer(live_app, name="live")
app.add_typer(scenario_app, name="scenario")
console = Console(stderr=True)


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    settings = Settings()
    if host and port and "VNTWIN_SITE_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        settings = settings.model_copy(update={"site_url": f"http://{shown}:{port}"})
    return settings


def _catalog(settings: Settings):  # type: ignore[no-untyped-def]
    from vntwin.catalog.service import Catalog

    return Catalog(settings)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web API (CKAN Action API, DCAT-AP, downloads)."""
    import uvicorn

    from vntwin.api.app import create_app

    settings = _settings(host, port)
    application = create_app(settings)
    console.print(f"vntwin serving at [bold]http://{host}:{port}/[/bold] "
                  f"(data dir {settings.data_dir.resolve()})")
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command()
def demo(
    load_only: Annotated[bool, typer.Option("--load-only", help="Load and exit.")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
) -> None:
    """Load the demo catalogue (real Vietnamese data from installed packages) and serve it."""
    from vntwin.demo.load import load_demo
    from vntwin.demo.twin import build_demo_twin

    settings = _settings(host, port)
    cat = _catalog(settings)
    try:
        summary = load_demo(cat, console=console)
        console.print(summary)
        console.print(build_demo_twin(cat, console=console))
    finally:
        cat.close()
    if not load_only:
        serve(host=host, port=port)


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Login name (a-z 0-9 - _).")],
    sysadmin: Annotated[bool, typer.Option("--sysadmin", help="Make a sysadmin.")] = False,
    org: Annotated[str | None, typer.Option(help="Organisation to join.")] = None,
    role: Annotated[str | None, typer.Option(help="admin, editor or member.")] = None,
    email: Annotated[str, typer.Option(help="E-mail address.")] = "",
    password: Annotated[bool, typer.Option(
        "--password", help="Ask for a password, to sign in at /auth/token.")] = False,
) -> None:
    """Create a user and print a new API token as the last line."""
    from vntwin.catalog.users import user_create as create
    from vntwin.errors import VntwinError

    cat = _catalog(_settings())
    try:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True) \
            if password else None
        user, token = create(cat, name, sysadmin=sysadmin, org=org, role=role, email=email,
                             password=secret)
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        cat.close()
    console.print(f"created user {user['name']} (id {user['id']})"
                  + (" as sysadmin" if sysadmin else "")
                  + (f", {role} of {org}" if org else ""))
    typer.echo(token)


@app.command()
def harvest(
    source: Annotated[str, typer.Argument(help="A DCAT-AP file (Turtle, RDF/XML, JSON-LD) "
                                               "or an allow-listed http(s) URL.")],
    org: Annotated[str, typer.Option(help="Organisation that receives the datasets.")],
    fmt: Annotated[str | None, typer.Option("--format", help="turtle, xml or json-ld.")] = None,
) -> None:
    """Import a DCAT-AP catalogue; running it again updates instead of duplicating."""
    from vntwin.dcat.importer import harvest_into
    from vntwin.errors import VntwinError

    settings = _settings()
    cat = _catalog(settings)
    try:
        if source.startswith(("http://", "https://")):
            from vntwin.dcat.fetch import fetch

            data, base = fetch(source, settings), source
        else:
            path = Path(source)
            if path.stat().st_size > settings.harvest_max_bytes:
                raise typer.BadParameter(f"{source} is larger than harvest_max_bytes")
            data, base = path.read_bytes(), path.resolve().as_uri()
        result = harvest_into(cat, data, fmt, org=org, base=base, console=console)
    except (VntwinError, OSError) as exc:
        console.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(1) from None
    finally:
        cat.close()
    console.print(f"harvested: {result['created']} created, {result['updated']} updated, "
                  f"{result['failed']} failed")
    if result["failed"]:
        raise typer.Exit(1)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="CSV, GeoJSON, GeoPackage, zipped Shapefile, "
                                              "GeoParquet or GeoTIFF.")],
    dataset: Annotated[str, typer.Option(help="Dataset that receives the layers.")],
    org: Annotated[str | None, typer.Option(help="Organisation, to create the dataset.")] = None,
    title: Annotated[str | None, typer.Option(help="Title of a new dataset.")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file has none, "
                                                 "e.g. EPSG:3405.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding, if not detected.")] = None,
) -> None:
    """Read every layer of a file, validate it and store it as twin layers of a dataset."""
    from vntwin.catalog.users import SYSTEM
    from vntwin.errors import VntwinError
    from vntwin.twin.ingest_catalog import ingest_file

    cat = _catalog(_settings())
    try:
        result = ingest_file(cat, SYSTEM, file, dataset=dataset, org=org, title=title,
                             crs=crs, encoding=encoding)
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        cat.close()
    for layer in result["layers"]:
        rows = "" if layer["rows"] is None else f", {layer['rows']:,} rows"
        title = f" \"{layer['title']}\"" if layer["title"] != layer["name"] else ""
        console.print(f"layer {layer['name']}{title} ({layer['kind']}{rows})", markup=False)
        if layer["schema"]:
            console.print("  columns: " + ", ".join(f"{c['name']} ({c['type']})"
                                                   for c in layer["schema"]), markup=False)
        for line in layer["report"]:
            console.print(f"  {line}", markup=False)
    console.print(f"stored in dataset {result['dataset']}; run `vntwin fuse` to update the twin")


@app.command()
def fuse(
    res: Annotated[int | None, typer.Option(help="H3 resolution (default: setting).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-fuse unchanged layers too.")] = False,
) -> None:
    """Fuse every changed twin layer onto the H3 grid and the administrative units."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from vntwin.twin.build import fuse_catalog

    cat = _catalog(_settings())
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("fusing", total=None)

            def step(name: str, number: int, total: int) -> None:
                bar.update(task, description=f"fusing {name}", completed=number - 1,
                           total=total)

            report = fuse_catalog(cat, res, force=force, progress=step)
            bar.update(task, completed=bar.tasks[0].total or 0)
    finally:
        cat.close()
    console.print(f"res {report.res}: {len(report.fused)} fused, {len(report.skipped)} "
                  f"unchanged, {len(report.removed)} removed, {len(report.failed)} failed")
    for name, seconds in report.seconds.items():
        console.print(f"  {name}: {seconds:.2f} s")
    for name, match in report.matching.items():  # tables with merged or unmatched rows
        if match["merged_rows"] or match["unmatched_rows"]:
            console.print(f"  {name}: {escape(match['note'])}")
    for name, message in report.failed.items():
        console.print(f"  [red]{name}[/red]: {message}")
    if report.failed:
        raise typer.Exit(1)


@twin_app.command("query")
def twin_query(
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS 84).")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS 84).")] = None,
    cell: Annotated[str | None, typer.Option(help="An H3 cell.")] = None,
    unit: Annotated[str | None, typer.Option(help="A province (2) or commune (5) code.")] = None,
    as_of: Annotated[str | None,
                     typer.Option(help="ISO 8601 time for time-stamped values.")] = None,
    identify: Annotated[bool, typer.Option(
        help="At a place, also each vector layer's features there.")] = False,
) -> None:
    """Print every layer's values at a place (or cell, or unit) as JSON."""
    import json

    from vntwin.errors import VntwinError
    from vntwin.live.layers import attach_layers
    from vntwin.twin import query
    from vntwin.twin.build import twin_store

    cat = _catalog(_settings())
    attach_layers(cat)  # live sensor layers join the answer
    store = twin_store(cat)
    try:
        if lat is not None and lon is not None:
            result = query.at_point(store, lat, lon, as_of)
            if identify:
                from vntwin.twin.identify import identify as features_at

                result["features"] = features_at(cat, lat, lon)["layers"]
        elif cell:
            result = query.at_cell(store, cell, as_of)
        elif unit:
            result = query.in_unit(store, unit, as_of)
        else:
            raise typer.BadParameter("give --lat and --lon, or --cell, or --unit")
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


@twin_app.command("merge")
def twin_merge(
    twins: Annotated[list[Path], typer.Argument(help="Twin files (twin.duckdb), highest "
                                                     "priority first.")],
    out: Annotated[Path, typer.Option(help="The merged twin: a new file.")],
    policy: Annotated[str, typer.Option(help="Who wins a conflict: 'priority' (the order "
                                             "given) or 'newest' (latest fusion).")] = "priority",
    report: Annotated[Path | None, typer.Option(help="Write every conflict to this CSV.")
                      ] = None,
) -> None:
    """Merge twins built separately into one; print the merge report as JSON."""
    import json

    from vntwin.errors import VntwinError
    from vntwin.twin.merge import merge_twins

    try:
        with console.status(f"merging {len(twins)} twins"):
            result = merge_twins(twins, out, policy=policy, report_csv=report)  # type: ignore[arg-type]
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result.summary(), ensure_ascii=False, indent=2))


@twin_app.command("layers")
def twin_layers() -> None:
    """List the fused layers with their variables, as JSON."""
    import json

    from vntwin.twin.build import twin_store

    typer.echo(json.dumps(twin_store(_catalog(_settings())).layers(), ensure_ascii=False,
                          indent=2))



@quality_app.command("score")
def quality_score(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets (default: all).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Measure even if fresh.")] = False,
) -> None:
    """Measure datasets' quality (the six dimensions) and print the scores as JSON."""
    import json

    from vntwin.catalog.users import SYSTEM
    from vntwin.errors import VntwinError
    from vntwin.quality import service

    cat = _catalog(_settings())
    try:
        if not names:
            scores = service.refresh_all(cat, force=force)
        else:
            scores = {}
            for name in names:
                report = service.quality_for(cat, SYSTEM, name) if not force else \
                    service.refresh(cat, service.package_id(cat, name), force=True)
                scores[name] = (report or {}).get("overall")
    except VntwinError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        cat.close()
    typer.echo(json.dumps(scores, ensure_ascii=False, indent=2))


if __name__ == "__main__":  # pragma: no cover
    app()
