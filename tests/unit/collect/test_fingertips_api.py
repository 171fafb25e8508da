"""The Fingertips client against a local API serving the real recorded export byte for byte."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tasks.collect.sources import fingertips
from tasks.collect.sources.fingertips_api import FingertipsApiError, fetch_indicator_csv
from tasks.shared.http import build_session
from tasks.shared.settings import Settings
from tests.servers.fingertips import EXPORT_FILE, FingertipsFake


@pytest.fixture
def server() -> Iterator[FingertipsFake]:
    with FingertipsFake() as fake:
        yield fake


def session_for(fake: FingertipsFake, **overrides: object):
    settings = Settings(fingertips_api_url=fake.base_url, **overrides)
    return build_session(settings, backoff_base_seconds=0.01), settings.fingertips_api_url


def test_real_export_arrives_unchanged_and_parses(server: FingertipsFake) -> None:
    session, base_url = session_for(server)
    data = fetch_indicator_csv(session, base_url, [93356], 102)
    assert data == EXPORT_FILE.read_bytes()
    request = server.log[0].request
    assert request.path == "/api/all_data/csv/by_indicator_id"
    assert request.params == {"indicator_ids": "93356", "area_type_id": "102"}
    assert request.headers["User-Agent"] == "dutycycle/0.1"
    frame = fingertips.parse_export(data, "93356.csv")
    assert len(frame) == 852
    assert frame["Indicator Name"].iloc[0] == "Campylobacter incidence rate/100,000\n"


def test_several_indicators_in_one_call(server: FingertipsFake) -> None:
    session, base_url = session_for(server)
    fetch_indicator_csv(session, base_url, [11201, 93356], 102)
    assert server.log[0].request.params["indicator_ids"] == "11201,93356"


def test_indicator_without_data_gives_the_header_only(server: FingertipsFake) -> None:
    session, base_url = session_for(server)
    data = fetch_indicator_csv(session, base_url, [11201], 502)
    assert data == server.header_only
    assert len(fingertips.parse_export(data, "11201.csv")) == 0


def test_server_errors_are_retried(server: FingertipsFake, reliability) -> None:
    reliability.fault("HTTP 502 then 500", injected="local Fingertips API answers two server errors",
                      where="fetch_indicator_csv (Fingertips API export)")
    server.inject(502, 500)
    session, base_url = session_for(server)
    data = fetch_indicator_csv(session, base_url, [93356], 102)
    whole = EXPORT_FILE.read_bytes()
    reliability.kept("bytes of the export", len(data), len(whole))
    assert data == whole
    reliability.check("answers served", server.statuses(), [502, 500, 200])
    reliability.outcome("retried")
    reliability.outcome("kept")


def test_failure_after_the_last_attempt_names_the_call(server: FingertipsFake, reliability) -> None:
    reliability.fault("HTTP 500 on every attempt", injected="local Fingertips API answers 500 twice",
                      where="fetch_indicator_csv, http_max_attempts=2")
    server.inject(500, 500)
    session, base_url = session_for(server, http_max_attempts=2)
    with pytest.raises(FingertipsApiError, match="by_indicator_id.*answered 500") as raised:
        fetch_indicator_csv(session, base_url, [93356], 102)
    reliability.check("answers served", server.statuses(), [500, 500])
    reliability.message(str(raised.value))
    reliability.outcome("retried")
    reliability.outcome("refused")
    with pytest.raises(ValueError, match="at least one indicator"):
        fetch_indicator_csv(session, base_url, [], 102)
