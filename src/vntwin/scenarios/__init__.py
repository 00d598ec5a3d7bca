"""Planning scenarios on the twin: spec, edits, indicators, optimisation, runner, report.

A scenario (YAML or JSON, see :mod:`vntwin.scenarios.spec`) edits an overlay of the base
twin, optionally chooses new sites, and reports indicators nationally and per province
and commune, against the base. ``run_batch`` checks every spec first, reuses stored
results, computes the rest in parallel and stores each as a catalogue dataset.
"""

from vntwin.scenarios.compare import comparison, national_table, unit_table
from vntwin.scenarios.loader import LoadedSpec, SpecError, load_many, load_path, load_text
from vntwin.scenarios.report import render_html
from vntwin.scenarios.runner import BatchReport, check_batch, run_batch
from vntwin.scenarios.service import examples, get_result, get_results, list_results, trim
from vntwin.scenarios.spec import ScenarioSpec, json_schema

__all__ = ["BatchReport", "LoadedSpec", "ScenarioSpec", "SpecError", "check_batch",
           "comparison", "examples", "get_result", "get_results", "json_schema",
           "list_results", "load_many", "load_path", "load_text", "national_table",
           "render_html", "run_batch", "trim", "unit_table"]
