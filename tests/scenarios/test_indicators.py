"""Indicators and edits against values computed by hand from the same real inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.scenarios.conftest import haversine, write_twin

from vntwin.scenarios.base import BaseTwin, twin_version
from vntwin.scenarios.check import prepare
from vntwin.scenarios.engine import run_prepared
from vntwin.scenarios.loader import load_text
from vntwin.twin.grid import cell_centres, latlng_to_cells

HANOI = (21.0245, 105.84117)  # GeoNames' "Hanoi"
BAC_NINH = (21.18608, 106.07631)  # GeoNames' "Bắc Ninh"


def _run(store, text: str) -> dict:
    base = BaseTwin.load(store)
    prepared = prepare(base, load_text(text))
    return run_prepared(base, prepared)


def _grid(store) -> pd.DataFrame:
    with store.read() as con:
        cells = con.execute("SELECT c.h3, c.province_code, c.commune_code, "
                            "coalesce(v.value, 0) AS pop FROM cells c LEFT JOIN cell_values v "
                            "USING (h3) ORDER BY c.h3").df()
    lat, lon = cell_centres(cells["h3"].to_numpy(dtype=np.uint64))
    return cells.assign(lat=lat, lon=lon)


def _spec(indicators: str, edits: str = "", facilities: str = "") -> str:
    return (f"name: t\ntitle: t\n{facilities}{edits}indicators:\n{indicators}")


FACILITIES = f"""facilities:
  - type: clinic
    points:
      - {{id: hn, type: clinic, lat: {HANOI[0]}, lon: {HANOI[1]}, capacity: 500}}
      - {{id: bn, type: clinic, lat: {BAC_NINH[0]}, lon: {BAC_NINH[1]}, capacity: 120}}
"""


def test_accessibility_by_hand(small_twin):
    grid = _grid(small_twin)
    outcome = _run(small_twin, _spec("""  - {id: a, type: accessibility, facility_type: clinic,
       distance_km: 12}
""", facilities=FACILITIES))
    ind = outcome.result["indicators"][0]
    d = np.minimum(haversine(*HANOI, grid["lat"].to_numpy(), grid["lon"].to_numpy()),
                   haversine(*BAC_NINH, grid["lat"].to_numpy(), grid["lon"].to_numpy()))
    pop = grid["pop"].to_numpy()
    within = pop[d <= 12].sum()
    national = ind["national"]
    assert national["population_within"]["scenario"] == pytest.approx(within)
    assert national["share_within"]["scenario"] == pytest.approx(100 * within / pop.sum())
    assert national["mean_distance_km"]["scenario"] == pytest.approx((pop * d).sum() / pop.sum())
    # the same per province
    for row in ind["provinces"]:
        mask = (grid["province_code"] == row["code"]).to_numpy()
        assert row["values"]["population_within"]["scenario"] == pytest.approx(
            pop[mask & (d <= 12)].sum())
    # and per commune: the communes' sums add up to the nation's
    assert sum(r["values"]["population_within"]["scenario"] for r in ind["communes"]) == \
        pytest.approx(within)
    # no edits: the scenario is the base
    assert national["population_within"]["delta"] == 0


def test_coverage_per_capita_exposure_custom(small_twin):
    grid = _grid(small_twin)
    pop = grid["pop"].to_numpy()
    polygon = ("[[[105.80, 20.98], [105.90, 20.98], [105.90, 21.06], [105.80, 21.06], "
               "[105.80, 20.98]]]")
    outcome = _run(small_twin, _spec(f"""  - {{id: cov, type: coverage, facility_type: tower}}
  - {{id: beds, type: per_capita, facility_type: clinic, per: 1000}}
  - {{id: flood, type: exposure, hazard: {{area: {{geometry: {{type: Polygon,
       coordinates: {polygon}}}}}}}}}
  - {{id: sql, type: custom, expression: "sum(population) FILTER (WHERE population > 100000)"}}
""", edits=f"""edits:
  - type: add_towers
    towers:
      - {{id: t1, lat: {HANOI[0]}, lon: {HANOI[1]}, radius_km: 6}}
""", facilities=FACILITIES))
    by_id = {i["id"]: i for i in outcome.result["indicators"]}
    lat, lon = grid["lat"].to_numpy(), grid["lon"].to_numpy()
    covered = pop[haversine(*HANOI, lat, lon) <= 6].sum()
    cov = by_id["cov"]["national"]["population_covered"]
    assert cov == {"base": 0.0, "scenario": pytest.approx(covered), "delta": pytest.approx(covered)}
    # beds per 1,000 people by province: Hà Nội holds the 500 beds, Bắc Ninh the 120
    beds = {r["code"]: r["values"]["per_people"]["scenario"] for r in by_id["beds"]["provinces"]}
    for code, capacity in (("01", 500), ("24", 120)):
        people = pop[(grid["province_code"] == code).to_numpy()].sum()
        assert beds[code] == pytest.approx(capacity / people * 1000)
    assert beds["33"] == 0
    inside = (lon > 105.80) & (lon < 105.90) & (lat > 20.98) & (lat < 21.06)
    assert by_id["flood"]["national"]["exposed_population"]["base"] == pytest.approx(
        pop[inside].sum())
    sql = {r["code"]: r["values"]["value"]["scenario"] for r in by_id["sql"]["provinces"]}
    for code in ("01", "24"):
        sel = pop[(grid["province_code"] == code).to_numpy()]
        assert sql[code] == pytest.approx(sel[sel > 100000].sum())


def test_edits_are_an_overlay(small_twin):
    version = twin_version(small_twin)
    base = BaseTwin.load(small_twin)
    before = base.values(base.resolve("population")).copy()
    outcome = _run(small_twin, _spec("""  - {id: sql, type: custom, expression: "sum(population)"}
""", edits="""edits:
  - {type: scale, variable: population, area: {provinces: ["24"]}, percent: 50}
  - type: land_use
    area: {provinces: ["33"]}
    move: [{variable: population, share: 0.25, to: {provinces: ["01"]}}]
"""))
    grid = _grid(small_twin)
    pop = grid["pop"].to_numpy()
    p24 = pop[(grid["province_code"] == "24").to_numpy()].sum()
    sql = outcome.result["indicators"][0]
    # scale adds half of Bắc Ninh; the move conserves the total
    assert sql["national"]["value"]["delta"] == pytest.approx(0.5 * p24)
    provinces = {r["code"]: r["values"]["value"] for r in sql["provinces"]}
    p33 = pop[(grid["province_code"] == "33").to_numpy()].sum()
    assert provinces["33"]["delta"] == pytest.approx(-0.25 * p33)
    assert provinces["01"]["delta"] == pytest.approx(0.25 * p33)
    # the base twin is untouched: same file version, same arrays
    assert twin_version(small_twin) == version
    assert np.array_equal(base.values(base.resolve("population")), before)
    # the difference layer holds exactly the changed cells
    cells = outcome.cells
    column = next(c for c in cells.columns if c.startswith("var:"))
    assert set(cells["province_code"]) <= {"01", "24", "33"}
    assert cells[column].sum() == pytest.approx(0.5 * p24)


def test_travel_time_over_roads(tmp_path, region_cells, places):
    """With a road layer, minutes along the H3 neighbour graph at road speed."""
    from vntwin.scenarios import travel

    inside = places[places["h3"].isin(region_cells["h3"])]
    population = inside.groupby("h3")["population"].sum()
    # a straight road of cells from Hà Nội eastwards: 1,500 m of road in each
    start = int(latlng_to_cells([HANOI[0]], [HANOI[1]], 7)[0])
    import h3

    end = h3.str_to_int(h3.latlng_to_cell(HANOI[0], HANOI[1] + 0.3, 7))
    path = [int(c) for c in map(h3.str_to_int, h3.grid_path_cells(h3.int_to_str(start),
                                                                   h3.int_to_str(end)))]
    roads = pd.Series(1500.0, index=pd.Index(path, dtype="uint64"))
    store = write_twin(tmp_path / "roads.duckdb", region_cells, population,
                       {"length_m": roads})
    with store.write() as con:  # a line layer named for roads, as ingest would record it
        con.execute("UPDATE layers SET kind = 'line', layer = 'duong-bo' "
                    "WHERE layer = 'test-length_m'")
        con.execute("UPDATE variables SET layer = 'duong-bo' WHERE layer = 'test-length_m'")
        con.execute("UPDATE series SET layer = 'duong-bo' WHERE layer = 'test-length_m'")
    text = _spec("""  - {id: a, type: accessibility, facility_type: clinic, distance_km: 5,
       travel_minutes: 60}
""", facilities=FACILITIES.replace("      - {id: bn", "      # - {id: bn"))
    outcome = _run(store, text)
    notes = outcome.result["indicators"][0]["notes"]
    assert any("duong-bo" in n for n in notes)
    base = BaseTwin.load(store)
    minutes = travel.minutes_to_nearest(base, base.values(base.resolve("duong-bo:length_m")),
                                        base.locate([HANOI[0]], [HANOI[1]]), 600)
    # along the road: each step costs the centre distance at 40 km/h
    lat, lon = cell_centres(np.array(path, dtype=np.uint64))
    steps = haversine(lat[:-1], lon[:-1], lat[1:], lon[1:])
    expected = np.cumsum(steps) / 40 * 60
    got = minutes[base.index_of(np.array(path[1:], dtype=np.uint64))]
    assert got == pytest.approx(expected, rel=1e-6)


def test_no_road_layer_is_said(small_twin):
    outcome = _run(small_twin, _spec("""  - {id: a, type: accessibility, facility_type: clinic,
       distance_km: 5, travel_minutes: 30}
""", facilities=FACILITIES))
    ind = outcome.result["indicators"][0]
    assert any("travel time not available" in n for n in ind["notes"])
    assert "population_within_travel" not in ind["national"]
