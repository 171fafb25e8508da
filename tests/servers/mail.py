"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts and can misbehave on cue:
refuse, time out or hang up after DATA, or run a hook at the moment it has accepted (to kill the sender or lock the
database there)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

ACCEPT, REFUSE, SLOW, HANG_UP = "accept", "refuse", "slow", "hang up"


@dataclass
class Inbox:
    """An aiosmtpd handler: the messages accepted, in order, and a script of behaviours for the next DATA commands.

    ``slow`` keeps the message and answers only after ``slow_seconds`` (the client times out first); ``hang up``
    keeps the message and closes the connection without answering; ``refuse`` answers 550 and keeps nothing.
    ``on_accept`` runs (blocking) after a message is kept and before the 250 goes back.
    """

    script: list[str] = field(default_factory=list)
    slow_seconds: float = 3.0
    on_accept: Callable[[email.message.EmailMessage], None] | None = None
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    accepted: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        behaviour = self.script.pop(0) if self.script else ACCEPT
        if behaviour == REFUSE:
            return "550 5.7.1 Message refused by policy"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.accepted.set()
        if self.on_accept is not None:
            self.on_accept(self.messages[-1])
        if behaviour == SLOW:
            await asyncio.sleep(self.slow_seconds)
        if behaviour == HANG_UP:
            server.transport.close()
        return "250 2.0.0 Accepted"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as probe:  # aiosmtpd checks its own port at start, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """Start and stop an Inbox on 127.0.0.1 (plain, or implicit TLS with ``ssl_context``)."""

    def __init__(self, inbox: Inbox, **controller_options) -> None:
        self.inbox = inbox
        self.port = free_port()
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, **controller_options)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class StallInData:
    """Make an SmtpServer hold the ``nth`` DATA command (counted from 1) before its 354, signal ``in_data`` and drop
    it once ``release`` is set: the sender is then in the middle of delivering and nothing is accepted yet."""

    def __init__(self, server: SmtpServer, nth: int = 1) -> None:
        from aiosmtpd.smtp import SMTP

        self.in_data, self.release, self.seen = threading.Event(), threading.Event(), 0
        staller = self

        class Session(SMTP):
            async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method
                staller.seen += 1
                if staller.seen == nth and not staller.release.is_set():
                    staller.in_data.set()
                    while not staller.release.is_set():
                        await asyncio.sleep(0.05)
                    return  # the sender is gone: this DATA is dropped, nothing accepted
                await super().smtp_DATA(arg)

        options = dict(server.controller.SMTP_kwargs)
        server.controller.factory = lambda: Session(server.inbox, **options)
