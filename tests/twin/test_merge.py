"""Merging two twins built separately: union, declared conflict policy, full report."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pandas as pd
import pytest

from vntwin.errors import ValidationError
from vntwin.twin import grid
from vntwin.twin.merge import merge_twins
from vntwin.twin.store import LayerRecord, TwinStore, VariableInfo

RES = 8
# three real places: Hoàn Kiếm (Hà Nội), Hải Phòng, Cần Thơ
PLACES = {"hk": (21.0285, 105.8542, "01", "00070"), "hp": (20.8648, 106.6835, "31", "11311"),
          "ct": (10.0371, 105.7883, "92", "31117")}
CELL = {k: int(grid.latlng_to_cells([v[0]], [v[1]], RES)[0]) for k, v in PLACES.items()}


def _twin(path: Path, places: list[str], layers: dict[str, dict[str, float]],
          res: int = RES) -> TwinStore:
    store = TwinStore(path)
    cells = pd.DataFrame([{"h3": CELL[k] if res == RES else int(grid.latlng_to_cells(
        [PLACES[k][0]], [PLACES[k][1]], res)[0]), "lat": PLACES[k][0], "lon": PLACES[k][1],
        "province_code": PLACES[k][2], "commune_code": PLACES[k][3]} for k in places])
    store.set_grid(cells, res)
    for layer, values in layers.items():
        frame = pd.DataFrame({"h3": [CELL[k] for k in values], "variable": "population_sum",
                              "value": list(values.values())})
        store.replace_layer(LayerRecord(layer, f"id-{layer}", layer, f"r-{layer}", "fp",
                                        "point", res),
                            frame, {"population_sum": VariableInfo("extensive", "persons",
                                                                   "population")})
    return store


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "mien-bac.duckdb"
    _twin(a, ["hk", "hp"], {"dan-so": {"hk": 100.0, "hp": 50.0}, "truong": {"hk": 3.0}})
    time.sleep(0.01)  # b's layers are fused later: newer
    b = tmp_path / "giao-thong.duckdb"
    _twin(b, ["hp", "ct"], {"dan-so": {"hp": 70.0, "ct": 20.0}, "truong": {"hk": 3.0},
                            "duong": {"ct": 1500.0}})
    return a, b


def _values(path: Path) -> dict[tuple[str, int], float]:
    with TwinStore(path).read() as con:
        return {(r[0], r[1]): r[2] for r in con.execute(
            "SELECT layer, h3, value FROM cell_values").fetchall()}


def test_priority_keeps_the_first_twin_and_reports_conflicts(twins, tmp_path):
    a, b = twins
    before = (_digest(a), _digest(b))
    report_csv = tmp_path / "conflicts.csv"
    report = merge_twins([a, b], tmp_path / "merged.duckdb", policy="priority",
                         report_csv=report_csv)
    assert (_digest(a), _digest(b)) == before  # inputs untouched
    values = _values(tmp_path / "merged.duckdb")
    assert values[("dan-so", CELL["hp"])] == 50.0  # a wins
    assert values[("dan-so", CELL["hk"])] == 100.0 and values[("dan-so", CELL["ct"])] == 20.0
    assert values[("duong", CELL["ct"])] == 1500.0
    assert report.cells == 3 and report.layers == 3 and report.values == 5
    # the equal 'truong' value in both is no conflict; the two 'dan-so' values for hp are
    assert report.conflicts == 1
    row = report.conflict_rows[0]
    assert (row["layer"], row["chosen_value"], row["chosen_twin"]) == ("dan-so", 50.0, str(a))
    assert "= 50.0" in row["candidates"] and "= 70.0" in row["candidates"]
    csv = pd.read_csv(report_csv)
    assert len(csv) == 1 and csv.loc[0, "h3"] == format(CELL["hp"], "x")


def test_newest_policy_takes_the_latest_fusion(twins, tmp_path):
    a, b = twins
    report = merge_twins([a, b], tmp_path / "merged.duckdb", policy="newest")
    assert _values(tmp_path / "merged.duckdb")[("dan-so", CELL["hp"])] == 70.0
    assert report.conflict_rows[0]["chosen_twin"] == str(b)


def test_the_merged_twin_answers_queries_and_keeps_merged_layers(twins, tmp_path):
    from vntwin.twin import query

    a, b = twins
    out = tmp_path / "merged.duckdb"
    merge_twins([a, b], out)
    store = TwinStore(out)
    at = query.at_point(store, *PLACES["ct"][:2])
    assert at["layers"]["duong"]["population_sum"]["value"] == 1500.0
    assert store.drop_layers(set()) == []  # a later `vntwin fuse` keeps them
    assert {x["layer"] for x in store.layers()} == {"dan-so", "truong", "duong"}


def test_bad_merges_are_refused_and_leave_nothing(twins, tmp_path):
    a, b = twins
    coarse = tmp_path / "coarse.duckdb"
    _twin(coarse, ["hk"], {}, res=7)
    out = tmp_path / "merged.duckdb"
    with pytest.raises(ValidationError, match="different H3 resolutions"):
        merge_twins([a, coarse], out)
    with pytest.raises(ValidationError, match="two twins or more"):
        merge_twins([a], out)
    with pytest.raises(ValidationError, match="unknown policy"):
        merge_twins([a, b], out, policy="loudest")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not an input"):
        merge_twins([a, b], a)
    with pytest.raises(ValidationError, match="no such file"):
        merge_twins([a, tmp_path / "missing.duckdb"], out)
    assert not out.exists()
    assert list(tmp_path.glob(".*merging")) == []


def test_cli_merge(twins, tmp_path):
    import json

    from typer.testing import CliRunner

    from vntwin.cli import app

    a, b = twins
    out, csv = tmp_path / "merged.duckdb", tmp_path / "conflicts.csv"
    result = CliRunner().invoke(app, ["twin", "merge", str(a), str(b), "--out", str(out),
                                      "--policy", "newest", "--report", str(csv)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["conflicts"] == 1 and summary["policy"] == "newest" and csv.exists()
    bad = CliRunner().invoke(app, ["twin", "merge", str(a), "--out", str(out)])
    assert bad.exit_code == 1 and "two twins" in bad.output
