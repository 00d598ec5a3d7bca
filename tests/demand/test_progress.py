"""Agencies' targets and the programme's progress figures."""

from __future__ import annotations

from vntwin.catalog.users import user_create


def test_targets_and_progress(api, cat, org, editor_token, admin_token, citizen, clock):
    api.ok("organization_create", admin_token, name="so-gtvt", title="Sở Giao thông vận tải")
    api.ok("organization_create", admin_token, name="so-yte", title="Sở Y tế")
    gtvt = user_create(cat, "bt-gtvt", org="so-gtvt", role="editor")[1]
    # only sysadmins set targets
    status, _ = api.call("agency_target_set", editor_token, organization_id="so-khcn",
                         year=2027, datasets_to_publish=2)
    assert status == 403
    status, body = api.call("agency_target_set", admin_token, organization_id="so-khcn",
                            year=1999)
    assert status == 409 and "year" in body["error"]
    target = api.ok("agency_target_set", admin_token, organization_id="so-khcn", year=2027,
                    datasets_to_publish=2, requests_to_answer=2, note="Kế hoạch 2027")
    assert target["datasets_to_publish"] == 2 and target["quality_to_reach"] is None
    api.ok("agency_target_set", admin_token, organization_id="so-gtvt", year=2027,
           datasets_to_publish=1)
    assert len(api.ok("agency_target_list", year=2027)) == 2

    clock.set("2027-02-01T09:00:00+07:00")
    reqs = [api.ok("datarequest_create", citizen, title=f"Yêu cầu {i}", description="x",
                   organization_id="so-khcn")["id"] for i in range(3)]
    api.ok("datarequest_create", citizen, title="Xe buýt", description="x",
           organization_id="so-gtvt")
    clock.set("2027-02-10T09:00:00+07:00")  # Tết: still inside the deadline
    api.ok("datarequest_update", editor_token, id=reqs[0], status="in_progress")
    clock.set("2027-03-10T09:00:00+07:00")
    api.ok("datarequest_close", editor_token, id=reqs[1], close_reason="Không thuộc thẩm quyền")
    clock.set("2027-04-01T09:00:00+07:00")
    # datasets created now count for 2027 (the clock only moves the demand modules)
    for name in ("khcn-1", "khcn-2"):
        api.ok("package_create", editor_token, name=name, owner_org="so-khcn")
    api.ok("package_create", gtvt, name="gtvt-1", owner_org="so-gtvt", private=True)

    year = int(api.ok("package_show", id="khcn-1")["metadata_created"][:4])
    if year != 2027:  # the real clock: set the same targets for the real year
        for org_name, n in (("so-khcn", 2), ("so-gtvt", 1)):
            api.ok("agency_target_set", admin_token, organization_id=org_name, year=year,
                   datasets_to_publish=n, **({"requests_to_answer": 2}
                                             if org_name == "so-khcn" else {}))
    agency = api.ok("agency_progress_show", id="so-khcn", year=2027)
    r = agency["requests"]
    assert (r["received"], r["answered"], r["answered_on_time"], r["answered_late"],
            r["overdue"]) == (3, 2, 1, 1, 1)
    assert r["on_time_rate"] == round(100 / 3, 1) and r["declined"] == 1
    now = api.ok("agency_progress_show", id="so-khcn", year=year)
    assert now["datasets"]["published"] == 2 and now["targets"]["set"]
    items = {i["target"]: i for i in now["targets"]["items"]}
    assert items["datasets_to_publish"]["met"]

    programme = api.ok("programme_progress_show", year=year)
    assert programme["agencies"] == 3 and programme["agencies_published"] == 2
    assert programme["agencies_published_share"] == round(200 / 3, 1)
    assert programme["agencies_with_targets"] == 2
    by_name = {a["organization"]["name"]: a for a in programme["by_agency"]}
    assert by_name["so-gtvt"]["targets"]["all_met"] is True
    assert by_name["so-gtvt"]["datasets"]["public"] == 0
    assert by_name["so-yte"]["targets"]["set"] is False
    # the HTTP endpoints give the same figures
    body = api.client.get(f"/programme/progress?year={year}").json()
    assert body["agencies_published"] == 2
    assert api.client.get("/programme/agencies/khong-co").status_code == 404


def test_feedback(api, org, editor_token, citizen, neighbour):
    api.ok("package_create", editor_token, name="bo-du-lieu", owner_org=org["name"])
    status, body = api.call("feedback_create", citizen, package_id="bo-du-lieu", rating=6)
    assert status == 409 and "rating" in body["error"]
    status, _ = api.call("feedback_create", None, package_id="bo-du-lieu", rating=4)
    assert status == 403
    api.ok("feedback_create", citizen, package_id="bo-du-lieu", rating=2, comment="Thiếu mã xã")
    api.ok("feedback_create", citizen, package_id="bo-du-lieu", rating=4, comment="Đã sửa")
    mine = api.ok("feedback_create", neighbour, package_id="bo-du-lieu", rating=5)
    listed = api.ok("feedback_list", package_id="bo-du-lieu", method="GET")
    assert listed["count"] == 2 and listed["rating_mean"] == 4.5
    assert listed["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    status, _ = api.call("feedback_delete", citizen, id=mine["id"])
    assert status == 403
    api.ok("feedback_delete", neighbour, id=mine["id"])
    assert api.ok("feedback_list", package_id="bo-du-lieu")["count"] == 1


def test_agency_figures_are_cached_but_never_stale(api, cat, org, editor_token, citizen,
                                                    monkeypatch):
    from vntwin.demand import figures
    from vntwin.demand.progress import agency_progress, period_for
    from vntwin.quality import refresh
    from vntwin.quality.store import save_score

    counted: list[list[str]] = []
    real = figures.count_figures

    def counting(session, ids, start, end):
        counted.append(list(ids))
        return real(session, ids, start, end)

    monkeypatch.setattr(figures, "count_figures", counting)
    start, end = period_for().utc

    def shown() -> dict:
        """The agency's figures as shown, checked against an uncached count."""
        got = agency_progress(cat, "so-khcn")
        with cat.read() as session:
            [fresh] = real(session, [org["id"]], start, end).values()
        assert (got["datasets"], got["quality"]) == (fresh["datasets"], fresh["quality"])
        return got

    def score(name: str, overall: float) -> None:
        package_id = api.ok("package_show", id=name)["id"]
        with cat.sessions() as session, session.begin():
            save_score(session, package_id, "test", {"overall": overall}, 0.0)

    pkg = api.ok("package_create", editor_token, name="khcn-1", owner_org="so-khcn")
    assert refresh.wait_idle(120)  # the write hook's own measurement, if any, is stored
    first = shown()
    assert first["datasets"] == {"published": 1, "public": 1, "total": 1}
    assert shown() == first and len(counted) == 1  # the second read is the cache's
    # a new score shows at once (scores change without a catalogue revision)
    score("khcn-1", 42.5)
    assert shown()["quality"] == {"mean": 42.5, "datasets_scored": 1} and len(counted) == 2
    score("khcn-1", 90.0)
    assert shown()["quality"]["mean"] == 90.0
    # datasets: access level, a new one, a deleted one
    api.ok("package_patch", editor_token, id=pkg["id"], access_level="restricted")
    assert shown()["datasets"] == {"published": 1, "public": 0, "total": 1}
    api.ok("package_create", editor_token, name="khcn-2", owner_org="so-khcn")
    assert refresh.wait_idle(120)
    assert shown()["datasets"] == {"published": 2, "public": 1, "total": 2}
    api.ok("package_delete", editor_token, id=pkg["id"])
    assert refresh.wait_idle(120)
    now = shown()
    assert now["datasets"] == {"published": 1, "public": 1, "total": 1}
    assert now["quality"]["mean"] != 90.0  # the deleted dataset's score no longer counts
    # requests are never cached
    api.ok("datarequest_create", citizen, title="Bản đồ trạm sạc", description="x",
           organization_id="so-khcn")
    assert shown()["requests"]["received"] == 1
    # and the organisation page shows what the API shows
    assert agency_progress(cat, "so-khcn") == api.ok("agency_progress_show", id="so-khcn")
