"""Scores in package_show, DCAT (W3C DQV), the findings report, and recomputation after
writes."""

from __future__ import annotations

import csv
import io

from quality_samples import commune_rows, to_csv
from rdflib import Graph, Namespace

from vntwin.quality import refresh

DQV = Namespace("http://www.w3.org/ns/dqv#")


def _extras(pkg):
    return {e["key"]: e["value"] for e in pkg["extras"]}


def test_scores_recomputed_after_a_write_and_published(datasets, api, editor_token, client):
    rows = commune_rows()
    rows[2]["commune_code"] = "99999"
    datasets.make("xa-cong-bo", to_csv(rows))
    assert refresh.wait_idle(120)  # the write hook measured it in the background
    extras = _extras(api.ok("package_show", id="xa-cong-bo"))
    assert extras["quality_up_to_date"] == "true"
    assert float(extras["quality_accurate"]) < 100
    assert float(extras["quality_clean"]) == 100 and extras["quality_score"]

    # a metadata change makes the stored score stale until it is measured again
    api.ok("package_patch", editor_token, id="xa-cong-bo", license_id="other-closed")
    shown = _extras(api.ok("package_show", id="xa-cong-bo"))
    assert refresh.wait_idle(120)
    again = _extras(api.ok("package_show", id="xa-cong-bo"))
    assert again["quality_up_to_date"] == "true"
    assert float(again["quality_shared"]) < float(extras["quality_shared"])
    assert shown["quality_up_to_date"] in ("true", "false")

    ttl = client.get("/dataset/xa-cong-bo.ttl").text
    graph = Graph().parse(data=ttl, format="turtle")
    values = {str(m).rsplit("#", 1)[1]: float(v) for m, v in graph.subject_objects(DQV.value)}
    assert values["shared"] == float(again["quality_shared"])
    assert set(values) == {"overall", "accurate", "sufficient", "clean", "live", "unified",
                           "shared"}
    assert len(list(graph.subjects(DQV.isMeasurementOf, None))) == 7

    page = client.get("/quality/xa-cong-bo/report.html")
    assert page.status_code == 200 and "99999" in page.text and "Đúng" in page.text
    sheet = client.get("/quality/xa-cong-bo/report.csv")
    assert sheet.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    codes = [r for r in lines if r["check"] == "code_lists"]
    assert [r["row"] for r in codes] == ["3"] and codes[0]["column"] == "commune_code"


def test_access_rules_and_errors(datasets, api, editor_token, client):
    datasets.make("xa-rieng", to_csv(commune_rows()[:20]), access_level="restricted")
    assert client.get("/quality/xa-rieng").status_code == 404
    assert client.get("/quality/xa-rieng",
                      headers={"Authorization": editor_token}).status_code == 200
    missing = client.get("/quality/khong-co")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_a_failing_hook_never_fails_the_write(api, editor_token, org, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(refresh, "schedule", broken)
    monkeypatch.setattr(refresh.event, "listen", broken)
    pkg = api.ok("package_create", editor_token, name="van-ghi-duoc", owner_org=org["name"])
    assert pkg["name"] == "van-ghi-duoc"
