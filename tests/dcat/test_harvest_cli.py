"""`vntwin harvest FILE` imports a DCAT-AP catalogue idempotently."""

from __future__ import annotations

from typer.testing import CliRunner

from vntwin.cli import app


def test_export_then_harvest_twice(client, api, admin_token, org, cat, tmp_path, backend):
    api.ok("package_create", admin_token, name="dat-dai", title="Đất đai", owner_org=org["name"],
           notes="Bản đồ đất", tags=[{"name": "đất"}], license_id="cc-by-4.0", theme=["ENVI"],
           update_frequency="ANNUAL", resources=[{"url": "https://example.org/dat.csv"}])
    ttl = client.get("/catalog.ttl").text
    assert "Đất đai" in ttl
    src = tmp_path / "catalog.ttl"
    src.write_text(ttl, encoding="utf-8")
    api.ok("organization_create", admin_token, name="nguon-ngoai", title="Nguồn ngoài")
    env = {"VNTWIN_DATA_DIR": str(cat.settings.data_dir)}
    if cat.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = cat.settings.database_url
    runner = CliRunner()
    for expected in ("1 created, 0 updated", "0 created, 1 updated"):
        r = runner.invoke(app, ["harvest", str(src), "--org", "nguon-ngoai"], env=env)
        assert r.exit_code == 0, r.output
        assert expected in r.output
    found = api.ok("package_search", method="GET", fq="organization:nguon-ngoai")
    assert found["count"] == 1
    pkg = found["results"][0]
    assert pkg["name"] == "dat-dai-2" and pkg["title"] == "Đất đai"
    assert [t["name"] for t in pkg["tags"]] == ["đất"]
    assert pkg["theme"] == ["ENVI"] and pkg["update_frequency"] == "ANNUAL"
    assert [r["url"] for r in pkg["resources"]] == ["https://example.org/dat.csv"]
    history = api.ok("package_activity_list", method="GET", id=pkg["id"])
    assert len(history) == 2
    bad = tmp_path / "bad.ttl"
    bad.write_text("<<< not turtle", encoding="utf-8")
    r = runner.invoke(app, ["harvest", str(bad), "--org", "nguon-ngoai"], env=env)
    assert r.exit_code == 1 and "error" in r.output
    assert api.ok("package_search", method="GET", fq="organization:nguon-ngoai")["count"] == 1
