"""Shared fixtures: an isolated data directory per test and one Prefect test server per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache  # noqa: E402
from tasks.shared.storage.session import dispose_engines  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

DEMO = "castle-point-rochford"
DEMO_FOLDER = PROJECT_ROOT / "config" / "partnerships" / DEMO
FIXTURES = Path(__file__).parent / "fixtures"



@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data directory and a fresh database (SQLite in the folder, or PostgreSQL: tests/databases.py)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DUTYCYCLE_DATA_DIR", str(folder))
    for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_SMTP_HOST", "DUTYCYCLE_CONFIG_DIR", "DUTYCYCLE_FILES_URL"):
        monkeypatch.delenv(name, raising=False)
    with fresh_database() as url:
        if url:
            monkeypatch.setenv("DUTYCYCLE_DATABASE_URL", url)
        reset_settings_cache()
        dispose_engines()
        yield folder
        dispose_engines()
        reset_settings_cache()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database of its own for a storage test: a SQLite file under tmp_path, or a PostgreSQL database."""
    with fresh_database() as url:
        yield url or f"sqlite:///{tmp_path / 'db.sqlite'}"
        dispose_engines()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One real Prefect API server (subprocess, SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
