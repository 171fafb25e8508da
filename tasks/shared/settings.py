"""Runtime settings: the only module that reads the environment.

Every setting has a safe local default (SQLite file and folders under ``var/`` in the project),
so a fresh checkout runs offline. Secrets (SMTP password, webhook URLs) come only from the
environment, never from committed files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # tasks/shared/settings.py -> the project


class Settings(BaseSettings):
    """Where dutycycle keeps its data and how it reaches the outside world."""

    model_config = SettingsConfigDict(env_prefix="DUTYCYCLE_", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="Raw store, quarantine, outputs")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    config_dir: Path = Field(default=PROJECT_ROOT / "config", description="Folder of the YAML configuration")
    expectations_dir: Path = Field(default=PROJECT_ROOT / "expectations", description="GX suites")

    smtp_host: str | None = Field(default=None, description="SMTP server; unset = write .eml files")
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "dutycycle@localhost"

    webhook_urls: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Comma-separated webhook URLs")

    police_api_url: str = Field(default="https://data.police.uk/api/", description="data.police.uk API base URL")
    fingertips_api_url: str = Field(default="https://fingertips.phe.org.uk/api/", description="OHID Fingertips API base URL")
    nomis_api_url: str = Field(default="https://www.nomisweb.co.uk/api/v01/", description="Nomis API base URL")
    police_api_rate_per_second: float = Field(default=15, gt=0, description="data.police.uk sustained request limit")
    police_api_burst: int = Field(default=30, ge=1, description="data.police.uk burst allowance")
    http_timeout_seconds: float = Field(default=30, gt=0, description="Connect and read timeout of every API call")
    http_max_attempts: int = Field(default=6, ge=1, description="Tries per API call before giving up (429, 5xx, timeouts)")

    max_file_bytes: int = Field(default=2 * 1024**3, gt=0, description="An input file larger than this is refused")
    max_rows_per_file: int = Field(default=10_000_000, gt=0, description="An input file with more rows is refused")
    max_zip_member_bytes: int = Field(
        default=512 * 1024**2, gt=0, description="A zip member expanding past this is refused (zip bombs)"
    )

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dutycycle.db').resolve()}"

    @property
    def raw_store_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def submissions_dir(self) -> Path:
        return self.data_dir / "submissions"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
