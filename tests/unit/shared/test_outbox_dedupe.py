"""The outbox's de-duplication key tells messages apart by recipient AND content: the same text to two people is
two messages, two texts to one person are two messages, and only the same text to the same person again is one.
A key without the recipient would silently drop the second person's copy; a key without the content would drop a
chaser or a corrected pack sent after the first message of the same kind."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tasks.shared.context import open_cycle
from tasks.shared.outbox import Message, deliver_pending, queue_messages
from tasks.shared.settings import get_settings, reset_settings_cache
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.servers.mail import Inbox, SmtpServer

DEMO = "castle-point-rochford"


def _email_only(ctx, kind: str) -> list:
    """Stakeholders who receive ``kind`` by e-mail only (one outbox row per message)."""
    return [p for p in ctx.config.stakeholders if (p.channels_for(kind) or ["email"]) == ["email"]]


def _rows(url: str) -> list[tuple[str, str]]:
    with session_scope(url) as session:
        return [(r.recipient_email, r.subject) for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_same_content_to_two_people_is_two_messages(data_dir: Path) -> None:
    ctx = open_cycle(DEMO, "2022/23")
    first, second = _email_only(ctx, "data_request")[:2]
    same = dict(kind="data_request", subject="Knife crime return for 2022/23", body="Please send the return.")
    assert queue_messages.fn(ctx, [Message(recipient=first, **same), Message(recipient=second, **same)]) == 2
    assert sorted(_rows(ctx.database_url)) == sorted([(first.email, same["subject"]), (second.email, same["subject"])])
    # and again: nothing new
    assert queue_messages.fn(ctx, [Message(recipient=first, **same), Message(recipient=second, **same)]) == 0


def test_new_content_to_the_same_person_is_a_new_message(data_dir: Path) -> None:
    ctx = open_cycle(DEMO, "2022/23")
    person = _email_only(ctx, "data_request")[0]
    request = Message(kind="data_request", recipient=person, subject="Knife crime return", body="Due 30 April.")
    chaser = Message(kind="data_request", recipient=person, subject="Knife crime return", body="Now overdue.")
    assert queue_messages.fn(ctx, [request]) == 1
    assert queue_messages.fn(ctx, [request]) == 0  # a re-run of notify queues nothing
    assert queue_messages.fn(ctx, [chaser]) == 1  # the same subject with a new body is not the same message
    assert queue_messages.fn(ctx, [chaser, request]) == 0


def test_each_distinct_message_reaches_the_smtp_server_once(data_dir: Path, monkeypatch) -> None:
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        monkeypatch.setenv("DUTYCYCLE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", str(server.port))
        reset_settings_cache()
        dispose_engines()
        ctx = open_cycle(DEMO, "2022/23")
        first, second = _email_only(ctx, "data_request")[:2]
        messages = [
            Message(kind="data_request", recipient=first, subject="Return", body="Please send it."),
            Message(kind="data_request", recipient=second, subject="Return", body="Please send it."),
            Message(kind="data_request", recipient=first, subject="Return", body="Reminder: please send it."),
        ]
        queue_messages.fn(ctx, messages)
        queue_messages.fn(ctx, messages)  # queued twice, as a re-run would
        settings = get_settings()
        report = deliver_pending(settings.resolved_database_url, settings, DEMO)
    assert [r["status"] for r in report] == ["sent"] * 3
    assert len(inbox.messages) == 3
    to = [str(m["To"]) for m in inbox.messages]
    assert sum(first.email in t for t in to) == 2 and sum(second.email in t for t in to) == 1, to
