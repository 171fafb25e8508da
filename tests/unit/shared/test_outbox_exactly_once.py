"""Exactly once, tried the way it breaks: a real SMTP server (aiosmtpd) and a real webhook receiver on 127.0.0.1,
two deliveries at once, a sender SIGKILLed right after the server accepted, a database locked at that moment, SMTP
refusing, timing out or hanging up after DATA, webhooks answering 429 and 500."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.shared.config import Stakeholder, load_partnership_config
from tasks.shared.context import open_cycle
from tasks.shared.outbox import Message, deliver_pending, queue_messages
from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import OutboxMessage, utc_now
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.databases import hold_outbox_lock
from tests.servers.mail import HANG_UP, REFUSE, SLOW, Inbox, SmtpServer
from tests.servers.webhook import Step, WebhookReceiver

DEMO = "castle-point-rochford"
CONFIG = load_partnership_config(PROJECT_ROOT / "config", DEMO)


def _use(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"DUTYCYCLE_{key.upper()}", str(value))
    reset_settings_cache()
    dispose_engines()  # SQLite pragmas (busy timeout) are set when a connection opens


def _messages(count: int) -> list[Message]:
    people = [p for p in CONFIG.stakeholders][:count]
    return [Message(kind="data_request", recipient=p, subject=f"Data needed {i}", body=f"Please send file {i}.",
                    html=f"<p>Please send file {i}.</p>") for i, p in enumerate(people)]


def _queue(messages: list[Message], rows: int | None = None) -> str:
    """Queue messages; ``rows``: the outbox rows expected (one per message and channel)."""
    ctx = open_cycle(DEMO, "2022/23")
    assert queue_messages.fn(ctx, messages) == (len(messages) if rows is None else rows)
    return ctx.database_url


def _deliver() -> list[dict]:
    settings = get_settings()
    return deliver_pending(settings.resolved_database_url, settings, DEMO)


def _rows(url: str) -> list[OutboxMessage]:
    with session_scope(url) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_two_deliveries_at_once_send_each_message_once(data_dir: Path, monkeypatch, reliability) -> None:
    reliability.fault("two senders at once", injected="two threads run deliver_pending on the same outbox together",
                      where="outbox delivery (e-mail, local SMTP server)")
    inbox = Inbox(script=[SLOW] * 0)
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port)
        url = _queue(_messages(6))
        start = threading.Barrier(2)
        reports: list[list[dict]] = []

        def run() -> None:
            start.wait()
            reports.append(_deliver())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    sent = [r for report in reports for r in report if r["status"] == "sent"]
    reliability.check("reported sent", len(sent), 6)
    reliability.kept("messages at the SMTP server", len(inbox.messages), 6)
    reliability.check("distinct Message-IDs", len(set(inbox.message_ids())), 6)  # six different messages, none twice
    reliability.outcome("kept")
    assert all(r.status == "sent" and r.attempts == 1 for r in _rows(url))


CHILD = """
import sys
from tasks.shared.settings import get_settings
from tasks.shared.outbox import deliver_pending
settings = get_settings()
deliver_pending(settings.resolved_database_url, settings, sys.argv[1])
"""


def test_sender_killed_right_after_acceptance_sends_at_most_once_more_with_the_same_message_id(
    data_dir: Path, monkeypatch, reliability
) -> None:
    reliability.fault("sender killed after the server accepted, before its 250 arrived",
                      injected="SIGKILL of the sending process while the local SMTP server holds the 250",
                      where="outbox delivery; the next run, inside the lease (the claimant's process gone)")
    killed = threading.Event()
    inbox = Inbox()
    inbox.on_accept = lambda message: killed.wait(60)  # hold the 250 until the sender is dead
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port)
        url = _queue(_messages(1))
        child = subprocess.Popen([sys.executable, "-c", CHILD, DEMO], cwd=PROJECT_ROOT, env=dict(os.environ))
        try:
            assert inbox.accepted.wait(60), "the sender never reached the server"
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        finally:
            killed.set()
        [row] = _rows(url)
        assert row.status == "sending" and row.attempts == 1  # claimed, accepted, never recorded

        # the next run, well inside the 15-minute lease, sees that the claimant's process is gone and sends the
        # message again at once: at most once more, with the same Message-ID (waiting out the lease would only
        # have delayed this same single re-send)
        inbox.on_accept = None
        _use(monkeypatch, outbox_lease_seconds=900)
        [again] = _deliver()
        assert again["status"] == "sent"
    # SMTP cannot be asked whether the first copy arrived: one more copy, same Message-ID, by choice (docs/faults.md)
    reliability.check("copies at the SMTP server (at most once more)", len(inbox.messages), 2)
    reliability.kept("messages (distinct Message-IDs)", len(set(inbox.message_ids())), 1)
    reliability.check("outbox row", _rows(url)[0].status, "sent")
    assert _deliver() == []
    reliability.outcome("retried")
    reliability.outcome("kept")


def test_a_claim_made_on_another_machine_waits_for_its_lease(data_dir: Path, monkeypatch) -> None:
    # a worker on another host may still be sending: only its lease frees the row, whatever its pid means here
    with SmtpServer(Inbox()) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, outbox_lease_seconds=900)
        url = _queue(_messages(1))
        claimed = OutboxMessage.__table__.update().values(
            status="sending", claimed_by="worker-7.elsewhere:1:1:abcdef012345", claimed_at=utc_now(), attempts=1)
        with session_scope(url) as session:
            session.execute(claimed)
        assert _deliver() == [] and server.inbox.messages == []
        _use(monkeypatch, outbox_lease_seconds=0.5)
        time.sleep(0.6)
        assert [r["status"] for r in _deliver()] == ["sent"] and len(server.inbox.messages) == 1


def _lock_database(url: str, seconds: float) -> None:
    """Another connection takes the lock the sender's write needs now, and releases it after ``seconds``."""
    threading.Timer(seconds, hold_outbox_lock(url)).start()


def test_database_locked_when_the_server_accepts_is_waited_out_and_recorded_once(data_dir: Path, monkeypatch,
                                                                                 reliability) -> None:
    reliability.fault("database locked during delivery (1.5 s)",
                      injected="another SQLite connection holds BEGIN EXCLUSIVE from the server's acceptance",
                      where="outbox delivery, recording the message as sent")
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port)
        url = _queue(_messages(1))
        inbox.on_accept = lambda message: _lock_database(url, 1.5)
        started = time.monotonic()
        [report] = _deliver()
        assert time.monotonic() - started >= 1.4  # it waited for the lock rather than giving up
        assert report["status"] == "sent"
        reliability.check("recorded in", report["recorded"], "recorded")
        assert _deliver() == []
    reliability.kept("messages at the SMTP server", len(inbox.messages), 1)
    reliability.check("outbox row", _rows(url)[0].status, "sent")
    reliability.outcome("kept")


def test_database_locked_longer_than_we_wait_leaves_a_receipt_and_nothing_is_sent_twice(
    data_dir: Path, monkeypatch, reliability
) -> None:
    reliability.fault("database locked during delivery, longer than the sender waits",
                      injected="another SQLite connection holds BEGIN EXCLUSIVE 2 s; busy timeout 0.1 s, record 0.3 s",
                      where="outbox delivery: receipt file, recorded by the next run")
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, database_busy_timeout_seconds=0.1,
             outbox_record_timeout_seconds=0.3, outbox_lease_seconds=0.5)
        url = _queue(_messages(1))
        inbox.on_accept = lambda message: _lock_database(url, 2.0)
        [report] = _deliver()
        assert report["status"] == "sent"
        reliability.check("recorded in", report["recorded"], "receipt")
        receipts = list((data_dir / "outbox" / DEMO / ".receipts").glob("*.json"))
        reliability.check("receipts written while locked", len(receipts), 1)
        time.sleep(2.2)  # the lock is gone and the claim's lease has run out: without the receipt it would resend
        assert _deliver() == []
    reliability.kept("messages at the SMTP server", len(inbox.messages), 1)
    [row] = _rows(url)
    reliability.check("outbox row", row.status, "sent")
    assert row.delivered_at is not None
    reliability.check("receipts left after the next run",
                      len(list((data_dir / "outbox" / DEMO / ".receipts").glob("*.json"))), 0)
    reliability.outcome("kept")


def test_smtp_refusal_is_not_a_delivery_and_the_retry_arrives_once(data_dir: Path, monkeypatch, reliability) -> None:
    reliability.fault("SMTP 550 refusal", injected="local SMTP server refuses the first DATA",
                      where="outbox delivery, then the next run")
    inbox = Inbox(script=[REFUSE])
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port)
        url = _queue(_messages(1))
        [first] = _deliver()
        assert first["status"] == "failed" and "550" in first["reference"]
        assert "outcome unknown" not in first["reference"] and inbox.messages == []
        [second] = _deliver()
        assert second["status"] == "sent"
    reliability.kept("messages at the SMTP server", len(inbox.messages), 1)
    reliability.check("attempts", _rows(url)[0].attempts, 2)
    reliability.outcome("retried")
    reliability.outcome("kept")


@pytest.mark.parametrize("fault", [SLOW, HANG_UP])
def test_smtp_timeout_or_hang_up_after_data_resends_at_most_once_more_with_the_same_message_id(
    data_dir: Path, monkeypatch, fault: str, reliability
) -> None:
    reliability.fault(f"SMTP {'timeout' if fault == SLOW else 'hang-up'} after DATA",
                      injected=f"local SMTP server {'answers 2 s late (timeout 0.5 s)' if fault == SLOW else 'closes the connection'} after taking DATA",
                      where="outbox delivery, then the next run")
    inbox = Inbox(script=[fault], slow_seconds=2.0)
    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, smtp_timeout_seconds=0.5)
        url = _queue(_messages(1))
        [first] = _deliver()
        # the server kept it but we could not know: the row says so, and the retry carries the same Message-ID
        assert first["status"] == "failed" and "outcome unknown" in first["reference"]
        [second] = _deliver()
        assert second["status"] == "sent"
        assert _deliver() == []
    # SMTP cannot tell us whether the first copy was taken: at most once more, same Message-ID (receivers dedupe)
    reliability.check("copies at the SMTP server (at most once more)", len(inbox.messages), 2)
    reliability.kept("messages (distinct Message-IDs)", len(set(inbox.message_ids())), 1)
    reliability.check("outbox row", _rows(url)[0].status, "sent")
    reliability.outcome("retried")
    reliability.outcome("kept")


def _board_on_webhooks() -> Stakeholder:
    board = CONFIG.stakeholder("csp-board")
    return board.model_copy(update={"receives": {"metric_pack": ["email", "teams", "slack"]},
                                    "webhooks": {"teams": "board-teams", "slack": "board-slack"}})


@pytest.mark.parametrize(
    "script",
    [
        [Step(429, {"Retry-After": "0"}), Step(200, acted=True)],  # rate limited, then accepted
        [Step(500, acted=True), Step(200, acted=True)],  # acted on it but answered 500: the retry carries the same key
        [Step(503), Step(202, acted=True)],
    ],
    ids=["429-then-200", "500-after-acting", "503-then-202"],
)
def test_webhooks_arrive_once_through_429_and_500(data_dir: Path, monkeypatch, script: list[Step],
                                                 reliability) -> None:
    reliability.fault(f"webhook answers {script[0].status} first", injected="local webhook receiver: "
                      + ", then ".join(f"{s.status}{' (acted on)' if s.acted else ''}" for s in script),
                      where="outbox delivery to Teams and Slack webhooks")
    with WebhookReceiver(script=list(script)) as receiver:
        _use(monkeypatch, webhook_board_teams=receiver.url("/teams"), webhook_board_slack=receiver.url("/slack"),
             http_max_attempts=3)
        message = Message(kind="metric_pack", recipient=_board_on_webhooks(), subject="Measures 2022/23 ready",
                          body="Long e-mail text.", summary="The 2022/23 measures are published.")
        url = _queue([message], rows=3)
        report = _deliver()
        assert sorted(r["channel"] for r in report) == ["file", "slack", "teams"]  # e-mail as .eml (no SMTP here)
        reliability.check("channels reported sent", sum(r["status"] == "sent" for r in report), 3)
        assert _deliver() == []
    reliability.kept("webhook posts acted on", len(receiver.posted), 2)  # one Teams and one Slack post, once each
    teams = next(p for p in receiver.posted.values() if p["path"] == "/teams")["body"]
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [b["text"] for b in card["content"]["body"]] == ["Measures 2022/23 ready", "The 2022/23 measures are published."]
    slack = next(p for p in receiver.posted.values() if p["path"] == "/slack")["body"]
    assert slack["text"] == "Measures 2022/23 ready" and "published" in slack["blocks"][1]["text"]["text"]
    keys = {r["key"] for r in receiver.requests}
    reliability.check("idempotency keys (retries reuse theirs)", len(keys), 2)
    assert all(k.startswith("<") for k in keys)
    assert {r.channel: r.status for r in _rows(url)} == {"email": "sent", "teams": "sent", "slack": "sent"}
    reliability.outcome("retried")
    reliability.outcome("kept")


def test_a_webhook_without_a_configured_url_fails_and_says_where_to_put_it(data_dir: Path, monkeypatch) -> None:
    _use(monkeypatch, http_max_attempts=1, webhook_board_slack="http://127.0.0.1:9/never")
    board = _board_on_webhooks().model_copy(update={"receives": {"metric_pack": ["teams"]}})
    _queue([Message(kind="metric_pack", recipient=board, subject="s", body="b")])
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    # no Prefect server answers here, so no Secret block can be found either
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}):
        [report] = _deliver()
    assert report["status"] == "failed"
    assert "DUTYCYCLE_WEBHOOK_BOARD_TEAMS" in report["reference"] and "dutycycle-webhook-board-teams" in report["reference"]
