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


def _heartbeat_seconds_the_flow_engine_reads() -> int | None:
    from prefect.flow_engine import FlowRunEngine

    return FlowRunEngine.heartbeat_seconds.fget(None)  # the property reads only the current settings


def test_a_run_on_its_own_local_api_sends_no_heartbeats() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from dutycycle.cli import _one_shot_run

    with temporary_settings(updates={PREFECT_API_URL: None}):  # no server (a session's test server is set aside)
        assert _heartbeat_seconds_the_flow_engine_reads() == 180  # Prefect's default: a thread joined at each run's end
        with _one_shot_run():
            assert _heartbeat_seconds_the_flow_engine_reads() is None
        assert _heartbeat_seconds_the_flow_engine_reads() == 180


def test_a_run_on_a_prefect_server_keeps_its_heartbeats() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from dutycycle.cli import _one_shot_run

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with _one_shot_run():
            assert _heartbeat_seconds_the_flow_engine_reads() == 180
