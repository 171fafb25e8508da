"""A message sender killed while delivering: in the middle of DATA, and after the server's "250" while the database
is locked. A local SMTP server (aiosmtpd) counts what it accepted; the re-run must leave it holding each message once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy import select

from tasks.shared.config import load_partnership_config
from tasks.shared.context import open_cycle
from tasks.shared.outbox import Message, deliver_pending, queue_messages
from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.databases import hold_outbox_lock
from tests.servers.mail import Inbox, SmtpServer

pytestmark = pytest.mark.faults

DEMO = "castle-point-rochford"
SENDER = """
import sys
from tasks.shared.settings import get_settings
from tasks.shared.outbox import deliver_pending
settings = get_settings()
deliver_pending(settings.resolved_database_url, settings, sys.argv[1])
"""


def _use(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"DUTYCYCLE_{key.upper()}", str(value))
    reset_settings_cache()
    dispose_engines()


def _queue_one() -> str:
    config = load_partnership_config(PROJECT_ROOT / "config", DEMO)
    person = config.stakeholders[0]
    ctx = open_cycle(DEMO, "2022/23")
    queue_messages.fn(ctx, [Message(kind="data_request", recipient=person, subject="Data needed",
                                    body="Please send the file.", html="<p>Please send the file.</p>")])
    return ctx.database_url


def _rows(url: str) -> list[OutboxMessage]:
    with session_scope(url) as session:
        return list(session.scalars(select(OutboxMessage)))


def _sender() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SENDER, DEMO], cwd=PROJECT_ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(60)


def _redeliver_after_the_lease(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    _use(monkeypatch, outbox_lease_seconds=0.5)
    time.sleep(0.6)
    settings = get_settings()
    return deliver_pending(settings.resolved_database_url, settings, DEMO)


class _StallInData(SMTP):
    """An SMTP session that signals when the client has started DATA and holds it there (no 354 yet)."""

    in_data = threading.Event()
    hold = threading.Event()

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method
        if not self.hold.is_set():
            self.in_data.set()
            while not self.hold.is_set():
                await asyncio.sleep(0.05)
            return  # the sender is dead: drop this DATA, nothing accepted
        await super().smtp_DATA(arg)


def _server_holding_data(session: type, inbox: Inbox) -> SmtpServer:
    """A local SMTP server whose sessions are ``session`` (one of the DATA-holding ones above), its events reset."""
    session.in_data.clear()
    session.hold.clear()
    server = SmtpServer(inbox)
    server.controller.factory = lambda: session(inbox)  # aiosmtpd builds each session with factory()
    return server


def test_a_sender_killed_in_the_middle_of_data_delivers_the_message_once_on_the_rerun(data_dir: Path, monkeypatch,
                                                                                       reliability) -> None:
    reliability.fault("message sender killed in the middle of DATA",
                      injected="the SMTP server holds DATA (no 354); the sending process SIGKILLed",
                      where="outbox deliver_pending, then the next run at once (the claimant's process is gone)")
    inbox = Inbox()
    with _server_holding_data(_StallInData, inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port)
        url = _queue_one()
        child = _sender()
        try:
            assert _StallInData.in_data.wait(120), "the sender never reached DATA"
            _kill(child)
        finally:
            _StallInData.hold.set()
        [row] = _rows(url)
        reliability.check("messages accepted before the re-run", len(inbox.messages), 0)
        reliability.check("row after the kill", row.status, "sending")  # claimed, nothing accepted
        # the default 15-minute lease stands: the claim is retaken at once because its process is provably gone
        _use(monkeypatch, outbox_lease_seconds=900)
        settings = get_settings()
        [again] = deliver_pending(settings.resolved_database_url, settings, DEMO)
        reliability.outcome("retried")
        reliability.check("re-run", again["status"], "sent")
    reliability.kept("messages at the SMTP server", len(inbox.messages), 1)  # lost: nothing; duplicated: nothing
    reliability.check("row at the end", _rows(url)[0].status, "sent")
    reliability.outcome("kept")


class _SlowData(SMTP):
    """An SMTP session that holds DATA until released, then takes the message (a slow but live server)."""

    in_data = threading.Event()
    hold = threading.Event()

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method
        self.in_data.set()
        while not self.hold.is_set():
            await asyncio.sleep(0.05)
        await super().smtp_DATA(arg)


def test_a_live_senders_claim_is_not_taken_by_another_run(data_dir: Path, monkeypatch, reliability) -> None:
    reliability.fault("a second run while a sender is still in the middle of DATA",
                      injected="the SMTP server holds DATA; another run delivers meanwhile",
                      where="outbox deliver_pending in two processes at once")
    inbox = Inbox()
    with _server_holding_data(_SlowData, inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port)
        url = _queue_one()
        child = _sender()
        try:
            assert _SlowData.in_data.wait(120), "the sender never reached DATA"
            settings = get_settings()
            reliability.check("messages the second run sent", len(deliver_pending(url, settings, DEMO)), 0)
        finally:
            _SlowData.hold.set()
        assert child.wait(120) == 0
    reliability.kept("messages at the SMTP server", len(inbox.messages), 1)
    reliability.check("row at the end", _rows(url)[0].status, "sent")
    reliability.outcome("kept")


def test_a_sender_killed_after_the_250_while_the_database_is_locked_is_not_sent_again(data_dir: Path, monkeypatch,
                                                                                       reliability) -> None:
    reliability.fault("message sender killed after the server's 250, the database locked",
                      injected="the server's accept hook takes BEGIN EXCLUSIVE; the sender SIGKILLed 3 s later, waiting",
                      where="outbox deliver_pending recording `sent`, then a run after the lease")
    inbox = Inbox()
    release = threading.Event()
    locked = threading.Event()
    holder: list[Callable[[], None]] = []

    def lock_database(message: object) -> None:
        # another connection takes the outbox's lock as the server accepts: the sender cannot record "sent"
        holder.append(hold_outbox_lock(url))
        locked.set()

    with SmtpServer(inbox) as server:
        _use(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, outbox_record_timeout_seconds=300)
        url = _queue_one()
        inbox.on_accept = lock_database
        child = _sender()
        try:
            assert locked.wait(120), "the server never accepted the message"
            time.sleep(3)  # the 250 is back and the sender is waiting for the lock (it waits up to 300 s)
            assert child.poll() is None
            _kill(child)
        finally:
            release.set()
            for release_lock in holder:
                release_lock()
        inbox.on_accept = None
        reliability.check("rows `sending` after the kill (the database never learnt it)",
                          [r.status for r in _rows(url)], ["sending"])
        resent = _redeliver_after_the_lease(monkeypatch)
    reliability.kept("messages at the SMTP server", len(inbox.messages), 1)
    reliability.check("messages sent again after the lease (the receipt said: delivered)", len(resent), 0)
    [row] = _rows(url)
    reliability.check("row at the end", row.status, "sent")
    assert row.delivered_at is not None
    reliability.check("receipts left", len(list((data_dir / "outbox" / DEMO / ".receipts").glob("*"))), 0)
    reliability.outcome("kept")
