"""The findings report an agency acts on: HTML to read, CSV to work through.

The CSV has one line per failing row (or per finding when it has no rows): dimension,
check, resource, column, row number, example value, message and advice, so a data
officer can sort and filter it in a spreadsheet and fix the file row by row.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from vntwin.demand.workdays import LOCAL_TZ
from vntwin.quality.rules import DIMENSIONS

CSV_COLUMNS = ["dimension", "check", "resource_id", "resource", "column", "row", "count",
               "message", "example", "advice_vi", "advice_en"]
_ENV = Environment(loader=PackageLoader("vntwin.quality", "templates"),
                   autoescape=select_autoescape(["html"]))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _local(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M (giờ Việt Nam)")


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for d in DIMENSIONS for c in report[d]["checks"]}


def report_html(report: dict[str, Any]) -> str:
    """The report as a self-contained HTML page (no scripts, no external assets)."""
    return _ENV.get_template("quality_report.html").render(
        report=report, dimensions=DIMENSIONS, checks=_checks(report), fmt=_fmt, local=_local)


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The CSV's lines as dicts."""
    checks = _checks(report)
    out: list[dict[str, Any]] = []
    for name in DIMENSIONS:
        for f in report[name]["findings"]:
            check = checks.get(f["check"], {})
            base = {"dimension": name, "check": f["check"], "resource_id": f["resource_id"] or "",
                    "resource": f["resource_name"] or "", "column": f["column"] or "",
                    "count": f["count"], "message": f["message"],
                    "advice_vi": check.get("advice_vi", ""),
                    "advice_en": check.get("advice_en", "")}
            examples = f.get("examples") or []
            if f["rows"]:
                for i, row in enumerate(f["rows"]):
                    out.append({**base, "row": row,
                                "example": examples[i] if i < len(examples) and
                                f["check"] in ("territory", "duplicates") else ""})
            else:
                out.append({**base, "row": "", "example": "; ".join(examples)})
    return out


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV (UTF-8; the caller adds a BOM for Excel if it wants one)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return buffer.getvalue()


def csv_download(report: dict[str, Any]) -> tuple[str, str]:
    """(body, filename) of the CSV as the API and the dataset page send it: with a BOM,
    so a spreadsheet opens the Vietnamese text as UTF-8, named after the dataset.
    """
    return "\ufeff" + report_csv(report), f"{report['dataset']['name']}-quality.csv"
