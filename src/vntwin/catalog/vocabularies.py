"""Controlled vocabularies of dataset metadata (EU authority tables, used by DCAT-AP)."""

from __future__ import annotations

# http://publications.europa.eu/resource/authority/data-theme/
THEMES = {
    "AGRI": "Nông nghiệp, thủy sản, lâm nghiệp và thực phẩm",
    "ECON": "Kinh tế và tài chính",
    "EDUC": "Giáo dục, văn hóa và thể thao",
    "ENER": "Năng lượng",
    "ENVI": "Môi trường",
    "GOVE": "Chính phủ và khu vực công",
    "HEAL": "Y tế",
    "INTR": "Quốc tế",
    "JUST": "Tư pháp, hệ thống pháp luật và an toàn công cộng",
    "REGI": "Vùng và đô thị",
    "SOCI": "Dân số và xã hội",
    "TECH": "Khoa học và công nghệ",
    "TRAN": "Giao thông",
}

# http://publications.europa.eu/resource/authority/frequency/ (the common subset)
FREQUENCIES = (
    "CONT", "UPDATE_CONT", "HOURLY", "DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY", "QUARTERLY",
    "BIANNUAL", "ANNUAL", "BIENNIAL", "TRIENNIAL", "IRREG", "NEVER", "UNKNOWN", "OTHER",
)
