"""The demo's open data request: a real gap of the demo catalogue, asked for openly.

The demo catalogue has every commune's code, name and centre after the 2025 reform but
no commune boundaries (polygons): the packages it installs do not ship them. That is
exactly the kind of need the requests programme exists to surface, so the demo asks for
it, addressed to the organisation that holds the communes, and says in the request that
the demo wrote it (no citizen is invented). Idempotent: asked once per catalogue.
"""

from __future__ import annotations

from sqlalchemy import select

from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.demand import requests
from vntwin.demand.models import DataRequest
from vntwin.demo.datasets import REFERENCE_ORG

TITLE = "Ranh giới (đa giác) các xã, phường, đặc khu sau sắp xếp năm 2025"
DESCRIPTION = (
    "Cần ranh giới dạng đa giác (GeoJSON hoặc GeoPackage, EPSG:4326) của từng xã, phường, "
    "đặc khu theo mã đơn vị hành chính mới (từ 01/07/2025). Danh mục hiện có mã, tên và toạ "
    "độ trung tâm của các xã nhưng chưa có ranh giới, nên chưa vẽ được bản đồ theo xã và "
    "chưa tính được diện tích, mật độ theo xã từ dữ liệu gốc.\n\n"
    "Commune boundary polygons (GeoJSON or GeoPackage, EPSG:4326) keyed by the 2025 "
    "administrative codes. The catalogue has each commune's code, name and centre but no "
    "boundary, so commune maps and per-commune areas and densities cannot be made from "
    "source data.\n\n"
    "(Yêu cầu mẫu do bản demo của vntwin tạo, nêu một thiếu hụt có thật của danh mục demo. "
    "/ An example request written by the vntwin demo about a real gap of the demo catalogue.)"
)
PURPOSE = ("Bản đồ và chỉ tiêu theo xã trong bản sao số lãnh thổ; kịch bản quy hoạch theo xã. "
           "/ Commune maps and indicators in the territorial twin; commune-level scenarios.")


def ensure_open_request(cat: Catalog) -> bool:
    """Ask for commune boundaries unless the catalogue already has that request."""
    with cat.read() as session:
        if session.scalar(select(DataRequest.id).where(DataRequest.title == TITLE)):
            return False
    requests.create(cat, SYSTEM, {"title": TITLE, "description": DESCRIPTION,
                                  "purpose": PURPOSE, "organization_id": REFERENCE_ORG})
    return True
