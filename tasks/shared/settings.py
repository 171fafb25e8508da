"""Runtime settings: the only module that reads the environment.

Every setting has a safe local default (SQLite file and folders under ``var/`` in the project),
so a fresh checkout runs offline. Secrets (SMTP password, webhook URLs) come only from the
environment, never from committed files.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # tasks/shared/settings.py -> the project
WEBHOOK_PREFIX = "DUTYCYCLE_WEBHOOK_"


class Settings(BaseSettings):
    """Where dutycycle keeps its data and how it reaches the outside world."""

    model_config = SettingsConfigDict(env_prefix="DUTYCYCLE_", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="Raw store, quarantine, outputs")
    # a secret: its password must never be printed, logged or stored in an artifact (shown_database_url() hides it)
    database_url: SecretStr | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    config_dir: Path = Field(default=PROJECT_ROOT / "config", description="Folder of the YAML configuration")
    expectations_dir: Path = Field(default=PROJECT_ROOT / "expectations", description="GX suites")

    smtp_host: str | None = Field(default=None, description="SMTP server; unset = write .eml files")
    smtp_port: int = 25
    smtp_security: Literal["plain", "starttls", "ssl"] | None = Field(
        default=None, description="plain, starttls (upgrade on the submission port) or ssl (implicit TLS, port 465)"
    )
    smtp_starttls: bool = Field(default=False, description="Older spelling of smtp_security=starttls")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to trust for the SMTP server's certificate")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the SMTP password (when no password is set)"
    )
    smtp_timeout_seconds: float = 10.0
    mail_from: str = Field(default="dutycycle@localhost", description="Sender address of every message")
    mail_from_name: str | None = Field(
        default=None, description="Sender display name; default: the partnership's contact name"
    )

    alert_email: str | None = Field(
        default=None,
        description="Who is told of a failed run when the partnership's analysts cannot be (its config or database "
        "is broken, or the partnership is unknown): one address, mailed directly",
    )

    webhooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Webhook URLs by secret name, read from DUTYCYCLE_WEBHOOK_<NAME> (NAME upper-case, '-' as '_')",
    )

    outbox_lease_seconds: float = Field(
        default=900, gt=0, description="A claim older than this (its process died mid-send) may be sent again"
    )
    outbox_record_timeout_seconds: float = Field(
        default=120, ge=0, description="How long to keep trying to record a delivery while the database is locked"
    )
    outbox_max_attempts: int = Field(default=5, ge=1, description="Deliveries tried per message before it waits for "
                                     "`dutycycle outbox retry`")
    cycle_wait_seconds: float = Field(
        default=6 * 3600, gt=0, description="How long a run waits for another run of the same partnership and year "
        "to finish before giving up"
    )
    sign_off_wait: Literal["auto", "pause", "record"] = Field(
        default="auto",
        description="How the submit and notify stages wait for sign-off (the Home Office package, the board pack): "
        "pause (the run pauses with the UI's form), record (the package or pack is recorded as awaiting approval; "
        "`dutycycle approve` decides), auto (pause when Prefect's API is a "
        "server, i.e. PREFECT_API_URL is set; record on the ephemeral API of a plain local run)",
    )
    sign_off_timeout_seconds: int = Field(
        default=7 * 24 * 3600, gt=0, description="How long a paused run waits for a sign-off decision; then the "
        "package stays awaiting approval and the run ends (approve later with `dutycycle approve`)",
    )
    sign_off_poll_seconds: int = Field(default=10, gt=0, description="How often a paused run looks for its decision")
    upload_token: SecretStr | None = Field(
        default=None, description="Bearer token of the HTTPS upload receiver (submission: {delivery: https_upload}), "
        "sent as 'Authorization: Bearer <token>'; never logged, never in a receipt or artifact",
    )
    delivery_lease_seconds: float = Field(
        default=900, gt=0, description="A delivery claim older than this (its process died mid-send on another "
        "machine) may be sent again, with the same idempotency key",
    )
    parse_cache_days: float = Field(
        default=35, gt=0, description="A parsed street file or kept rule outcome of var/parsed/ unused for this many "
        "days is deleted at the end of `dutycycle national` and by `dutycycle cache prune` (a month's files serve "
        "every partnership of their force within the month)",
    )
    parse_memory_mib: float = Field(
        default=512, ge=0, description="Parsed street files one process keeps in memory for the next partnerships of "
        "the same force (counted as 4x each file's CSV size; whole forces least recently used make room; 0: none)",
    )
    database_busy_timeout_seconds: float = Field(default=30, ge=0, description="Wait this long for a lock another "
                                                 "connection holds (SQLite's busy timeout, PostgreSQL's lock_timeout)")

    police_api_url: str = Field(default="https://data.police.uk/api/", description="data.police.uk API base URL")
    fingertips_api_url: str = Field(default="https://fingertips.phe.org.uk/api/", description="OHID Fingertips API base URL")
    nomis_api_url: str = Field(default="https://www.nomisweb.co.uk/api/v01/", description="Nomis API base URL")
    police_api_rate_per_second: float = Field(default=15, gt=0, description="data.police.uk sustained request limit")
    police_api_burst: int = Field(default=30, ge=1, description="data.police.uk burst allowance")
    http_timeout_seconds: float = Field(default=30, gt=0, description="Connect and read timeout of every API call")
    http_max_attempts: int = Field(default=6, ge=1, description="Tries per API call before giving up (429, 5xx, timeouts)")

    files_url: str = Field(
        default="http://127.0.0.1:4280",
        description="Where the analyst's files (outputs, packages) are served; every published link uses it",
    )

    max_file_bytes: int = Field(default=2 * 1024**3, gt=0, description="An input file larger than this is refused")
    max_rows_per_file: int = Field(default=10_000_000, gt=0, description="An input file with more rows is refused")
    max_zip_member_bytes: int = Field(
        default=512 * 1024**2, gt=0, description="A zip member expanding past this is refused (zip bombs)"
    )

    @model_validator(mode="before")
    @classmethod
    def _named_webhooks(cls, values: object) -> object:
        # one variable per webhook so each URL is a separate secret: DUTYCYCLE_WEBHOOK_CSP_BOARD=https://...
        if isinstance(values, dict) and "webhooks" not in values:
            found = {
                name.removeprefix(WEBHOOK_PREFIX).lower().replace("_", "-"): value
                for name, value in os.environ.items()
                if name.startswith(WEBHOOK_PREFIX) and value.strip()
            }
            if found:
                values = {**values, "webhooks": found}
        return values

    @field_validator("alert_email")
    @classmethod
    def _bare_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from tasks.shared.config import mail_address  # config imports nothing of ours; kept lazy all the same

        return mail_address(value.strip())

    @field_validator("files_url")
    @classmethod
    def _http_files_url(cls, value: str) -> str:
        # a browser opens only http(s) links from the Prefect UI, so a file:// or bare host here would break them all
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"DUTYCYCLE_FILES_URL must be an http(s) URL such as http://127.0.0.1:4280, not {value!r}")
        return value.rstrip("/")

    @property
    def smtp_mode(self) -> str:
        """How to talk to the SMTP server: plain, starttls or ssl."""
        return self.smtp_security or ("starttls" if self.smtp_starttls else "plain")

    def webhook_url(self, name: str) -> str | None:
        """The URL of a named webhook from the environment (None: look for a Prefect Secret block instead)."""
        secret = self.webhooks.get(name)
        return secret.get_secret_value() if secret else None

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url and self.database_url.get_secret_value().strip():
            return self.database_url.get_secret_value().strip()
        return f"sqlite:///{(self.data_dir / 'dutycycle.db').resolve()}"

    @property
    def shown_database_url(self) -> str:
        """The database URL as a person may see it: its password replaced by ***."""
        return shown_database_url(self.resolved_database_url)

    @property
    def raw_store_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def parse_cache_dir(self) -> Path:
        """Street files parsed once, by the sha256 of their bytes (partnerships of one force share them)."""
        return self.data_dir / "parsed"

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


def shown_database_url(url: str) -> str:
    """A database URL with its password replaced by *** (an unparsable URL is not shown at all: it could be all
    password)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - whatever SQLAlchemy refuses, show nothing of it
        return "(not a valid SQLAlchemy URL)"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
