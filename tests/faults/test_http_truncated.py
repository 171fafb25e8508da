"""HTTP sources whose answer is cut off half-way (Content-Length promises more than arrives, the connection closes):
the fetch is retried and the export arrives whole, or fails naming the call; a part is never taken for the whole.
429, 500 and timeouts are tests/unit/shared/test_http.py's and tests/unit/collect/test_fingertips_api.py's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tasks.collect.sources import fingertips
from tasks.collect.sources.fingertips_api import fetch_indicator_csv
from tasks.shared.http import build_session
from tasks.shared.settings import Settings
from tests.servers.fingertips import EXPORT_FILE

pytestmark = pytest.mark.faults

WHOLE = EXPORT_FILE.read_bytes()


class CutOff:
    """Answers the real Fingertips export, the first ``cut`` answers cut off after half their declared length."""

    def __init__(self, cut: int) -> None:
        self.cut, self.answers = cut, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
                truncated = len(outer.answers) < outer.cut
                outer.answers.append("cut" if truncated else "whole")
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(WHOLE)))
                self.end_headers()
                self.wfile.write(WHOLE[: len(WHOLE) // 2] if truncated else WHOLE)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(cut: int) -> CutOff:
        servers.append(CutOff(cut))
        return servers[-1]

    yield start
    for server in servers:
        server.server.shutdown()


def test_a_body_cut_off_is_fetched_again_and_arrives_whole(serve, reliability) -> None:
    reliability.fault("HTTP answer cut off half-way, twice",
                      injected="local server: Content-Length of the whole export, half the body, connection closed",
                      where="fetch_indicator_csv (Fingertips API export), 4 attempts allowed")
    server = serve(cut=2)
    session = build_session(Settings(http_max_attempts=4), backoff_base_seconds=0.01)
    data = fetch_indicator_csv(session, server.url, [93356], 102)
    reliability.check("requests (cut, cut, whole)", len(server.answers), 3)
    assert server.answers == ["cut", "cut", "whole"]
    reliability.outcome("retried")
    reliability.kept("bytes", len(data), len(WHOLE))
    assert data == WHOLE
    reliability.kept("rows parsed", len(fingertips.parse_export(data, "93356.csv")),
                     len(fingertips.parse_export(WHOLE, "93356.csv")))
    reliability.outcome("kept")


def test_a_body_cut_off_every_time_fails_and_keeps_no_part(serve, reliability) -> None:
    reliability.fault("HTTP answer cut off every time",
                      injected="local server: every answer half its Content-Length, connection closed",
                      where="fetch_indicator_csv (Fingertips API export), 2 attempts allowed")
    server = serve(cut=99)
    session = build_session(Settings(http_max_attempts=2), backoff_base_seconds=0.01)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead|Connection broken") as raised:
        fetch_indicator_csv(session, server.url, [93356], 102)
    reliability.check("requests", len(server.answers), 2)
    reliability.message(type(raised.value).__name__)
    reliability.outcome("retried")
    reliability.outcome("refused")  # the call fails: no part of the body is returned as the export
