"""E-mail over STARTTLS (with login) and implicit TLS to a real aiosmtpd server on 127.0.0.1 whose certificate the
sender trusts through DUTYCYCLE_SMTP_CA_FILE; an untrusted certificate is refused, nothing is sent in clear."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tasks.shared.context import open_cycle
from tasks.shared.outbox import Message, deliver_outbox, queue_messages
from tasks.shared.settings import reset_settings_cache
from tests.servers.mail import Inbox, SmtpServer


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _send_one(monkeypatch, **env: str) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(f"DUTYCYCLE_{key.upper()}", value)
    reset_settings_cache()
    ctx = open_cycle("castle-point-rochford", "2022/23")
    queue_messages.fn(ctx, [Message(kind="metric_pack", recipient=ctx.config.stakeholders[0], subject="TLS", body="b")])
    [report] = deliver_outbox.fn(ctx)
    return report


def test_starttls_with_login(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    cert, key = _certificate(tmp_path)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    inbox = Inbox()
    with SmtpServer(inbox, tls_context=_server_context(cert, key), require_starttls=True,
                    authenticator=authenticator, auth_required=True) as server:
        report = _send_one(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(server.port), smtp_security="starttls",
                           smtp_ca_file=str(cert), smtp_username="svd", smtp_password="s3cret")
    assert report["status"] == "sent" and len(inbox.messages) == 1
    assert logins == [(b"svd", b"s3cret")]


def test_implicit_tls(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    cert, key = _certificate(tmp_path)
    inbox = Inbox()
    with SmtpServer(inbox, ssl_context=_server_context(cert, key)) as server:
        report = _send_one(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(server.port), smtp_security="ssl",
                           smtp_ca_file=str(cert))
    assert report["status"] == "sent" and len(inbox.messages) == 1


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_untrusted_certificate_is_refused(data_dir: Path, tmp_path: Path, monkeypatch, security: str) -> None:
    cert, key = _certificate(tmp_path)
    inbox = Inbox()
    options = {"tls_context": _server_context(cert, key)} if security == "starttls" else {
        "ssl_context": _server_context(cert, key)}
    with SmtpServer(inbox, **options) as server:
        report = _send_one(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(server.port), smtp_security=security)
    assert report["status"] == "failed" and "CERTIFICATE_VERIFY_FAILED" in report["reference"]
    assert inbox.messages == []
