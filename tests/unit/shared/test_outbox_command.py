"""`dutycycle outbox` lists queued, sent and failed messages with attempts and last error; retry and cancel one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from dutycycle.cli import app
from tasks.shared.context import open_cycle
from tasks.shared.outbox import Message, deliver_outbox, queue_messages
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import session_scope

runner = CliRunner()


def _status(url: str, message_id: int) -> str:
    with session_scope(url) as session:
        return session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message_id))


def test_list_retry_and_cancel(data_dir: Path, monkeypatch) -> None:
    ctx = open_cycle("castle-point-rochford", "2022/23")
    [board, analyst] = ctx.config.stakeholders[:2]
    queue_messages.fn(ctx, [
        Message(kind="metric_pack", recipient=board, subject="Pack", body="b", attachments=["/nowhere/summary.html"]),
        Message(kind="metric_pack", recipient=analyst, subject="Pack", body="b"),
    ])
    report = deliver_outbox.fn(ctx)  # .eml files: the first fails (its attachment is missing), the second is sent
    assert [r["status"] for r in report] == ["failed", "sent"]

    listing = runner.invoke(app, ["outbox", "--partnership", "castle-point-rochford"])
    assert listing.exit_code == 0, listing.output
    assert "    1  failed    attempts 1  email  csp-board@example.org  metric_pack: Pack" in listing.output
    assert "last error: attachment /nowhere/summary.html does not exist" in listing.output
    assert "    2  sent      attempts 1" in listing.output and "1 failed, 1 sent" in listing.output
    only_failed = runner.invoke(app, ["outbox", "--status", "failed"])
    assert "csp-board@example.org" in only_failed.output and "community.safety" not in only_failed.output

    refused = runner.invoke(app, ["outbox", "retry", "2"])
    assert refused.exit_code == 2 and "message 2 is sent" in refused.output
    assert runner.invoke(app, ["outbox", "cancel", "1"]).exit_code == 0
    assert _status(ctx.database_url, 1) == "cancelled"
    assert deliver_outbox.fn(ctx) == []  # a cancelled message is not sent
    assert runner.invoke(app, ["outbox", "retry", "1"]).exit_code == 0
    assert _status(ctx.database_url, 1) == "pending"
    assert "no message 9" in runner.invoke(app, ["outbox", "cancel", "9"]).output
    assert runner.invoke(app, ["outbox", "--status", "lost"]).exit_code == 2
