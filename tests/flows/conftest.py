"""Fixtures of the flow tests that start from the demo year already computed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tasks.shared.settings import reset_settings_cache
from tasks.shared.storage.session import dispose_engines
from tests.databases import fresh_database

DEMO = "castle-point-rochford"
YEAR = "2022/23"


# the computed year's PostgreSQL database (None on SQLite, whose file is in the data directory), by data directory
_COMPUTED_DATABASES: dict[Path, str | None] = {}


@pytest.fixture(scope="session")
def computed(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo year collected, validated and computed once per session; each test works on its own copy
    (``computed_copy``): of this data directory, and on PostgreSQL of this database."""
    from flows.annual_review import annual_review

    data_dir = tmp_path_factory.mktemp("computed") / "data"
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database())
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
            for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_SMTP_HOST", "DUTYCYCLE_CONFIG_DIR"):
                env.delenv(name, raising=False)
            if url:
                env.setenv("DUTYCYCLE_DATABASE_URL", url)
            reset_settings_cache()
            dispose_engines()
            state = annual_review(partnership=DEMO, financial_year=YEAR, stages=["collect", "validate", "compute"],
                                  return_state=True)
            assert state.is_completed(), state.message
            dispose_engines()
            reset_settings_cache()
        _COMPUTED_DATABASES[data_dir] = url
        yield data_dir


@pytest.fixture
def computed_copy(computed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the computed year as this test's data directory (the demo's own configuration): the folder, and
    on PostgreSQL a database made from the computed one (CREATE DATABASE ... TEMPLATE), dropped after the test."""
    data_dir = tmp_path / "data"
    shutil.copytree(computed, data_dir)
    monkeypatch.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
    for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_SMTP_HOST", "DUTYCYCLE_CONFIG_DIR", "DUTYCYCLE_FILES_URL"):
        monkeypatch.delenv(name, raising=False)
    with fresh_database(template_url=_COMPUTED_DATABASES[computed]) as url:
        if url:
            monkeypatch.setenv("DUTYCYCLE_DATABASE_URL", url)
        reset_settings_cache()
        dispose_engines()
        yield data_dir
        dispose_engines()
        reset_settings_cache()
