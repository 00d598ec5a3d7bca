"""Planning scenarios on the twin: spec, edits, indicators, optimisation, runner, report.

A scenario (YAML or JSON, see :mod:`vntwin.scenarios.spec`) edits an overlay of the base
twin, optionally chooses new sites, and reports indicators nationally and per province
and commune, against the base. ``run_batch`` checks every spec first, reuses stored
results, computes the rest in parallel and stores each as a catalogue dataset.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names and the module each comes from, imported on first use (PEP 562): importing the
# package for one submodule, as ``vntwin scenario ...`` and the web routes do, must not
# pull in the solvers, SciPy and the report at once (2 s on every CLI start).
_EXPORTS = {
    "comparison": "compare", "national_table": "compare", "unit_table": "compare",
    "LoadedSpec": "loader", "SpecError": "loader", "load_many": "loader",
    "load_path": "loader", "load_text": "loader", "render_html": "report",
    "BatchReport": "runner", "check_batch": "runner", "run_batch": "runner",
    "examples": "service", "get_result": "service", "get_results": "service",
    "list_results": "service", "trim": "service", "ScenarioSpec": "spec",
    "json_schema": "spec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
