"""The deadlines flow on chosen days: reminders and escalations written to the outbox once, delivered once, and
the calendar published as an artifact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.shared.settings import get_settings
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import session_scope

pytestmark = pytest.mark.flow
DEMO = "castle-point-rochford"


def _outbox() -> list[tuple[str, str, str]]:
    with session_scope(get_settings().resolved_database_url) as session:
        return sorted((m.kind, m.recipient_id, m.status) for m in session.scalars(select(OutboxMessage)))


def test_the_deadlines_flow_sends_each_reminder_and_escalation_once(prefect_server: None, data_dir: Path) -> None:
    from prefect.client.orchestration import get_client

    from flows.deadlines import deadlines

    # 6 April 2023: the PCC grant return's 10-day reminder (to the analyst) and, late, the escalation of the
    # s.17A period due 31 March (planned for Monday 3 April) to the chair
    first = deadlines(partnership=DEMO, as_of=dt.date(2023, 4, 6))
    assert first["queued"] == 2 and first["delivered"] == 2 and first["overdue"] == 1
    assert _outbox() == [("deadline_escalation", "csp-board", "sent"), ("deadline_reminder", "csp-analyst", "sent")]
    emails = sorted((data_dir / "outbox" / DEMO).glob("*.eml"))
    assert len(emails) == 2
    assert "sent late" in next(p for p in emails if "escalation" in p.name).read_text()

    again = deadlines(partnership=DEMO, as_of=dt.date(2023, 4, 6))
    assert again["queued"] == 0 and again["delivered"] == 0
    later = deadlines(partnership=DEMO, as_of=dt.date(2023, 4, 7))
    assert later["queued"] == 0
    assert len(sorted((data_dir / "outbox" / DEMO).glob("*.eml"))) == 2

    # 21 April: the grant return is overdue: one escalation to the chair
    overdue = deadlines(partnership=DEMO, as_of=dt.date(2023, 4, 21))
    assert overdue["queued"] == 1
    assert _outbox().count(("deadline_escalation", "csp-board", "sent")) == 2

    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts(limit=200) if a.key}
    # filed under the financial year in progress on the day watched (21 April 2023: 2023/24)
    assert f"{DEMO}-2023-24-deadlines-table" in keys and f"{DEMO}-2023-24-deadlines-summary" in keys
