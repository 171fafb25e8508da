"""The outbox: messages are written once (deduplicated) and each is delivered exactly once, as far as the
protocol allows.

How a message is delivered exactly once:

1. **Queued once.** One row per message and channel, keyed by ``dedupe_key`` (partnership, year, kind, person,
   channel and a digest of the content; a unique constraint). Re-running notify queues nothing new.
2. **Claimed atomically.** A sender claims a row with one statement,
   ``UPDATE outbox SET status='sending', claimed_by=<token>, claimed_at=now, attempts=attempts+1
   WHERE id=? AND (status='pending' OR (status='failed' AND attempts < max) OR (status='sending' AND claimed_at <
   now - lease))``, and sends only if exactly one row changed. The database serialises the UPDATE (SQLite's write
   lock, PostgreSQL's row lock with re-evaluation of the WHERE), so two runs or threads never send the same row.
   The claim is committed *before* anything is sent.
3. **Sent with a stable identity.** The e-mail's Message-ID and the webhook's ``Idempotency-Key`` are derived from
   the dedupe key, identical on every attempt.
4. **Journalled, then recorded by the claimant.** As soon as the receiver accepts, a receipt file
   (``<outbox>/.receipts/``, fsynced, renamed into place) records the delivery; then
   ``UPDATE ... SET status='sent' WHERE id=? AND claimed_by=<token>`` records it in the database (retried for
   ``outbox_record_timeout_seconds`` while the database is locked) and the receipt is removed. A receipt still
   there is applied by the next run before it claims anything, so neither a lock nor a kill while the database is
   locked causes a second copy.

The window that remains: between the receiver accepting the message and our process journalling it (the SMTP
server has taken the DATA but its "250" has not reached us: the process is killed, the connection drops, the reply
times out; a webhook answers 5xx after acting on it). A kill before the end of DATA is no such case: the server
discards an unfinished message, and the re-send is its only copy. SMTP has no way to ask "did you get it?", so:
- a run killed in that window leaves the row ``sending``; the next run on the same host sees the claimant's process
  is gone (its pid free or reused: the token holds the process's start time) and sends it again at once; a claim
  from another host waits ``outbox_lease_seconds`` (default 15 minutes). Either way it is sent **at most once more,
  with the same Message-ID** (mail clients and MTAs that de-duplicate by Message-ID show it once);
- a dropped connection or timeout after DATA marks the row ``failed`` with "outcome unknown"; the next run sends
  it again with the same Message-ID (again at most once more per such failure);
- a webhook is re-posted with the same ``Idempotency-Key``: a receiver that honours the key shows it once (Slack
  and Teams incoming webhooks do not promise to, so there a 5xx after acting can show twice).
Refusals (connection refused, 4xx/5xx reply to MAIL, RCPT or DATA, a webhook's 4xx) were not delivered and are
simply retried, up to ``outbox_max_attempts``; then ``dutycycle outbox retry ID`` sends it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from email.utils import formataddr
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError

from tasks.shared.atomic_file import write_atomically
from tasks.shared.config import PartnershipConfig, Stakeholder
from tasks.shared.context import CycleContext
from tasks.shared.delivery import (
    DeliveryError,
    Envelope,
    build_email,
    message_id_for,
    post_webhook,
    send_smtp,
    smtp_password,
    webhook_payload,
    webhook_url,
    write_eml,
)
from tasks.shared.http import build_session
from tasks.shared.orphans import claim_token, claimant_is_dead
from tasks.shared.settings import Settings
from tasks.shared.storage import repository
from tasks.shared.storage.models import OutboxMessage, utc_now
from tasks.shared.storage.session import get_engine, session_scope

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
STATUSES = (PENDING, SENDING, SENT, FAILED, CANCELLED)
RECEIPTS = ".receipts"
ATTACHMENTS = "attachments"


@dataclass(frozen=True)
class Message:
    """One message to one stakeholder: queued once per channel they chose for its kind, delivered once each.

    ``body`` is the plain-text part, ``html`` the HTML part (e-mail), ``summary`` the short text a Teams or Slack
    post carries; ``attachments`` are files on disk, ``files`` attachments made for this message (name -> bytes).
    """

    kind: str
    recipient: Stakeholder
    subject: str
    body: str
    html: str | None = None
    summary: str | None = None
    attachments: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def dedupe_key(self, partnership: str, financial_year: str, channel: str = "email") -> str:
        """Same content to the same person on the same channel for the same year = the same message, sent once."""
        digest = hashlib.sha256((self.subject + "\n" + self.body).encode("utf-8")).hexdigest()[:16]
        suffix = "" if channel == "email" else f":{channel}"
        return f"{partnership}:{financial_year}:{self.kind}:{self.recipient.id}:{digest}{suffix}"

    def channels(self) -> list[str]:
        return self.recipient.channels_for(self.kind) or ["email"]


def sender_of(config: PartnershipConfig, settings: Settings) -> tuple[str, str | None]:
    """From (with a display name) and Reply-To of the partnership's messages."""
    contact = config.partnership.contact
    name = settings.mail_from_name or (contact.name if contact else config.partnership.name)
    return formataddr((name, settings.mail_from)), contact.email if contact else None


def _store_files(folder: Path, files: dict[str, bytes]) -> list[str]:
    """Keep generated attachments under the outbox, named by content so a re-queue reuses the same file."""
    paths = []
    for name, data in files.items():
        digest = hashlib.sha256(data).hexdigest()[:12]
        target = folder / digest / re.sub(r"[^A-Za-z0-9._-]", "-", name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file():
            target.write_bytes(data)
        paths.append(str(target))
    return paths


def outbox_rows(ctx: CycleContext, messages: list[Message]) -> list[dict[str, Any]]:
    """The outbox rows of some messages: one per message and channel, with sender, Reply-To and Message-ID fixed."""
    sender, reply_to = sender_of(ctx.config, ctx.settings)
    folder = ctx.settings.outbox_dir / ctx.partnership_id / ATTACHMENTS
    rows = []
    for message in messages:
        attachments = [*message.attachments, *_store_files(folder, message.files)]
        for channel in message.channels():
            key = message.dedupe_key(ctx.partnership_id, ctx.year_label, channel)
            rows.append(
                {
                    "partnership": ctx.partnership_id,
                    "dedupe_key": key,
                    "kind": message.kind,
                    "channel": channel,
                    "recipient_id": message.recipient.id,
                    "recipient_email": message.recipient.email,
                    "webhook": message.recipient.webhooks.get(channel),
                    "sender": sender,
                    "reply_to": reply_to,
                    "message_id": message_id_for(key, ctx.settings.mail_from),
                    "subject": message.subject,
                    "body_text": message.summary or message.body if channel != "email" else message.body,
                    "body_html": message.html if channel == "email" else None,
                    "attachments": attachments if channel == "email" else [],
                    "status": PENDING,
                }
            )
    return rows


@task(name="queue-messages", cache_policy=NO_CACHE)
def queue_messages(ctx: CycleContext, messages: list[Message]) -> int:
    """Write messages to the outbox; one already there (same person, channel, year, kind and content) is skipped."""
    added = 0
    with session_scope(ctx.database_url) as session:
        for row in outbox_rows(ctx, messages):
            added += repository.enqueue_message(session, row)
    return added


# ---------------------------------------------------------------- claiming and recording


def _claimable(now: dt.datetime, settings: Settings, dead_claim: str | None = None) -> Any:
    stale = now - dt.timedelta(seconds=settings.outbox_lease_seconds)
    # a claim whose process was killed (seen by the caller): retaken at once, and only if it is still that claim
    retaken = [and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_by == dead_claim)] if dead_claim else []
    return or_(
        OutboxMessage.status == PENDING,
        and_(OutboxMessage.status == FAILED, OutboxMessage.attempts < settings.outbox_max_attempts),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < stale),
        *retaken,
    )


def claim_message(url: str, message_id: int, token: str, settings: Settings, dead_claim: str | None = None) -> bool:
    """Claim one row for sending, atomically; False when another run has it (or it is no longer due).
    ``dead_claim``: the token of a claim whose process is gone, which may be taken over before its lease ends."""
    now = utc_now()
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now, settings, dead_claim))
        .values(status=SENDING, claimed_by=token, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    with get_engine(url).begin() as connection:  # its own short transaction: committed before anything is sent
        return connection.execute(statement).rowcount == 1


def record_outcome(url: str, message_id: int, token: str, outcome: dict[str, Any]) -> bool:
    """Write a delivery's outcome to the row this run claimed (a row another run has since taken is left alone)."""
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == token, OutboxMessage.status == SENDING)
        .values(**outcome)
        .execution_options(synchronize_session=False)
    )
    with get_engine(url).begin() as connection:
        return connection.execute(statement).rowcount == 1


def _outcome(status: str, channel: str, reference: str | None, error: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status, "last_error": error, "delivery_channel": channel}
    if status == SENT:
        values.update(delivered_at=utc_now(), delivery_ref=reference)
    return values


def _receipt_folder(settings: Settings, partnership: str) -> Path:
    return settings.outbox_dir / partnership / RECEIPTS


def _write_receipt(settings: Settings, partnership: str, message_id: int, token: str, outcome: dict[str, Any]) -> Path:
    """Journal an outcome beside the outbox, durably (fsync, atomic rename): the next run applies it."""
    folder = _receipt_folder(settings, partnership)
    receipt = {"id": message_id, "token": token, "outcome": {k: _jsonable(v) for k, v in outcome.items()}}
    path = folder / f"{message_id}-{token.replace(':', '_')}.json"
    write_atomically(path, json.dumps(receipt).encode("utf-8"))  # durable, and the next run sees it whole or not
    return path


def record_with_patience(
    url: str, settings: Settings, partnership: str, message_id: int, token: str, outcome: dict[str, Any]
) -> str:
    """Record an outcome, riding out a locked database; if it stays locked, leave a receipt for the next run.

    A delivery is journalled in a receipt *before* the database is touched: the database may be locked for seconds,
    and a run killed while it waits would otherwise leave the row `sending` and the next run would send the message
    again although the server has it (measured before this order). From the receiver's "250" to the receipt's
    fsync is a few milliseconds of local disk; the database write can take as long as the lock lasts."""
    receipt = _write_receipt(settings, partnership, message_id, token, outcome) if outcome.get("status") == SENT \
        else None
    deadline = time.monotonic() + settings.outbox_record_timeout_seconds
    pause = 0.05
    while True:
        try:
            record_outcome(url, message_id, token, outcome)
            if receipt is not None:
                receipt.unlink(missing_ok=True)  # recorded: the journal entry has done its work
            return "recorded"
        except OperationalError:
            if time.monotonic() >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
    if receipt is None:
        _write_receipt(settings, partnership, message_id, token, outcome)
    return "receipt"


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def apply_receipts(url: str, settings: Settings, partnership: str) -> set[int]:
    """Record the outcomes a previous run could not write (database locked); returns ids still waiting."""
    waiting: set[int] = set()
    folder = _receipt_folder(settings, partnership)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        receipt = json.loads(path.read_text(encoding="utf-8"))
        outcome = dict(receipt["outcome"])
        if outcome.get("delivered_at"):
            outcome["delivered_at"] = dt.datetime.fromisoformat(outcome["delivered_at"])
        try:
            record_outcome(url, receipt["id"], receipt["token"], outcome)
        except OperationalError:
            waiting.add(int(receipt["id"]))
            continue
        path.unlink()
    return waiting


def due_messages(url: str, settings: Settings, partnership: str) -> list[int]:
    """Ids of the rows a run should try: pending, failed under the attempt limit, or claims whose lease ran out."""
    with session_scope(url) as session:
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.partnership == partnership, _claimable(utc_now(), settings))
                .order_by(OutboxMessage.id)
            )
        )


def dead_claims(url: str, partnership: str) -> dict[int, str]:
    """Rows still ``sending`` within their lease whose sending process was killed on this host: {id: its token}.
    Its message was either never accepted (killed before the end of DATA) or is in the one window no protocol
    closes; either way the lease would only delay the same single re-send (same Message-ID)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.claimed_by)
            .where(OutboxMessage.partnership == partnership, OutboxMessage.status == SENDING)
        ).all()
    return {row.id: row.claimed_by for row in rows if claimant_is_dead(row.claimed_by)}


# ---------------------------------------------------------------- sending


class Channels:
    """The senders of one delivery run, built from settings (SMTP or .eml files; one HTTP session for webhooks)."""

    def __init__(self, settings: Settings, partnership: str):
        self.settings = settings
        self.eml_folder = settings.outbox_dir / partnership
        self._password: str | None = None
        self._http = None

    def send(self, row: OutboxMessage) -> tuple[str, str]:
        """Deliver one row; returns (channel used, reference)."""
        if row.channel == "email":
            envelope = Envelope(
                message_id=row.message_id or message_id_for(row.dedupe_key, self.settings.mail_from),
                sender=row.sender or self.settings.mail_from,
                reply_to=row.reply_to,
                recipient=row.recipient_email,
                subject=row.subject,
                text=row.body_text,
                html=row.body_html,
                attachments=list(row.attachments or []),
            )
            email = build_email(envelope)
            if not self.settings.smtp_host:
                name = re.sub(r"[^a-z0-9-]", "-", f"{row.id:06d}-{row.kind}-{row.recipient_id}")
                return "file", write_eml(email, self.eml_folder, name)
            if self._password is None:
                self._password = smtp_password(self.settings) or ""
            return "smtp", send_smtp(email, self.settings, self._password)
        if self._http is None:
            self._http = build_session(self.settings)
        url = webhook_url(self.settings, row.webhook or "")
        payload = webhook_payload(row.channel, row.subject, row.body_text)
        return row.channel, post_webhook(self._http, url, payload, row.message_id or row.dedupe_key)


def deliver_pending(url: str, settings: Settings, partnership: str) -> list[dict[str, Any]]:
    """Claim, send and record every due message of a partnership, one at a time; what happened to each."""
    waiting = apply_receipts(url, settings, partnership)
    channels = Channels(settings, partnership)
    token = claim_token()
    report = []
    dead = dead_claims(url, partnership)
    for message_id in sorted({*due_messages(url, settings, partnership), *dead}):
        if message_id in waiting:
            continue
        try:
            if not claim_message(url, message_id, token, settings, dead.get(message_id)):
                continue  # another run claimed it first: it sends it, not us
        except OperationalError:
            continue  # database busy: the row stays due and the next run tries it
        with session_scope(url) as session:
            row = session.get(OutboxMessage, message_id)
            session.expunge(row)
        try:
            channel, reference = channels.send(row)
            status, error = SENT, None
        except DeliveryError as exc:
            channel, reference, status = row.channel, None, FAILED
            error = str(exc) + (
                " [outcome unknown: the receiver may have it; the retry re-sends with the same "
                f"Message-ID {row.message_id}]" if exc.maybe_delivered else ""
            )
        except Exception as exc:  # noqa: BLE001 - building the message failed: nothing left; record it, go on
            channel, reference, status, error = row.channel, None, FAILED, f"{type(exc).__name__}: {exc}"
        recorded = record_with_patience(
            url, settings, partnership, message_id, token, _outcome(status, channel, reference, error)
        )
        report.append({"id": message_id, "to": row.recipient_email, "channel": channel, "kind": row.kind,
                       "subject": row.subject, "status": status, "attempt": row.attempts,
                       "reference": reference or error, "recorded": recorded})
    return report


@task(name="deliver-outbox", cache_policy=NO_CACHE)
def deliver_outbox(ctx: CycleContext) -> list[dict]:
    """Send every due message exactly once: e-mail over SMTP (else .eml files), Teams and Slack webhooks."""
    return deliver_pending(ctx.database_url, ctx.settings, ctx.partnership_id)


# ---------------------------------------------------------------- inspecting and acting by hand

LISTING_COLUMNS = ["id", "partnership", "kind", "channel", "to", "subject", "status", "attempts", "created",
                   "delivered", "last_error"]


def outbox_listing(url: str, partnership: str | None = None, statuses: list[str] | None = None) -> pd.DataFrame:
    """Queued, sending, sent, failed and cancelled messages with their attempts and last error."""
    with session_scope(url) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if partnership:
            query = query.where(OutboxMessage.partnership == partnership)
        if statuses:
            query = query.where(OutboxMessage.status.in_(statuses))
        rows = [
            {
                "id": m.id, "partnership": m.partnership, "kind": m.kind, "channel": m.channel,
                "to": m.recipient_email if m.channel == "email" else f"{m.channel}:{m.webhook}",
                "subject": m.subject, "status": m.status, "attempts": m.attempts,
                "created": m.created_at.strftime("%Y-%m-%d %H:%M") if m.created_at else "",
                "delivered": m.delivered_at.strftime("%Y-%m-%d %H:%M") if m.delivered_at else "",
                "last_error": m.last_error or "",
            }
            for m in session.scalars(query)
        ]
    return pd.DataFrame(rows, columns=LISTING_COLUMNS)


class OutboxActionError(ValueError):
    """A retry or cancel that does not apply to the message's current status."""


def _act(url: str, message_id: int, allowed: tuple[str, ...], values: dict[str, Any], verb: str) -> None:
    with get_engine(url).begin() as connection:
        changed = connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(allowed))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    if changed != 1:
        with session_scope(url) as session:
            row = session.get(OutboxMessage, message_id)
        if row is None:
            raise OutboxActionError(f"no message {message_id} in the outbox")
        raise OutboxActionError(f"message {message_id} is {row.status}: only a {' or '.join(allowed)} message can be {verb}")


def retry_message(url: str, message_id: int) -> None:
    """Queue a failed or cancelled message again (the next delivery sends it, with the same Message-ID)."""
    _act(url, message_id, (FAILED, CANCELLED), {"status": PENDING, "claimed_by": None, "claimed_at": None},
         "retried")


def cancel_message(url: str, message_id: int) -> None:
    """Withdraw a message not yet sent (a claim in progress or a sent message cannot be withdrawn)."""
    _act(url, message_id, (PENDING, FAILED), {"status": CANCELLED}, "cancelled")
