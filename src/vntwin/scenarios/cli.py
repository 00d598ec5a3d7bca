"""``vntwin scenario ...``: run, check and report planning scenarios from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

scenario_app = typer.Typer(help="Planning scenarios on the twin.", no_args_is_help=True)
console = Console(stderr=True)


def _catalog():  # type: ignore[no-untyped-def]
    from vntwin.catalog.service import Catalog
    from vntwin.settings import Settings

    return Catalog(Settings())


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@scenario_app.command("schema")
def schema(
    output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
) -> None:
    """Print (or write) the JSON Schema of a scenario spec."""
    from vntwin.scenarios.spec import json_schema

    text = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


SPECS_HELP = "Spec files (YAML or JSON), or folders of them."


@scenario_app.command("check")
def check(specs: Annotated[list[Path], typer.Argument(help=SPECS_HELP)]
          ) -> None:
    """Check specs against the current twin without running them."""
    from vntwin.catalog.users import SYSTEM
    from vntwin.errors import VntwinError
    from vntwin.scenarios.loader import load_many
    from vntwin.scenarios.runner import check_batch

    cat = _catalog()
    try:
        base, prepared = check_batch(cat, SYSTEM, load_many(specs))
    except VntwinError as exc:
        _fail(exc.message)
        return
    finally:
        cat.close()
    for item in prepared:
        console.print(f"[green]ok[/green] {item.loaded.source}: {item.loaded.spec.name} "
                      f"(twin {base.version})")
        for note in item.notes:
            console.print(f"  note: {note}")


def _national(result: dict[str, Any]) -> Table:
    table = Table(title=f"{result['name']}: {result.get('title', '')}", title_justify="left")
    for column in ("indicator", "measure", "base", "scenario", "Δ"):
        table.add_column(column, justify="left" if column in ("indicator", "measure")
                         else "right")

    def fmt(value: Any) -> str:
        return "—" if value is None else f"{value:,.2f}"

    for ind in result["indicators"]:
        for measure, v in ind["national"].items():
            table.add_row(ind["id"], measure, fmt(v["base"]), fmt(v["scenario"]),
                          fmt(v["delta"]))
    return table


@scenario_app.command("run")
def run(
    specs: Annotated[list[Path], typer.Argument(help=SPECS_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    org: Annotated[str | None, typer.Option(help="Organisation receiving the results "
                                                 "(default: kich-ban-quy-hoach).")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: cores).")] = None,
    detail: Annotated[str, typer.Option(help="national, province or commune rows in "
                                             "--json.")] = "province",
    report: Annotated[Path | None, typer.Option(help="Write an HTML report here.")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also a PDF of the report.")] = False,
    no_reuse: Annotated[bool, typer.Option("--no-reuse",
                                           help="Compute even if a result is stored.")] = False,
) -> None:
    """Run scenarios on the current twin; each result becomes a dataset."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from vntwin.catalog.users import SYSTEM
    from vntwin.errors import VntwinError
    from vntwin.scenarios.loader import load_many
    from vntwin.scenarios.runner import run_batch
    from vntwin.scenarios.service import trim

    if detail not in ("national", "province", "commune"):
        _fail("--detail is national, province or commune")
    cat = _catalog()
    try:
        loaded = load_many(specs)
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console, transient=as_json) as bar:
            task = bar.add_task("checking", total=len(loaded))

            def step(event: dict[str, Any]) -> None:
                if event["status"] in ("done", "reused", "failed"):
                    bar.update(task, completed=event["done"],
                               description=f"{event['status']} {event['scenario']}")
                elif event["status"] == "running":
                    bar.update(task, description=f"running {event['scenario']}")

            batch = run_batch(cat, SYSTEM, loaded, org=org, workers=workers, progress=step,
                              reuse=not no_reuse)
        if report:
            _write_report(batch.results, report, pdf)
    except VntwinError as exc:
        _fail(exc.message)
        return
    finally:
        cat.close()
    if as_json:
        typer.echo(json.dumps({"twin_version": batch.twin_version, "seconds": batch.seconds,
                               "results": [trim(r, detail) for r in batch.results]},  # type: ignore[arg-type]
                              ensure_ascii=False, indent=1))
    else:
        for result in batch.results:
            if "error" in result:
                console.print(f"[red]{result['name']} failed:[/red] {result['error']}")
                continue
            console.print(_national(result))
            how = "reused stored result" if result.get("reused") else \
                f"computed in {result.get('seconds', 0):.1f} s"
            console.print(f"  dataset [bold]{result['dataset']}[/bold] ({how})")
    console.print(f"{len(batch.results)} scenarios on twin {batch.twin_version} in "
                  f"{batch.seconds:.1f} s with {batch.workers} process(es)")
    if batch.failed:
        raise typer.Exit(1)


def _write_report(results: list[dict[str, Any]], path: Path, pdf: bool) -> None:
    from vntwin.scenarios.pdf import PdfUnavailable, html_to_pdf
    from vntwin.scenarios.report import render_html

    path.write_text(render_html(results), encoding="utf-8")
    console.print(f"report: {path}")
    if pdf:
        try:
            kind = html_to_pdf(path, path.with_suffix(".pdf"))
            console.print(f"PDF ({kind}): {path.with_suffix('.pdf')}")
        except PdfUnavailable as exc:
            console.print(f"[yellow]no PDF:[/yellow] {exc.message}")


@scenario_app.command("report")
def report_cmd(
    datasets: Annotated[list[str], typer.Argument(help="Result datasets to compare.")],
    output: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("bao-cao.html"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also a PDF.")] = False,
) -> None:
    """Write the HTML report (and PDF) of stored results."""
    from vntwin.catalog.users import SYSTEM
    from vntwin.errors import VntwinError
    from vntwin.scenarios.service import get_results

    cat = _catalog()
    try:
        _write_report(get_results(cat, SYSTEM, datasets), output, pdf)
    except VntwinError as exc:
        _fail(exc.message)
    finally:
        cat.close()


@scenario_app.command("list")
def list_cmd() -> None:
    """List stored scenario results as JSON."""
    from vntwin.catalog.users import SYSTEM
    from vntwin.scenarios.catalogue import list_results

    cat = _catalog()
    try:
        typer.echo(json.dumps(list_results(cat, SYSTEM), ensure_ascii=False, indent=1))
    finally:
        cat.close()
