"""Typed settings, read from ``VNTWIN_*`` environment variables and an optional TOML file.

Settings are built inside ``create_app()`` / the CLI, never at import time, so tests can
point each app at its own data dir and database.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """All of vntwin's configuration; every field is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="VNTWIN_", toml_file="vntwin.toml", extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Where the catalogue, uploads and datastore live."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the catalogue; default: SQLite file in the data dir."
    )
    site_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL, used in DCAT URIs and API help links.",
    )
    site_title: str = Field(
        "vntwin — Cổng dữ liệu mở", description="Catalogue title (DCAT, pages)."
    )
    publisher_name: str = Field("vntwin", description="Catalogue publisher name in DCAT-AP.")
    max_upload_bytes: int = Field(2 * 1024**3, description="Largest accepted upload, in bytes.")
    sql_time_limit_s: float = Field(10.0, description="Time limit of datastore_search_sql.")
    sql_row_limit: int = Field(32000, description="Row limit of datastore_search_sql.")
    token_days: int = Field(365, description="Default lifetime of a new API token, in days.")
    auth_failures_per_minute: int = Field(
        10, description="Failed token checks or sign-ins allowed per client address per minute."
    )
    admin_cache_dir: Path | None = Field(
        None, description="Where the built administrative units are cached; default: "
        "the data dir's admin/ folder (derived from packages, shareable between data dirs)."
    )
    h3_resolution: int = Field(
        8, ge=0, le=12, description="H3 resolution of the twin's grid (8: about 0.74 km2)."
    )
    harvest_allow_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts the DCAT harvester may fetch from; empty means none (files only).",
    )
    harvest_allow_private: bool = Field(
        False, description="Let the harvester reach loopback or private addresses."
    )
    harvest_max_bytes: int = Field(50 * 1024**2, description="Largest DCAT document harvested.")
    # live sensor data (vntwin.live)
    mqtt_url: str | None = Field(
        None, description="MQTT broker of the sensor streams, e.g. mqtt://127.0.0.1:1883 "
        "(mqtt://user:password@host:port with broker users; mqtts:// for TLS).")
    mqtt_client_id: str = Field(
        "vntwin-live", description="Fixed MQTT client id of `vntwin live run`: the broker "
        "keeps its persistent session (queued observations) under this id.")
    live_source_rate: float = Field(
        1000.0, gt=0, description="Observations a second one source may send, unless the "
        "source has its own rate; bursts of two seconds' worth pass.")
    live_max_future_s: float = Field(
        300.0, ge=0, description="Observations timed later than now plus this are rejected.")
    live_raw_days: float = Field(
        30.0, gt=0, description="Raw observations are kept this many days; hourly and daily "
        "rollups are kept for good.")
    live_max_age_minutes: float = Field(
        1440.0, gt=0, description="Latest values older than this are left out of live twin "
        "layers and dashboard indicators.")
    request_deadline_days: int = Field(
        15, ge=1, le=250, description="Working days an agency has to answer a data request "
        "(weekends and Vietnamese public holidays, Tết included, do not count).")
    quality_rules: Path | None = Field(
        None, description="TOML file of quality rules and weights replacing the packaged "
        "quality/rules.toml.")
    secret_key: str | None = Field(
        None, description="Key signing the portal's session cookies; default: a random key "
        "kept in the data dir (web-secret.key).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then ``vntwin.toml`` in the working directory."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data dir."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'catalog.sqlite').resolve()}"

    @property
    def uploads_dir(self) -> Path:
        """Content-addressed store of uploaded files."""
        return self.data_dir / "uploads"

    @property
    def admin_dir(self) -> Path:
        """The administrative units' cache."""
        return self.admin_cache_dir or self.data_dir / "admin"

    @property
    def datastore_dir(self) -> Path:
        """One DuckDB file per datastore resource."""
        return self.data_dir / "datastore"
