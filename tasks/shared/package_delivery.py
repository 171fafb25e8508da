"""Delivery of an approved package to its receiver, exactly once: HTTPS upload, e-mail, or a file-drop folder.

How "exactly once" is kept (the outbox's claim pattern, tasks/shared/outbox.py):
1. **One row per version.** A delivery row is keyed by its idempotency key, ``<partnership>-s<submission id>-<sha256>``
   (a unique constraint): the same approved version can never get a second row.
2. **Claimed before sending.** One UPDATE takes the row (status ``sending``, a claim token naming host and process),
   committed before a byte leaves. A delivered row is never claimed again. A ``sending`` row is taken over only when
   its claimant died: a process on this machine that no longer exists, or a claim older than
   ``delivery_lease_seconds``.
3. **Resent only with the same key.** HTTPS sends the ``Idempotency-Key`` header, so the receiver keeps one copy of a
   resend after a crash (a receiver that honours the key); e-mail keeps one Message-ID; a file drop writes to a
   temporary name and renames it into place, and a file already there with the same checksum counts as delivered.
4. **Receipt recorded** by the claimant: HTTP status, the receiver's id and a digest of its answer; the SMTP reply
   and Message-ID; the file's path.
What it cannot cover: an SMTP server that took the message before the process died (no way to ask it): the resend
carries the same Message-ID, as the outbox does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update

from tasks.shared.atomic_file import sweep_orphans_of, write_atomically
from tasks.shared.config import EmailDelivery, FileDrop, HttpsUpload
from tasks.shared.delivery import (
    DeliveryError,
    Envelope,
    build_email,
    message_id_for,
    send_smtp,
    smtp_password,
    write_eml,
)
from tasks.shared.orphans import claimant_is_dead
from tasks.shared.settings import Settings
from tasks.shared.storage.models import Delivery, utc_now
from tasks.shared.storage.session import get_engine, insert_new, session_scope

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


def idempotency_key(partnership: str, submission_id: int, package_sha256: str) -> str:
    """The same on every attempt of one approved version: the receiver dedupes on it."""
    return f"{partnership}-s{submission_id}-{package_sha256}"


def target_of(config: HttpsUpload | EmailDelivery | FileDrop, settings: Settings) -> str:
    if isinstance(config, HttpsUpload):
        return config.url
    if isinstance(config, EmailDelivery):
        return config.to
    return str(drop_folder(config, settings))


def drop_folder(config: FileDrop, settings: Settings) -> Path:
    return config.folder if config.folder.is_absolute() else settings.data_dir / config.folder


def open_delivery(url: str, partnership: str, submission_id: int, sha: str, adapter: str, target: str) -> int:
    """The delivery row of an approved version, created once (a re-run, or a second worker at the same moment,
    finds the same row)."""
    key = idempotency_key(partnership, submission_id, sha)
    with session_scope(url) as session:
        new_id = insert_new(
            session, Delivery.__table__,
            dict(partnership=partnership, submission_id=submission_id, package_sha256=sha, idempotency_key=key,
                 adapter=adapter, target=target, status=PENDING, attempts=0),
            ["idempotency_key"],
        )
        if new_id is not None:
            return new_id
        return session.scalar(select(Delivery.id).where(Delivery.idempotency_key == key))


def claim_delivery(url: str, delivery_id: int, token: str, settings: Settings) -> bool:
    """Take the row for sending, atomically, committed before anything is sent; False when it is delivered or a
    live process holds it."""
    now = utc_now()
    stale = now - dt.timedelta(seconds=settings.delivery_lease_seconds)
    with session_scope(url) as session:
        current = session.get(Delivery, delivery_id)
        holder = current.claimed_by if current is not None and current.status == SENDING else None
    takeover = Delivery.claimed_by == holder if holder and claimant_is_dead(holder) else False
    statement = (
        update(Delivery)
        .where(Delivery.id == delivery_id,
               or_(Delivery.status.in_([PENDING, FAILED]),
                   and_(Delivery.status == SENDING, or_(Delivery.claimed_at < stale, takeover))))
        .values(status=SENDING, claimed_by=token, claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    with get_engine(url).begin() as connection:
        return connection.execute(statement).rowcount == 1


def record_delivery(url: str, delivery_id: int, token: str, values: dict[str, Any]) -> bool:
    statement = (update(Delivery).where(Delivery.id == delivery_id, Delivery.claimed_by == token,
                                        Delivery.status == SENDING)
                 .values(**values).execution_options(synchronize_session=False))
    with get_engine(url).begin() as connection:
        return connection.execute(statement).rowcount == 1


def delivery_row(url: str, delivery_id: int) -> dict[str, Any]:
    with session_scope(url) as session:
        row = session.get(Delivery, delivery_id)
        return {c.name: getattr(row, c.name) for c in Delivery.__table__.columns}


# ---------------------------------------------------------------- the adapters


def upload_https(session: Any, url: str, data: bytes, filename: str, key: str, sha: str,
                 token: str | None = None) -> dict[str, Any]:
    """POST the package with its idempotency key and, when set, ``Authorization: Bearer <token>``
    (DUTYCYCLE_UPLOAD_TOKEN); the session retries 429, 5xx and timeouts with backoff, always with the same key.
    The receipt is the status, the receiver's id and a digest of its answer: never the token."""
    import requests

    headers = {"Idempotency-Key": key, "Content-Type": "application/zip", "X-Package-Sha256": sha,
               "Content-Disposition": f'attachment; filename="{filename}"'}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = session.post(url, data=data, headers=headers)
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"upload to {url} failed: {type(exc).__name__}", maybe_delivered=True) from exc
    body = response.content
    if response.status_code in (401, 403):
        # the receiver's answer is not quoted: it is no use to the analyst and might echo what was sent
        why = ("no DUTYCYCLE_UPLOAD_TOKEN is set" if not token
               else "it refused the token in DUTYCYCLE_UPLOAD_TOKEN (wrong or expired)")
        raise DeliveryError(f"upload to {url} was refused ({response.status_code} "
                            f"{'Unauthorized' if response.status_code == 401 else 'Forbidden'}): {why}; nothing "
                            "was delivered")
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"upload to {url} answered {response.status_code}: {body[:200]!r}",
                            maybe_delivered=response.status_code >= 500)
    try:
        receiver_id = str(json.loads(body).get("id", ""))
    except (ValueError, AttributeError):
        receiver_id = ""
    return {"adapter": "https_upload", "url": url, "status": response.status_code, "id": receiver_id,
            "body_sha256": hashlib.sha256(body).hexdigest()}


def send_by_email(settings: Settings, to: str, sender: str, reply_to: str | None, subject: str, text: str,
                  package: Path, key: str) -> dict[str, Any]:
    """Mail the package as an attachment (SMTP, else an .eml file), with a Message-ID derived from the key."""
    message_id = message_id_for(key, settings.mail_from)
    email = build_email(Envelope(message_id=message_id, sender=sender, reply_to=reply_to, recipient=to,
                                 subject=subject, text=text, html=None, attachments=[str(package)]))
    if not settings.smtp_host:
        path = write_eml(email, settings.outbox_dir / "submissions", hashlib.sha256(key.encode()).hexdigest()[:24])
        return {"adapter": "email", "to": to, "message_id": message_id, "eml": path}
    reply = send_smtp(email, settings, smtp_password(settings) or "")
    return {"adapter": "email", "to": to, "message_id": message_id, "smtp": reply}


def drop_file(folder: Path, filename: str, data: bytes, sha: str) -> dict[str, Any]:
    """Write the package into the drop folder atomically (temporary dot-name, then rename); a file already there with
    the same checksum is the earlier delivery, one with other content is refused (never overwritten)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    if target.exists():
        existing = hashlib.sha256(target.read_bytes()).hexdigest()
        if existing == hashlib.sha256(data).hexdigest():
            return {"adapter": "file_drop", "path": str(target), "sha256": sha, "already_there": True}
        raise DeliveryError(f"{target} already exists with other content (sha256 {existing[:12]}): not overwritten")
    sweep_orphans_of(target)  # a half-written drop of this file whose process was killed (never others' files)
    write_atomically(target, data)  # the collector sees the whole file or none (a dot-name until it is whole)
    return {"adapter": "file_drop", "path": str(target), "sha256": sha, "already_there": False}
