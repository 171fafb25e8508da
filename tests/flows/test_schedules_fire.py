"""A real `prefect server start` (the locked dependency set, SQLAlchemy 2.0.x) whose scheduler creates flow runs from
the served deployments' calendar schedules, and from a schedule due within seconds.

Prefect 3.8.8's scheduler fails under SQLAlchemy 2.1 ("Can't evaluate bulk DML statement") and then creates no run
at all: this test fails on such a lock."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

pytestmark = pytest.mark.scheduler
LONDON = ZoneInfo("Europe/London")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scheduling_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                pytest.fail("prefect server exited:\n" + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        else:
            pytest.fail("prefect server did not start in 180 s")
        monkeypatch.setenv("PREFECT_API_URL", url)
        yield url, tmp_path / "server.log"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _scheduled_runs(client, deployment_id) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def test_the_scheduler_creates_runs_from_the_served_schedules(scheduling_server) -> None:
    from prefect.client.orchestration import get_client
    from prefect.schedules import Interval
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.serve import all_deployments
    from flows.deadlines import deadlines

    url, log = scheduling_server
    with temporary_settings({PREFECT_API_URL: url}):
        ids = {}
        for deployment in all_deployments():
            ids[deployment.name] = deployment.apply()
        # a schedule due within seconds: the scheduler must create its runs on its next loop
        soon = deadlines.to_deployment(
            name="due-within-seconds", parameters={"partnership": "castle-point-rochford"},
            schedules=[Interval(dt.timedelta(seconds=10), anchor_date=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
                                timezone="Europe/London", slug="soon")],
        )
        soon_id = soon.apply()
        started = time.monotonic()
        with get_client(sync_client=True) as client:
            while time.monotonic() - started < 45:
                annual = _scheduled_runs(client, ids["castle-point-rochford-annual-review"])
                daily = _scheduled_runs(client, ids["castle-point-rochford-deadlines"])
                quick = _scheduled_runs(client, soon_id)
                if annual and daily and quick:
                    break
                time.sleep(1)
            waited = time.monotonic() - started
            assert quick and daily and annual, (
                f"the scheduler created no runs in {waited:.0f} s; server log:\n{log.read_text()[-3000:]}"
            )
            assert "bulk DML" not in log.read_text()
            assert all(run.state.type.value == "SCHEDULED" for run in quick + daily + annual)
            assert min(run.expected_start_time for run in quick) <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
            # the daily deadline watch at 06:00 London time, whatever the season, with its parameters
            for run in daily:
                local = run.expected_start_time.astimezone(LONDON)
                assert (local.hour, local.minute) == (6, 0)
                assert run.parameters == {"partnership": "castle-point-rochford"}
            # the annual review's runs come from its calendar schedules, each with the schedule's parameters
            slugs = {s.slug: s for s in client.read_deployment(ids["castle-point-rochford-annual-review"]).schedules}
            assert {"monthly-collection", "annual-review-draft", "annual-review-final", "s17a-quarterly"} <= set(slugs)
            for run in annual:
                assert run.parameters["financial_year"] in ("latest", "current")
                assert run.expected_start_time.astimezone(LONDON).minute == 0
