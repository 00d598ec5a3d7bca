"""Quality scores in DCAT as W3C Data Quality Vocabulary (DQV) measurements.

Each measured dimension, and the overall score, becomes a ``dqv:QualityMeasurement``
of the dataset (``dqv:hasQualityMeasurement``) with ``dqv:isMeasurementOf`` a
``dqv:Metric`` in a ``dqv:Dimension`` of the standard, and ``dqv:value`` the score
(xsd:double, 0-100). The scores come from the dataset dict's ``quality_*`` extras, so
DCAT shows what ``package_show`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rdflib import Graph, Namespace, URIRef
from rdflib import Literal as Lit

from vntwin.quality.rules import DEFAULT_RULES, DIMENSIONS, load_rules

DQV = Namespace("http://www.w3.org/ns/dqv#")
PROV = Namespace("http://www.w3.org/ns/prov#")
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SKOS_LABEL = URIRef("http://www.w3.org/2004/02/skos/core#prefLabel")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")


def metric_uri(site_url: str, name: str) -> str:
    """URI of the metric measuring one dimension (or ``overall``)."""
    return f"{site_url.rstrip('/')}/quality/metrics/{name}"


def dimension_uri(site_url: str, name: str) -> str:
    """URI of a quality dimension of the standard."""
    return f"{site_url.rstrip('/')}/quality/dimensions/{name}"


def measurement_uri(site_url: str, dataset_id: str, name: str) -> str:
    """URI of one measurement of one dataset (stable, so harvesters can update it)."""
    return f"{site_url.rstrip('/')}/quality/{dataset_id}#{name}"


def add_quality(graph: Graph, dataset: URIRef, pkg: Mapping[str, Any], site_url: str) -> None:
    """Add the dataset's quality measurements, if it has been measured."""
    extras = {e.get("key"): e.get("value") for e in pkg.get("extras") or []
              if isinstance(e, Mapping)}
    if not extras.get("quality_score"):
        return
    graph.bind("dqv", DQV, override=True)
    graph.bind("prov", PROV, override=True)
    rules = load_rules(DEFAULT_RULES)
    when = extras.get("quality_measured_at")
    for name in ("overall", *DIMENSIONS):
        raw = extras.get("quality_score" if name == "overall" else f"quality_{name}")
        try:
            value = float(str(raw))
        except ValueError:
            continue
        metric = URIRef(metric_uri(site_url, name))
        node = URIRef(measurement_uri(site_url, str(pkg["id"]), name))
        graph.add((dataset, DQV.hasQualityMeasurement, node))
        graph.add((node, RDF_TYPE, DQV.QualityMeasurement))
        graph.add((node, DQV.computedOn, dataset))
        graph.add((node, DQV.isMeasurementOf, metric))
        graph.add((node, DQV.value, Lit(value, datatype=XSD.double)))
        if when:
            graph.add((node, PROV.generatedAtTime, Lit(str(when), datatype=XSD.dateTime)))
        graph.add((metric, RDF_TYPE, DQV.Metric))
        graph.add((metric, DQV.expectedDataType, XSD.double))
        if name == "overall":
            graph.add((metric, SKOS_LABEL, Lit("Điểm chất lượng tổng hợp", lang="vi")))
            graph.add((metric, SKOS_LABEL, Lit("Overall quality score", lang="en")))
            continue
        dim = rules.dimensions[name]
        dimension = URIRef(dimension_uri(site_url, name))
        graph.add((metric, DQV.inDimension, dimension))
        graph.add((metric, SKOS_LABEL, Lit(f"Điểm {dim.label_vi.lower()}", lang="vi")))
        graph.add((metric, SKOS_LABEL, Lit(f"{dim.label_en} score", lang="en")))
        graph.add((dimension, RDF_TYPE, DQV.Dimension))
        graph.add((dimension, SKOS_LABEL, Lit(dim.label_vi, lang="vi")))
        graph.add((dimension, SKOS_LABEL, Lit(dim.label_en, lang="en")))
