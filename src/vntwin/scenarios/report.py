"""The HTML report of a set of scenario results, with matplotlib plots, and its PDF.

One self-contained HTML file (plots inlined as SVG, no scripts, no external assets) that
opens anywhere and prints well; PDF through whichever converter the machine has
(:mod:`vntwin.scenarios.pdf`).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import numpy as np

from vntwin.scenarios.compare import comparison

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_UNITS_PLOTTED = 15

TEMPLATE = Path(__file__).with_name("report.html.j2")


def _fmt(value: Any, signed: bool = False) -> str:
    if value is None:
        return "—"
    number = float(value)
    text = f"{number:,.2f}" if abs(number) < 1000 else f"{number:,.0f}"
    return f"+{text}" if signed and number > 0 else text


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _bar_chart(labels: list[str], base: list[float], scen: list[float], ylabel: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(labels) + 2), 3.0))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, base, 0.4, label="gốc / base", color="#9aa5b1")
    ax.bar(x + 0.2, scen, 0.4, label="kịch bản / scenario", color="#1f6feb")
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _svg(fig)


def _province_chart(ind: dict[str, Any], measure: dict[str, Any]) -> str | None:
    """Horizontal bars of the largest per-province changes of one measure."""
    import matplotlib.pyplot as plt

    rows: list[tuple[str, float]] = []
    for unit in ind.get("provinces", []):
        delta = (unit["values"].get(measure["name"]) or {}).get("delta")
        if delta:
            rows.append((unit["name"] or unit["code"], float(delta)))
    rows = sorted(rows, key=lambda r: -abs(r[1]))[:MAX_UNITS_PLOTTED]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 0.3 * len(rows) + 1.2))
    y = np.arange(len(rows))
    values = [r[1] for r in rows]
    ax.barh(y, values, color=["#1a7f37" if v > 0 else "#b42318" for v in values])
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="#333", linewidth=0.6)
    unit = f" ({measure['unit']})" if measure["unit"] else ""
    ax.set_xlabel(f"Δ {measure['label']}{unit}")
    return _svg(fig)


def _plots(results: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Per scenario: for each indicator, the provinces that change most."""
    import matplotlib

    matplotlib.use("Agg")
    out: dict[str, list[dict[str, str]]] = {}
    for result in results:
        for ind in result["indicators"]:
            if not ind["measures"]:
                continue
            measure = ind["measures"][0]
            svg = _province_chart(ind, measure)
            if svg:
                out.setdefault(result["name"], []).append({
                    "title": f"{ind['label']}: thay đổi theo tỉnh / change by province",
                    "svg": svg})
    return out


def _shared(compare: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in compare["national"] if len(row["scenarios"]) > 1]


def _shared_plots(shared: list[dict[str, Any]], names: list[str]) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    plots = []
    seen: set[str] = set()
    for row in shared:
        if row["indicator"] in seen:
            continue
        seen.add(row["indicator"])
        present = [n for n in names if n in row["scenarios"]]
        unit = f" ({row['unit']})" if row["unit"] else ""
        plots.append({"title": f"{row['indicator_label']}: {row['label']}", "svg": _bar_chart(
            present, [row["scenarios"][n]["base"] or 0 for n in present],
            [row["scenarios"][n]["scenario"] or 0 for n in present], f"{row['label']}{unit}")})
    return plots


def _edit_text(edit: dict[str, Any]) -> str:
    skip = {"edit", "type"}
    return "; ".join(f"{k}: {_fmt(v) if isinstance(v, float) else v}"
                     for k, v in edit.items() if k not in skip)


def render_html(results: list[dict[str, Any]], title: str = "Kịch bản quy hoạch") -> str:
    """The report of these results as one HTML document."""
    compare = comparison(results, "province")
    ok = [r for r in results if "error" not in r]
    shared = _shared(compare)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    now = datetime.now(UTC).astimezone(LOCAL_TZ)
    return template.render(
        title=title, results=results, ok=ok, compare=compare, fmt=_fmt, shared=shared,
        shared_plots=_shared_plots(shared, [r["name"] for r in ok]), plots=_plots(ok),
        edit_text=_edit_text,
        versions=sorted({str(r.get("twin_version")) for r in ok}) or ["—"],
        generated=now.strftime("%Y-%m-%d %H:%M (giờ Việt Nam, UTC+7)"))
