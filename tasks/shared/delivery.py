"""Delivery channels for outbox messages: SMTP when configured, .eml files otherwise."""

from __future__ import annotations

import mimetypes
import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from tasks.shared.settings import Settings


def build_email(
    *, sender: str, recipient: str, subject: str, body: str, attachments: list[str], dedupe_key: str
) -> EmailMessage:
    """An RFC 5322 message; the Message-ID derives from the dedupe key so a resend is recognisable."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    token = re.sub(r"[^A-Za-z0-9.-]+", ".", dedupe_key)
    message["Message-ID"] = f"<{token}@dutycycle>" if token else make_msgid()
    message.set_content(body)
    for item in attachments:
        path = Path(item)
        if not path.is_file():
            raise FileNotFoundError(f"attachment {path} does not exist")
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def send_smtp(message: EmailMessage, settings: Settings) -> str:
    """Send through the configured SMTP server; returns the Message-ID as the delivery reference."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as server:
        if settings.smtp_starttls:
            server.starttls()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            server.login(settings.smtp_username, password)
        server.send_message(message)
    return str(message["Message-ID"])


def write_eml(message: EmailMessage, folder: Path, name: str) -> str:
    """Without SMTP, keep the message as an .eml file a person can open in any mail client."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.eml"
    target.write_bytes(bytes(message))
    return str(target)
