"""The outbox: messages are written once (deduplicated) and then delivered, each exactly once."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.shared.config import Stakeholder
from tasks.shared.context import CycleContext
from tasks.shared.delivery import build_email, send_smtp, write_eml
from tasks.shared.storage import repository
from tasks.shared.storage.models import OutboxMessage, utc_now
from tasks.shared.storage.session import session_scope


@dataclass(frozen=True)
class Message:
    """One message to one stakeholder: queued once (by its de-duplication key) and delivered once."""

    kind: str
    recipient: Stakeholder
    subject: str
    body: str
    attachments: list[str] = field(default_factory=list)

    def dedupe_key(self, partnership: str, financial_year: str) -> str:
        """Same content to the same person for the same year = the same message, sent once."""
        digest = hashlib.sha256((self.subject + "\n" + self.body).encode("utf-8")).hexdigest()[:16]
        return f"{partnership}:{financial_year}:{self.kind}:{self.recipient.id}:{digest}"


@task(name="queue-messages", cache_policy=NO_CACHE)
def queue_messages(ctx: CycleContext, messages: list[Message]) -> int:
    """Write messages to the outbox; one already there (same person, year, kind and content) is skipped."""
    added = 0
    with session_scope(ctx.database_url) as session:
        for message in messages:
            added += repository.enqueue_message(
                session,
                {
                    "partnership": ctx.partnership_id,
                    "dedupe_key": message.dedupe_key(ctx.partnership_id, ctx.year_label),
                    "kind": message.kind,
                    "recipient_id": message.recipient.id,
                    "recipient_email": message.recipient.email,
                    "subject": message.subject,
                    "body_text": message.body,
                    "attachments": message.attachments,
                    "status": "pending",
                },
            )
    return added


@task(name="deliver-outbox", cache_policy=NO_CACHE)
def deliver_outbox(ctx: CycleContext) -> list[dict]:
    """Send every pending message: over SMTP when configured, else as .eml files in the outbox folder.

    Each message is marked delivered in its own transaction right after it is sent, so a re-run never
    sends it again; a failure is recorded on the message and retried on the next run.
    """
    settings = ctx.settings
    channel = "smtp" if settings.smtp_host else "file"
    report = []
    with session_scope(ctx.database_url) as session:
        pending = [(m.id, m.dedupe_key, m.recipient_email, m.subject, m.body_text, m.attachments, m.kind, m.recipient_id)
                   for m in repository.pending_messages(session, ctx.partnership_id)]
    for message_id, key, email, subject, body, attachments, kind, recipient_id in pending:
        try:
            message = build_email(
                sender=settings.mail_from,
                recipient=email,
                subject=subject,
                body=body,
                attachments=list(attachments or []),
                dedupe_key=key,
            )
            if channel == "smtp":
                reference = send_smtp(message, settings)
            else:
                name = f"{message_id:06d}-{kind}-{recipient_id}"
                reference = write_eml(message, settings.outbox_dir / ctx.partnership_id, re.sub(r"[^a-z0-9-]", "-", name))
            status, error = "sent", None
        except (OSError, ValueError) as exc:  # network, SMTP refusal, missing attachment
            reference, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
        with session_scope(ctx.database_url) as session:
            row = session.get(OutboxMessage, message_id)
            row.attempts += 1
            row.status = status
            row.last_error = error
            if status == "sent":
                row.delivered_at = utc_now()
                row.delivery_channel = channel
                row.delivery_ref = reference
        report.append({"to": email, "kind": kind, "subject": subject, "status": status, "channel": channel,
                       "reference": reference or error})
    return report
