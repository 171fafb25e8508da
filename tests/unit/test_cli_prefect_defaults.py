"""The CLI gives Prefect's local API time to start on a busy machine, unless the environment says otherwise."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from dutycycle.cli import app

VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def _startup_timeout_prefect_reads() -> int:
    from prefect.settings import Settings

    return Settings().server.ephemeral.startup_timeout_seconds


def test_every_command_raises_the_ephemeral_api_startup_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    assert _startup_timeout_prefect_reads() == 20  # Prefect's own default, which a fresh home can exceed

    result = CliRunner().invoke(app, ["partnerships"])

    assert result.exit_code == 0, result.output
    assert os.environ[VARIABLE] == "180"
    assert _startup_timeout_prefect_reads() == 180


def test_a_limit_set_in_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "45")

    result = CliRunner().invoke(app, ["partnerships"])

    assert result.exit_code == 0, result.output
    assert os.environ[VARIABLE] == "45"
    assert _startup_timeout_prefect_reads() == 45
