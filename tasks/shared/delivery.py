"""Delivery channels for outbox messages: e-mail over SMTP (or .eml files without a server), Teams and Slack webhooks.

Each sender says, when it fails, whether the receiver may nevertheless have the message (``maybe_delivered``):
an SMTP connection dropped or timed out after the message's DATA was sent, or a webhook answering 5xx, may have
been delivered; a refusal (5xx/4xx reply to MAIL, RCPT or DATA, connection refused, a webhook's 4xx) was not.
"""

from __future__ import annotations

import hashlib
import mimetypes
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, getaddresses
from pathlib import Path
from typing import Any

import requests

from tasks.shared.settings import Settings

SECRET_BLOCK_PREFIX = "dutycycle-webhook-"


class DeliveryError(Exception):
    """A delivery that did not succeed; ``maybe_delivered`` when the receiver may have it all the same."""

    def __init__(self, message: str, *, maybe_delivered: bool = False):
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


def message_id_for(dedupe_key: str, sender_address: str) -> str:
    """A Message-ID that is the same on every attempt of one outbox message (so a resend is recognisable)."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    domain = sender_address.rpartition("@")[2] or "dutycycle.invalid"
    return f"<{digest}.dutycycle@{domain}>"


@dataclass(frozen=True)
class Envelope:
    """What every channel needs to deliver one outbox row."""

    message_id: str
    sender: str
    reply_to: str | None
    recipient: str
    subject: str
    text: str
    html: str | None
    attachments: list[str]


def build_email(envelope: Envelope, date: str | None = None) -> EmailMessage:
    """An RFC 5322 message: plain text and HTML alternatives, attachments, sender name, Reply-To, Date, Message-ID."""
    message = EmailMessage()
    message["From"] = envelope.sender
    message["To"] = envelope.recipient
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["Subject"] = envelope.subject
    message["Date"] = date or formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = envelope.message_id
    message.set_content(envelope.text)
    if envelope.html:
        message.add_alternative(envelope.html, subtype="html")
    for item in envelope.attachments:
        path = Path(item)
        if not path.is_file():
            raise DeliveryError(f"attachment {path} does not exist")
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        # every text file we attach (CSV, the quality pages) is UTF-8: said so, a mail client shows "✗ Failed",
        # not the replacement characters a text part without a charset (read as ASCII) gives
        params = {"charset": "utf-8"} if maintype == "text" else None
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name,
                               params=params)
    return message


def _smtp_connection(settings: Settings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_mode == "ssl":
        return smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=context)
    server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    if settings.smtp_mode == "starttls":
        server.starttls(context=context)
    return server


def send_smtp(message: EmailMessage, settings: Settings, password: str | None) -> str:
    """Send through the configured SMTP server (plain, STARTTLS or SSL); returns the server's acceptance reply.

    Step by step rather than ``send_message`` so a failure can be placed: before DATA nothing was delivered;
    a dropped connection or timeout after DATA was sent leaves the outcome unknown (``maybe_delivered``).
    """
    sender = getaddresses([str(message["From"])])[0][1]
    recipients = [address for _, address in getaddresses([str(message["To"])])]
    payload = message.as_bytes(policy=SMTP_POLICY)
    try:
        server = _smtp_connection(settings)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc
    try:
        try:
            server.ehlo_or_helo_if_needed()
            if settings.smtp_username:
                server.login(settings.smtp_username, password or "")
            code, reply = server.mail(sender)
            if code != 250:
                raise DeliveryError(f"SMTP refused the sender: {code} {reply.decode(errors='replace')}")
            for address in recipients:
                code, reply = server.rcpt(address)
                if code not in (250, 251):
                    raise DeliveryError(f"SMTP refused {address}: {code} {reply.decode(errors='replace')}")
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP failed before the message was sent: {type(exc).__name__}: {exc}") from exc
        try:
            code, reply = server.data(payload)
        except smtplib.SMTPDataError as exc:  # an explicit refusal: the server did not take it
            raise DeliveryError(f"SMTP refused the message: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"SMTP outcome unknown (connection lost or timed out after the message was sent): "
                f"{type(exc).__name__}: {exc}",
                maybe_delivered=True,
            ) from exc
        if code != 250:  # smtplib returns the reply to the message itself rather than raising
            raise DeliveryError(f"SMTP refused the message: {code} {reply.decode(errors='replace')}")
        return f"{message['Message-ID']} accepted: {code} {reply.decode(errors='replace')}"
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()  # the server already hung up; the outcome was decided above


def write_eml(message: EmailMessage, folder: Path, name: str) -> str:
    """Without SMTP, keep the message as an .eml file a person can open in any mail client."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.eml"
    target.write_bytes(bytes(message))
    return str(target)


def webhook_payload(channel: str, title: str, text: str) -> dict[str, Any]:
    """The JSON an incoming webhook expects: a Slack message with blocks, or a Teams Adaptive Card message."""
    if channel == "slack":
        return {
            "text": title,  # the notification preview
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            ],
        }
    if channel == "teams":
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
                            {"type": "TextBlock", "text": text, "wrap": True},
                        ],
                    },
                }
            ],
        }
    raise ValueError(f"unknown webhook channel {channel!r}")


def post_webhook(session: requests.Session, url: str, payload: dict[str, Any], idempotency_key: str) -> str:
    """POST to an incoming webhook with an idempotency key (the session retries 429 and 5xx with backoff)."""
    try:
        response = session.post(
            url,
            json=payload,
            headers={"Idempotency-Key": idempotency_key, "X-Dutycycle-Message-Id": idempotency_key},
        )
    except requests.exceptions.ConnectionError as exc:
        # refused before anything was sent, or cut off after: requests cannot tell, so assume the worst
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}", maybe_delivered=True) from exc
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"webhook failed: {type(exc).__name__}", maybe_delivered=True) from exc
    if 200 <= response.status_code < 300:
        return f"webhook answered {response.status_code}"
    # 5xx after every retry: the receiver may have processed it; 4xx (bad URL, 429 after every retry): it did not
    raise DeliveryError(
        f"webhook answered {response.status_code}: {response.text[:200]}", maybe_delivered=response.status_code >= 500
    )


def webhook_url(settings: Settings, name: str) -> str:
    """A webhook's URL: DUTYCYCLE_WEBHOOK_<NAME>, else the Prefect Secret block dutycycle-webhook-<name>."""
    url = settings.webhook_url(name)
    if url:
        return url
    block = SECRET_BLOCK_PREFIX + name
    try:
        from prefect.blocks.system import Secret

        return str(Secret.load(block).get())
    except Exception as exc:  # noqa: BLE001 - any failure to find the block means "not configured"
        variable = "DUTYCYCLE_WEBHOOK_" + name.upper().replace("-", "_")
        raise DeliveryError(f"no URL for webhook '{name}': set {variable} or create the Prefect Secret block "
                            f"'{block}' ({type(exc).__name__})") from exc


def smtp_password(settings: Settings) -> str | None:
    """The SMTP password: DUTYCYCLE_SMTP_PASSWORD, else the Prefect Secret block DUTYCYCLE_SMTP_PASSWORD_BLOCK names."""
    if settings.smtp_password is not None:
        return settings.smtp_password.get_secret_value()
    if settings.smtp_password_block:
        from prefect.blocks.system import Secret

        return str(Secret.load(settings.smtp_password_block).get())
    return None
