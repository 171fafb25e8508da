"""Failure alerts as plain functions: who hears of a failed run, what they read, and the global address when the
partnership cannot be reached (config missing or broken, database unreachable), over a real local SMTP server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prefect.states import Crashed, Failed
from sqlalchemy import select

from tasks.shared.alerts import (
    ALERT_KIND,
    RunFailure,
    alert_partnership,
    alert_recipients,
    alert_text,
    failure_reason,
)
from tasks.shared.config import Stakeholder, load_partnership_config
from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.servers.mail import Inbox, SmtpServer

DEMO = "castle-point-rochford"
CONFIG = load_partnership_config(PROJECT_ROOT / "config", DEMO)
ANALYST = "community.safety@example.org"
OPS = "ops@example.org"


def _use(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"DUTYCYCLE_{key.upper()}", str(value))
    reset_settings_cache()
    dispose_engines()


def _failure(partnership: str | None = DEMO, **changes: object) -> RunFailure:
    values = dict(run_id="0b6c5f0e-1111-4222-8333-444455556666", run_name="brave-otter", flow_name="validate",
                  state_name="Failed", state_type="FAILED", state_id="s1",
                  reason="validate failed its checks: crime (2 files in quarantine)", partnership=partnership,
                  financial_year="2022/23", link="http://127.0.0.1:4200/runs/flow-run/0b6c5f0e")
    return RunFailure(**{**values, **changes})


def test_every_analyst_is_alerted_by_email_and_nobody_else_unless_they_ask() -> None:
    people = alert_recipients(CONFIG)
    assert [p.id for p in people] == ["csp-analyst"]
    assert people[0].channels_for(ALERT_KIND) == []  # not listed: the outbox sends it by e-mail

    board = CONFIG.stakeholder("csp-board")
    asks = Stakeholder(**{**board.model_dump(), "receives": {**board.receives, ALERT_KIND: ["email"]}})
    changed = CONFIG.model_copy(update={"stakeholders": [*CONFIG.stakeholders, asks.model_copy(update={"id": "chair"})]})
    assert [p.id for p in alert_recipients(changed)] == ["csp-analyst", "chair"]


def test_the_reason_is_one_line_and_holds_the_exception_once() -> None:
    error = ValueError("crime.raw: 3 rows\nfailed  the\tsuite")
    state = Failed(message="Flow run encountered an exception: ValueError: crime.raw: 3 rows\nfailed the suite",
                   data=error)
    reason = failure_reason(state)
    assert "\n" not in reason and reason.count("crime.raw") == 1
    bare = failure_reason(Failed(message="", data=KeyError("no-such-dataset")))
    assert bare == "KeyError: 'no-such-dataset'"
    assert failure_reason(Failed(message="validate failed its checks: crime")) == "validate failed its checks: crime"
    assert "\n" not in failure_reason(Crashed(message="Execution was aborted\nby a termination signal."))


def test_without_a_server_the_alert_says_how_to_find_the_run() -> None:
    subject, body = alert_text(_failure(link=None), "Castle Point and Rochford CSP")
    assert subject == "[dutycycle] Failed: validate for castle-point-rochford 2022/23 (run brave-otter)"
    assert "prefect flow-run inspect 0b6c5f0e-1111-4222-8333-444455556666" in body
    assert "Reason:         validate failed its checks: crime (2 files in quarantine)" in body


def test_an_unknown_partnership_alerts_the_global_address_as_a_file_once(data_dir: Path, monkeypatch) -> None:
    _use(monkeypatch, alert_email=OPS)
    failure = _failure("castle-point-rochfrod")
    first = alert_partnership(failure, get_settings())
    again = alert_partnership(failure, get_settings())
    files = list((data_dir / "outbox" / "_alerts").glob("*.eml"))
    assert len(files) == 1, first
    text = files[0].read_text()
    assert f"To: {OPS}" in text and "no such partnership folder" in text and "brave-otter" in text
    assert "already sent" in again


def test_nobody_configured_is_said_in_one_line(data_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("DUTYCYCLE_ALERT_EMAIL", raising=False)
    reset_settings_cache()
    outcome = alert_partnership(_failure("no-such-partnership"), get_settings())
    assert outcome.startswith("nobody could be alerted of run 0b6c5f0e") and "DUTYCYCLE_ALERT_EMAIL" in outcome
    assert "\n" not in outcome
    assert not (data_dir / "outbox").exists()


@pytest.fixture
def smtp(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, alert_email=OPS)
        yield inbox


def test_a_broken_stakeholders_file_alerts_the_global_address_by_smtp(smtp: Inbox, tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs", "lookups"))
    broken = config / "partnerships" / DEMO / "stakeholders.yaml"
    broken.write_text(broken.read_text() + "\n  - id: [unclosed\n")
    _use(monkeypatch, config_dir=config)
    alert_partnership(_failure(), get_settings())
    assert [m["To"] for m in smtp.messages] == [OPS]
    assert "not valid YAML" in smtp.messages[0].get_content()


def test_an_unreachable_database_alerts_the_global_address(smtp: Inbox, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the database's folder should be")
    _use(monkeypatch, database_url=f"sqlite:///{tmp_path}/not-a-folder/dutycycle.db")
    outcome = alert_partnership(_failure(), get_settings())
    assert [m["To"] for m in smtp.messages] == [OPS], outcome
    assert "database could not be reached" in smtp.messages[0].get_content()


def test_the_analyst_is_alerted_through_the_outbox_once(smtp: Inbox) -> None:
    failure = _failure()
    alert_partnership(failure, get_settings())
    alert_partnership(failure, get_settings())
    assert [m["To"] for m in smtp.messages] == [ANALYST]
    with session_scope(get_settings().resolved_database_url) as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert [(r.kind, r.recipient_id, r.status) for r in rows] == [(ALERT_KIND, "csp-analyst", "sent")]
    body = smtp.messages[0].get_content()
    assert failure.reason in body and failure.link in body
