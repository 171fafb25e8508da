"""Messages reach the right people once: SMTP to a real local server, .eml files without one."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from aiosmtpd.controller import Controller

from tasks.notify.messages import data_quality_messages
from tasks.shared.config import load_partnership_config
from tasks.shared.context import open_cycle
from tasks.shared.outbox import deliver_outbox, queue_messages
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.shared.storage.session import table_row_counts

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port at start, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _reports() -> list:
    files = pd.DataFrame([
        {"source_id": "police-knife-crime", "original_name": "knife.csv", "period": "2022-04", "status": "quarantined",
         "reason": "failed critical checks", "rows_read": 3, "rows_loaded": 0},
        {"source_id": "ae-assault-attendances", "original_name": "ae.csv", "period": "2022-04", "status": "loaded",
         "reason": None, "rows_read": 8, "rows_loaded": 8},
    ])
    failures = pd.DataFrame([
        {"source_id": "police-knife-crime", "original_name": "knife.csv", "source_row": 3,
         "column": "Knife or Sharp Instrument Offences", "value": "-2", "rule": "Offences are whole numbers",
         "severity": "critical"},
    ])
    return data_quality_messages(CONFIG, "2022/23", files, failures)


def test_each_data_owner_receives_only_their_own_report() -> None:
    by_recipient = {m.recipient.id: m for m in _reports()}
    police = by_recipient["essex-police-analyst"]
    assert "knife.csv" in police.body and "| 3 |" in police.body and "-2" in police.body
    assert "ae.csv" not in police.body
    health = by_recipient["mse-icb-intelligence"]
    assert "knife.csv" not in health.body and "all clear" in health.subject
    assert "csp-board" not in by_recipient  # the board gets the metric pack, not row-level reports


def test_outbox_delivers_over_smtp_exactly_once(data_dir: Path, smtp_server, monkeypatch) -> None:
    inbox, port = smtp_server
    monkeypatch.setenv("DUTYCYCLE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", str(port))
    reset_settings_cache()
    ctx = open_cycle("castle-point-rochford", "2022/23")
    messages = _reports()
    assert queue_messages.fn(ctx, messages) == len(messages)
    report = deliver_outbox.fn(ctx)
    assert [r["status"] for r in report] == ["sent"] * len(messages)
    assert sorted(m["To"] for m in inbox.messages) == sorted(m.recipient.email for m in messages)
    police = next(m for m in inbox.messages if m["To"] == "analyst@essex-police.example.org")
    assert "knife.csv" in police.get_payload()

    assert queue_messages.fn(ctx, messages) == 0  # same content again: nothing new
    assert deliver_outbox.fn(ctx) == []
    assert len(inbox.messages) == len(messages)
    assert table_row_counts(ctx.database_url)["outbox"] == len(messages)


def test_failed_delivery_is_kept_and_retried(data_dir: Path, smtp_server, monkeypatch) -> None:
    inbox, port = smtp_server
    monkeypatch.setenv("DUTYCYCLE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", "1")  # nothing listens there
    reset_settings_cache()
    ctx = open_cycle("castle-point-rochford", "2022/23")
    queue_messages.fn(ctx, _reports()[:1])
    [failed] = deliver_outbox.fn(ctx)
    assert failed["status"] == "failed" and "ConnectionRefusedError" in failed["reference"]

    monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", str(port))
    reset_settings_cache()
    [sent] = deliver_outbox.fn(open_cycle("castle-point-rochford", "2022/23"))
    assert sent["status"] == "sent" and len(inbox.messages) == 1


def test_without_smtp_messages_become_eml_files(data_dir: Path) -> None:
    ctx = open_cycle("castle-point-rochford", "2022/23")
    queue_messages.fn(ctx, _reports())
    report = deliver_outbox.fn(ctx)
    files = sorted((data_dir / "outbox" / "castle-point-rochford").glob("*.eml"))
    assert len(files) == len(report) > 0
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"].startswith("[Castle Point and Rochford")
