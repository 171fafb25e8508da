"""A Prefect server started with PREFECT_SERVER_API_AUTH_STRING refuses a client without the matching
PREFECT_API_AUTH_STRING (dutycycle's commands, workers and `serve` included) and serves one that has it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tasks.shared.settings import PROJECT_ROOT

pytestmark = pytest.mark.faults

PROBE = """
from prefect import get_client
with get_client(sync_client=True) as client:
    print(len(client.read_flow_runs(limit=1)))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client(url: str, auth: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_AUTH")}
    env.update(PREFECT_API_URL=url, PREFECT_CLIENT_MAX_RETRIES="0", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if auth is not None:
        env["PREFECT_API_AUTH_STRING"] = auth
    return subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_server_with_an_auth_string_refuses_a_client_without_it(tmp_path: Path, reliability) -> None:
    reliability.fault("Prefect API called without its auth string",
                      injected="server with PREFECT_SERVER_API_AUTH_STRING; calls without, with a wrong and with the "
                               "right PREFECT_API_AUTH_STRING", where="prefect server start; HTTP and get_client")
    secret = f"admin:{uuid.uuid4().hex}"
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_API_AUTH_STRING": secret, "PREFECT_API_URL": ""}
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                                   str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/api"
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:  # /health answers without credentials, by design (probes)
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
                time.sleep(0.5)
            else:
                pytest.fail("prefect server did not start in 240 s")
            reliability.check("HTTP status without credentials",
                              httpx.post(f"{url}/flow_runs/filter", json={}, timeout=30).status_code, 401)
            reliability.check("HTTP status with a wrong password", httpx.post(
                f"{url}/flow_runs/filter", json={}, auth=("admin", "wrong"), timeout=30).status_code, 401)
            refused = _client(url, None)
            reliability.check("client without it refused with a 401",
                              refused.returncode != 0 and "401" in refused.stderr, True, detail=refused.stderr[-2000:])
            reliability.check("client with a wrong one refused", _client(url, "admin:wrong").returncode != 0, True)
            reliability.outcome("refused")
            allowed = _client(url, secret)
            reliability.check("exit code of the client with it", allowed.returncode, 0, detail=allowed.stderr[-2000:])
            assert allowed.stdout.strip() == "0", allowed.stderr[-2000:]
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
