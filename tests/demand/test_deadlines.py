"""Working-day deadlines across Tết, and response times measured against them."""

from __future__ import annotations

from datetime import date

from vntwin.demand.workdays import deadline, holiday_name, working_days_between


def test_deadline_skips_tet_2027():
    # 2027-02-01 is a Monday; Tết holidays run 4-10 February 2027 (with the weekend)
    assert holiday_name(date(2027, 2, 6)) == "Tết Nguyên Đán"
    assert deadline(date(2027, 2, 1), 15) == date(2027, 3, 1)
    # without holidays, 15 working days would end on 22 February
    assert working_days_between(date(2027, 2, 1), date(2027, 2, 22)) == 10
    assert working_days_between(date(2027, 2, 1), date(2027, 3, 1)) == 15


def test_weekend_moved_to_a_working_day():
    # Saturday 2026-08-22 is worked to make Monday 31 August a day off
    assert working_days_between(date(2026, 8, 21), date(2026, 8, 22)) == 1
    assert holiday_name(date(2026, 8, 31)) is not None


def test_request_made_before_tet_is_on_time_after_it(api, org, editor_token, citizen, clock):
    clock.set("2027-02-01T09:00:00+07:00")
    on_time = api.ok("datarequest_create", citizen, title="Giá đất", description="Bảng giá",
                     organization_id=org["name"])
    late = api.ok("datarequest_create", citizen, title="Quy hoạch", description="Bản đồ",
                  organization_id=org["name"])
    ignored = api.ok("datarequest_create", citizen, title="Cấp nước", description="Mạng lưới",
                     organization_id=org["name"])
    assert on_time["response"]["deadline"] == "2027-03-01"
    # 26 February: 14 working days later, though 25 calendar days have passed
    clock.set("2027-02-26T16:00:00+07:00")
    first = api.ok("datarequest_update", editor_token, id=on_time["id"], status="in_progress")
    assert first["response"]["state"] == "on_time" and first["response"]["working_days"] == 14
    assert api.ok("datarequest_show", id=ignored["id"])["response"]["state"] == "pending"
    # 2 March is one working day past the deadline
    clock.set("2027-03-02T08:30:00+07:00")
    answered = api.ok("datarequest_comment", editor_token, datarequest_id=late["id"],
                      comment="Đang xem xét")
    assert answered["from_agency"]
    shown = api.ok("datarequest_show", id=late["id"])
    assert shown["response"]["state"] == "late" and shown["response"]["working_days"] == 16
    assert api.ok("datarequest_show", id=ignored["id"])["response"]["state"] == "overdue"
    # a later answer does not move the first response
    clock.set("2027-03-20T08:30:00+07:00")
    again = api.ok("datarequest_update", editor_token, id=on_time["id"], status="accepted",
                   planned_date="2027-06-30")
    assert again["response"]["responded_at"] == first["response"]["responded_at"]
    facets = api.ok("datarequest_list", organization_id=org["name"])["facets"]["response"]
    assert facets == {"on_time": 1, "late": 1, "overdue": 1}


def test_deadline_setting_is_used(api, cat, org, citizen, clock):
    cat.settings = cat.settings.model_copy(update={"request_deadline_days": 5})
    clock.set("2027-02-01T09:00:00+07:00")
    req = api.ok("datarequest_create", citizen, title="A", description="B",
                 organization_id=org["name"])
    # 2, 3 February, then Tết; 11, 12, 15 February
    assert req["response"]["deadline"] == "2027-02-15"
