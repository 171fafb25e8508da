"""The CLI gives Prefect's local API time to start on a busy machine, unless the environment says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

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


def _certificates_prefects_client_trusts(api: str) -> int:
    """How many CA certificates a Prefect API client built now would load to verify its server."""
    from prefect.client.orchestration import PrefectClient

    client = PrefectClient(api)
    return client._client._transport._pool._ssl_context.cert_store_stats()["x509_ca"]


def _bundle_certificates(path: str) -> list[str]:
    text = Path(path).read_text(encoding="ascii")
    return [block.split("-----END CERTIFICATE-----")[0].strip() for block in text.split("-----BEGIN CERTIFICATE-----")[1:]]


def test_clients_of_the_local_api_load_one_root_of_certifis_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ephemeral API is plain http: its clients' CA file is never used, so it is one root, not a hundred."""
    import certifi
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings

    from dutycycle.cli import _one_shot_run

    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    with temporary_settings(updates={PREFECT_API_URL: None, PREFECT_API_SSL_CERT_FILE: None}):
        assert _certificates_prefects_client_trusts("http://127.0.0.1:4200/api") > 100  # certifi's whole bundle
        with _one_shot_run():
            [root] = _bundle_certificates(PREFECT_API_SSL_CERT_FILE.value())
            assert root in _bundle_certificates(certifi.where()), "a root certifi itself trusts, nothing else"
            assert _certificates_prefects_client_trusts("http://127.0.0.1:4200/api") == 1
        assert PREFECT_API_SSL_CERT_FILE.value() is None, "only for the command's own runs"


def test_a_prefect_server_keeps_its_certificates() -> None:
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings

    from dutycycle.cli import _one_shot_run

    with temporary_settings(updates={PREFECT_API_URL: "https://prefect.example.org/api", PREFECT_API_SSL_CERT_FILE: None}):
        with _one_shot_run():
            assert PREFECT_API_SSL_CERT_FILE.value() is None
            assert _certificates_prefects_client_trusts("https://prefect.example.org/api") > 100


def test_a_ca_file_set_for_prefect_is_kept(tmp_path: Path) -> None:
    import certifi
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings

    from dutycycle.cli import _one_shot_run

    own = str(tmp_path / "own-ca.pem")  # as a Prefect profile would set it
    Path(own).write_text(Path(certifi.where()).read_text(encoding="ascii"), encoding="ascii")
    with temporary_settings(updates={PREFECT_API_URL: None, PREFECT_API_SSL_CERT_FILE: own}):
        with _one_shot_run():
            assert PREFECT_API_SSL_CERT_FILE.value() == own
