from __future__ import annotations

import pytest


@pytest.fixture
def seeded(api, admin_token, org):
    other = api.ok("organization_create", admin_token, name="so-gtvt", title="Ban Giao thông")
    rows = [
        ("dan-so-tinh", "Dân số theo tỉnh", "Số liệu dân số 2024", ["dân số"], org, "cc-by-4.0"),
        ("giao-thong", "Mạng lưới giao thông", "Đường bộ và dân cư", ["giao thông"], other,
         "odc-odbl"),
        ("chat-luong-khong-khi", "Chất lượng không khí", "Quan trắc", ["môi trường", "dân số"],
         other, "cc-by-4.0"),
        ("ban-do-nen", "Bản đồ nền", "Dân số ghi chú", ["bản đồ"], org, "cc-zero"),
    ]
    for name, title, notes, tags, owner, lic in rows:
        api.ok("package_create", admin_token, name=name, title=title, notes=notes,
               tags=[{"name": t} for t in tags], owner_org=owner["name"], license_id=lic,
               resources=[{"url": f"https://example.org/{name}.csv"}])
    return rows


def search(api, **params):
    return api.ok("package_search", method="GET", **params)


def test_diacritics_and_field_weights(api, seeded):
    res = search(api, q="dan so")
    names = [p["name"] for p in res["results"]]
    # title match above tag match above notes match
    assert names == ["dan-so-tinh", "chat-luong-khong-khi", "ban-do-nen"]
    assert search(api, q="DÂN SỐ")["count"] == 3
    assert search(api, q="khong khi")["results"][0]["name"] == "chat-luong-khong-khi"
    assert search(api, q="dan*")["count"] == 4  # prefix matches dân cư too
    assert search(api, q="xyzzy")["count"] == 0


def test_fq_syntax(api, seeded):
    assert search(api, fq="organization:so-gtvt")["count"] == 2
    assert search(api, fq="-organization:so-gtvt")["count"] == 2
    assert search(api, fq='tags:"dân số"')["count"] == 2
    assert search(api, fq="tags:dan-so OR license_id:odc-odbl")["count"] == 1
    assert search(api, fq="license_id:cc-by-4.0 OR license_id:cc-zero")["count"] == 3
    assert search(api, fq="license_id:(cc-by-4.0 OR cc-zero) -tags:bản*")["count"] == 2
    assert search(api, fq="metadata_modified:[2020-01-01T00:00:00Z TO *]")["count"] == 4
    assert search(api, fq="metadata_modified:[* TO 2020-01-01T00:00:00Z]")["count"] == 0
    assert search(api, fq="metadata_created:[NOW-1DAY TO NOW+1DAY]")["count"] == 4
    assert search(api, fq="res_format:CSV")["count"] == 4
    assert search(api, q="organization:so-gtvt dan so")["count"] == 1
    assert search(api, fq="+dataset_type:dataset")["count"] == 4


def test_facets_sort_and_paging(api, seeded):
    res = search(api, **{"facet.field": '["organization","tags","license_id","res_format"]',
                         "facet.limit": "1", "rows": "0"})
    assert res["count"] == 4 and res["results"] == []
    assert res["facets"]["tags"] == {"dân số": 2}
    assert res["search_facets"]["organization"]["items"][0]["display_name"] in (
        "Sở Khoa học và Công nghệ", "Ban Giao thông")
    assert res["facets"]["res_format"] == {"CSV": 4}
    by_name = [p["name"] for p in search(api, sort="name asc", rows=10)["results"]]
    assert by_name == sorted(by_name)
    # a harvester pages with sort=id asc and start
    seen = []
    for start in range(0, 4, 3):
        page = search(api, sort="id asc", rows=3, start=start)
        seen += [p["id"] for p in page["results"]]
    assert seen == sorted(seen) and len(seen) == 4
    titles = [p["title"] for p in search(api, sort="title_string desc")["results"]]
    assert titles[0] == "Mạng lưới giao thông"


def test_search_errors(api, seeded):
    for params in ({"sort": "drop table"}, {"fq": "nosuchfield:x"}, {"fq": "(unclosed"},
                   {"facet.field": '["password"]'}, {"fq": "metadata_modified:[yesterday TO *]"}):
        status, body = api.call("package_search", method="GET", **params)
        assert status == 400, params
        assert body["error"]["__type"] == "Search Query Error"
    status, body = api.call("package_search", method="GET", rows="1001")
    assert status == 409 and body["error"]["__type"] == "Validation Error"


def test_index_follows_changes_from_another_process(api, admin_token, org, cat, seeded):
    """A second Catalog on the same database (another worker) sees changes through the
    revision counter."""
    from vntwin.catalog.auth import ANONYMOUS
    from vntwin.catalog.find import package_search
    from vntwin.catalog.search import SearchParams
    from vntwin.catalog.service import Catalog

    other = Catalog(cat.settings)
    try:
        assert package_search(other, ANONYMOUS, SearchParams(q="dan so"))["count"] == 3
        api.ok("package_patch", admin_token, id="ban-do-nen", notes="khác", tags=[])
        api.ok("package_delete", admin_token, id="dan-so-tinh")
        assert package_search(other, ANONYMOUS, SearchParams(q="dan so"))["count"] == 1
    finally:
        other.close()
