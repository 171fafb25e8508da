"""A failed run alerts the analyst: real flows and small flows carrying the same hooks, run against the session's
Prefect server, their alerts caught by a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from prefect import flow
from prefect.states import Failed
from sqlalchemy import select

from tasks.shared.alerts import ALERT_KIND, alert_on_crash, alert_on_failure
from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.servers.mail import Inbox, SmtpServer

pytestmark = pytest.mark.flow
DEMO = "castle-point-rochford"
ANALYST = "community.safety@example.org"
OPS = "ops@example.org"
REASON = "validate failed its checks: crime (2 files in quarantine)"


@flow(name="validate", on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
def failing_stage(partnership: str, financial_year: str):
    """A stage whose checks fail, as the stage flows end then: a Failed state with a one-line message."""
    return Failed(message=REASON)


@flow(name="annual-review", on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
def cycle_with_failing_stage(partnership: str, financial_year: str):
    """The cycle running that stage as a subflow and failing because of it."""
    stage = failing_stage(partnership=partnership, financial_year=financial_year, return_state=True)
    return Failed(message=f"finished, but these stages failed their checks: validate ({stage.message})")


@pytest.fixture
def smtp(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        monkeypatch.setenv("DUTYCYCLE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", str(server.port))
        monkeypatch.setenv("DUTYCYCLE_ALERT_EMAIL", OPS)
        reset_settings_cache()
        dispose_engines()
        yield inbox


def _alert_rows() -> list[tuple[str, str]]:
    with session_scope(get_settings().resolved_database_url) as session:
        return [(m.recipient_id, m.status) for m in session.scalars(select(OutboxMessage)) if m.kind == ALERT_KIND]


def _body(message) -> str:
    return message.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends


def _run_id(state) -> str:
    return str(state.state_details.flow_run_id)


def _ui_link(run_id: str) -> str:
    from prefect.settings import get_current_settings

    return f"{get_current_settings().ui_url}/runs/flow-run/{run_id}"


def test_a_stage_that_fails_its_checks_alerts_the_analyst_once_with_the_reason_and_the_link(
    prefect_server: None, smtp: Inbox
) -> None:
    state = failing_stage(partnership=DEMO, financial_year="2022/23", return_state=True)
    assert state.is_failed()
    assert [m["To"] for m in smtp.messages] == [ANALYST]  # nobody else: not the board, not a data owner
    assert _alert_rows() == [("csp-analyst", "sent")]
    message = smtp.messages[0]
    body = _body(message)
    assert message["Subject"].startswith("[dutycycle] Failed: validate for castle-point-rochford 2022/23")
    assert f"Reason:         {REASON}\n" in body
    assert _ui_link(_run_id(state)) in body and _ui_link(_run_id(state)).startswith("http://127.0.0.1:")

    # the hook run again for the same run and state (a retried hook, an automation as well) sends nothing more
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(_run_id(state))
    alert_on_failure(failing_stage, run, run.state)
    alert_on_failure(failing_stage, run, run.state)
    assert len(smtp.messages) == 1 and _alert_rows() == [("csp-analyst", "sent")]


def test_a_stage_run_by_the_cycle_is_alerted_once_by_the_cycle_naming_the_stage(
    prefect_server: None, smtp: Inbox
) -> None:
    state = cycle_with_failing_stage(partnership=DEMO, financial_year="2022/23", return_state=True)
    assert state.is_failed()
    assert [m["To"] for m in smtp.messages] == [ANALYST]
    message = smtp.messages[0]
    assert "Failed: annual-review" in message["Subject"]
    assert f"Failed stages:  validate (Failed: {REASON})" in _body(message)


def test_the_real_cycle_for_a_year_not_yet_started_alerts_the_analyst(prefect_server: None, smtp: Inbox) -> None:
    from flows.annual_review import annual_review

    state = annual_review(partnership=DEMO, financial_year="2090/91", return_state=True)
    assert state.is_failed()
    assert [m["To"] for m in smtp.messages] == [ANALYST]
    body = _body(smtp.messages[0])
    assert "Financial year: 2090/91" in body and "nothing to review yet" in body
    assert _ui_link(_run_id(state)) in body


def test_a_run_for_a_partnership_that_does_not_exist_alerts_the_global_address(
    prefect_server: None, smtp: Inbox
) -> None:
    from flows.validate import validate

    state = validate(partnership="castle-point-rochfrod", financial_year="2022/23", return_state=True)
    assert state.is_failed()
    assert [m["To"] for m in smtp.messages] == [OPS]
    body = _body(smtp.messages[0])
    assert "castle-point-rochfrod" in body and "no such partnership folder" in body
    assert "configuration could not be loaded" in body and _ui_link(_run_id(state)) in body
    assert "Traceback" not in body

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(_run_id(state))
    alert_on_failure(validate, run, run.state)
    assert len(smtp.messages) == 1


CRASHING = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from prefect import flow
    from tasks.shared.alerts import alert_on_crash, alert_on_failure

    @flow(name="collect", on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
    def collect(partnership: str, financial_year: str):
        Path(sys.argv[1]).write_text("running")
        time.sleep(600)

    collect(partnership="castle-point-rochford", financial_year="2022/23")
""")


def test_a_run_killed_by_sigterm_is_marked_crashed_and_alerts_the_analyst(
    prefect_server: None, smtp: Inbox, tmp_path: Path
) -> None:
    from prefect.settings import get_current_settings

    script, started = tmp_path / "crashing.py", tmp_path / "started"
    script.write_text(CRASHING)
    env = {**os.environ, "PREFECT_API_URL": str(get_current_settings().api.url), "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen([sys.executable, str(script), str(started)], cwd=PROJECT_ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180  # a wide margin: starting Prefect in a child on a busy 2-core machine
        while not started.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert started.exists(), child.communicate(timeout=60)[0] if child.poll() is not None else "never started"
        child.send_signal(signal.SIGTERM)
        output = child.communicate(timeout=180)[0]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert [m["To"] for m in smtp.messages] == [ANALYST], output[-3000:]
    message = smtp.messages[0]
    assert message["Subject"].startswith("[dutycycle] Crashed: collect for castle-point-rochford 2022/23")
    assert "Crashed means the process stopped" in _body(message)
