"""Fixtures of the flow tests that start from the demo year already computed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.shared.settings import reset_settings_cache
from tasks.shared.storage.session import dispose_engines

DEMO = "castle-point-rochford"
YEAR = "2022/23"


@pytest.fixture(scope="session")
def computed(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo year collected, validated and computed once per session; each test works on its own copy
    (``copy_computed``)."""
    from flows.annual_review import annual_review

    data_dir = tmp_path_factory.mktemp("computed") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
        for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_SMTP_HOST", "DUTYCYCLE_CONFIG_DIR"):
            env.delenv(name, raising=False)
        reset_settings_cache()
        dispose_engines()
        state = annual_review(partnership=DEMO, financial_year=YEAR, stages=["collect", "validate", "compute"],
                              return_state=True)
        assert state.is_completed(), state.message
        dispose_engines()
        reset_settings_cache()
    yield data_dir


def copy_computed(computed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the computed year as this test's data directory (the demo's own configuration)."""
    data_dir = tmp_path / "data"
    shutil.copytree(computed, data_dir)
    monkeypatch.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
    for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_SMTP_HOST", "DUTYCYCLE_CONFIG_DIR", "DUTYCYCLE_FILES_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    dispose_engines()
    return data_dir
