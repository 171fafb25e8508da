"""Delivery adapters and the exactly-once claim: file drop, e-mail, HTTPS upload with an idempotency key."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.shared import package_delivery as delivery
from tasks.shared.delivery import DeliveryError
from tasks.shared.orphans import claim_token
from tasks.shared.settings import get_settings
from tasks.shared.signoff import SignOffInput
from tasks.shared.storage.models import DeadlineRow, Submission
from tasks.shared.storage.session import session_scope
from tests.servers.mail import Inbox, SmtpServer
from tests.servers.upload import UploadReceiver
from tests.unit.report_helpers import demo_context

DATA = b"PK-not-really-a-zip" * 100
SHA = hashlib.sha256(DATA).hexdigest()


def test_a_file_drop_is_atomic_and_the_same_file_again_counts_as_delivered(tmp_path: Path) -> None:
    first = delivery.drop_file(tmp_path / "drop", "p.zip", DATA, SHA)
    assert first["already_there"] is False and (tmp_path / "drop" / "p.zip").read_bytes() == DATA
    assert [p.name for p in (tmp_path / "drop").iterdir()] == ["p.zip"]  # no temporary file left behind
    assert delivery.drop_file(tmp_path / "drop", "p.zip", DATA, SHA)["already_there"] is True


def test_a_file_drop_never_overwrites_other_content(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(b"something else")
    with pytest.raises(DeliveryError, match="already exists with other content"):
        delivery.drop_file(tmp_path, "p.zip", DATA, SHA)
    assert (tmp_path / "p.zip").read_bytes() == b"something else"


def test_an_upload_resent_with_the_same_key_is_stored_once(tmp_path: Path, data_dir: Path) -> None:
    from tasks.shared.http import build_session

    with UploadReceiver(tmp_path / "received", fail_first=1) as receiver:
        session = build_session(get_settings(), backoff_base_seconds=0.01)
        first = delivery.upload_https(session, receiver.url, DATA, "p.zip", "k-1", SHA)
        again = delivery.upload_https(session, receiver.url, DATA, "p.zip", "k-1", SHA)
        other = delivery.upload_https(session, receiver.url, DATA, "p.zip", "k-2", SHA)
    assert [p["answer"] for p in receiver.posts] == [503, 201, 201, 201]  # the 503 was retried with the same key
    assert {p["key"] for p in receiver.posts[:3]} == {"k-1"}
    assert first == again and first["status"] == 201 and first["id"] == "HO-00001"
    assert other["id"] == "HO-00002" and len(receiver.files()) == 2
    assert receiver.files()[0].read_bytes() == DATA


def test_an_email_delivery_carries_the_package_and_a_message_id_from_the_key(tmp_path: Path, data_dir: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.shared.settings import reset_settings_cache

    package = tmp_path / "p.zip"
    package.write_bytes(DATA)
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        monkeypatch.setenv("DUTYCYCLE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", str(server.port))
        reset_settings_cache()
        receipt = delivery.send_by_email(get_settings(), "returns@homeoffice.example.org", "csp@example.org", None,
                                         "Annual review", "attached", package, "k-1")
    [message] = inbox.messages
    assert str(message["Message-ID"]) == receipt["message_id"] and "accepted: 250" in receipt["smtp"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "p.zip" and attachment.get_content() == DATA


# ---------------------------------------------------------------- the claim and the whole handover


def _real_package():
    """A small real package (the delivery checks a package by the identity its manifest states)."""
    import pandas as pd

    from tasks.submit.package import build_package

    table = pd.DataFrame([{"measure": "police_knife_crime", "area_code": "E07000069", "count": "35"}])
    return build_package(table, "<html><body>summary</body></html>", {"partnership": "castle-point-rochford"})


PACKAGE = _real_package()


def _approved_submission(tmp_path: Path, status: str = "approved") -> tuple[int, Path]:
    url = get_settings().resolved_database_url
    package = tmp_path / "package.zip"
    package.write_bytes(PACKAGE.data)
    with session_scope(url) as session:
        deadline = DeadlineRow(partnership="castle-point-rochford", deadline_id="annual-review", period="2022/23",
                               title="Annual review", delivers="annual_review", due_date=dt.date(2024, 1, 31),
                               recipient="Home Office", legal_basis="", source="", confirmed=True)
        session.add(deadline)
        session.flush()
        row = Submission(partnership="castle-point-rochford", financial_year="2022/23", deadline_row_id=deadline.id,
                         package_sha256=PACKAGE.sha256, package_path=str(package), measures_rows=1, validation_status="passed",
                         status="awaiting approval")
        session.add(row)
        session.flush()
        submission_id = row.id
    return submission_id, package


def _approve(ctx, submission_id: int) -> None:
    from tasks.submit.handover import decide

    decide(ctx, submission_id, SignOffInput(approver_name="Sam Taylor", approver_role="Head of Community Safety",
                                            decision="approve", comment="ok"), "terminal")


def test_an_approved_package_is_dropped_once_and_the_deadline_marked_met(tmp_path: Path, data_dir: Path) -> None:
    from tasks.submit.handover import deliver_approved, delivered_versions, deliveries_of

    ctx = demo_context()
    submission_id, _ = _approved_submission(tmp_path)
    _approve(ctx, submission_id)
    first = deliver_approved(ctx, submission_id)
    second = deliver_approved(ctx, submission_id)
    assert first.delivered and second.delivered and first.delivered_at == second.delivered_at
    dropped = list((data_dir / "home-office-drop").iterdir())
    sha = PACKAGE.sha256
    assert [p.name for p in dropped] == [f"castle-point-rochford-annual-review-2022-23-s{submission_id}-{sha[:12]}.zip"]
    [row] = deliveries_of(ctx.database_url, ctx.partnership_id)
    assert row["attempts"] == 1 and row["idempotency_key"] == f"castle-point-rochford-s{submission_id}-{sha}"
    with session_scope(ctx.database_url) as session:
        assert session.get(DeadlineRow, 1).met_on is not None
        assert session.get(Submission, submission_id).status == "delivered"
    assert "delivered" in delivered_versions(ctx.database_url, ctx.partnership_id)[0]


def test_a_package_that_changed_after_approval_is_not_delivered(tmp_path: Path, data_dir: Path) -> None:
    from tasks.submit.handover import HandoverError, deliver_approved

    ctx = demo_context()
    submission_id, package = _approved_submission(tmp_path)
    _approve(ctx, submission_id)
    package.write_bytes(PACKAGE.data.replace(b"summary", b"altered"))  # a member changed, its manifest not
    with pytest.raises(HandoverError, match="changed after approval and needs a new one"):
        deliver_approved(ctx, submission_id)
    assert not (data_dir / "home-office-drop").exists()


def test_a_package_nobody_approved_is_not_delivered(tmp_path: Path, data_dir: Path) -> None:
    from tasks.submit.handover import HandoverError, deliver_approved

    submission_id, _ = _approved_submission(tmp_path)
    with pytest.raises(HandoverError, match="only an approved package is delivered"):
        deliver_approved(demo_context(), submission_id)


def test_a_claim_is_taken_over_only_when_its_process_died(tmp_path: Path, data_dir: Path) -> None:
    settings = get_settings()
    url = settings.resolved_database_url
    submission_id, _ = _approved_submission(tmp_path)
    row_id = delivery.open_delivery(url, "castle-point-rochford", submission_id, SHA, "file_drop", "x")
    assert delivery.open_delivery(url, "castle-point-rochford", submission_id, SHA, "file_drop", "x") == row_id
    live = claim_token()
    assert delivery.claim_delivery(url, row_id, live, settings)
    assert not delivery.claim_delivery(url, row_id, claim_token(), settings)  # this process is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_token = f"{live.split(':')[0]}:{dead.stdout.strip()}:abc"
    with session_scope(url) as session:
        session.get(delivery.Delivery, row_id).claimed_by = dead_token
    assert delivery.claim_delivery(url, row_id, claim_token(), settings)  # its claimant is gone
    assert delivery.delivery_row(url, row_id)["attempts"] == 2
    assert os.getpid() != int(dead.stdout)


# ---------------------------------------------------------------- the upload's bearer token

TOKEN = "tok-3f9c1e77-never-in-a-receipt"


def _https_context(url: str):
    """The demo's context delivering by HTTPS upload to ``url`` (the demo itself drops files in a folder)."""
    import dataclasses

    from tasks.shared.config import HttpsUpload

    ctx = demo_context()
    partnership = ctx.config.partnership.model_copy(
        update={"submission": HttpsUpload(delivery="https_upload", url=url)})
    return dataclasses.replace(ctx, config=ctx.config.model_copy(update={"partnership": partnership}))


@pytest.mark.parametrize(("sent", "says"), [
    (None, "refused (401 Unauthorized): no DUTYCYCLE_UPLOAD_TOKEN is set; nothing was delivered"),
    ("wrong-token", "refused (401 Unauthorized): it refused the token in DUTYCYCLE_UPLOAD_TOKEN (wrong or expired)"),
])
def test_an_upload_without_the_right_token_is_refused_clearly_and_leaves_no_receipt(
    sent, says, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tasks.shared.settings import reset_settings_cache
    from tasks.submit.handover import HandoverError, deliver_approved, deliveries_of

    with UploadReceiver(tmp_path / "received", token=TOKEN) as receiver:
        if sent:
            monkeypatch.setenv("DUTYCYCLE_UPLOAD_TOKEN", sent)
        reset_settings_cache()
        ctx = _https_context(receiver.url)
        submission_id, _ = _approved_submission(tmp_path)
        _approve(ctx, submission_id)
        with pytest.raises(HandoverError) as refused:
            deliver_approved(ctx, submission_id)
    message = str(refused.value)
    assert says in message and "\n" not in message
    assert [p["answer"] for p in receiver.posts] == [401] and receiver.stored == {} and receiver.files() == []
    [row] = deliveries_of(ctx.database_url, ctx.partnership_id)
    assert row["status"] == "failed" and row["receipt"] is None and row["delivered_at"] is None
    assert says in row["last_error"]
    with session_scope(ctx.database_url) as session:
        assert session.get(Submission, submission_id).status == "approved"  # not delivered, not marked so
    if sent:
        assert sent not in message and sent not in caplog.text


def test_the_right_token_is_sent_as_a_bearer_header_and_kept_out_of_the_receipt_and_logs(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from tasks.shared.settings import reset_settings_cache
    from tasks.shared.storage.models import Delivery
    from tasks.submit.handover import deliver_approved

    caplog.set_level(logging.DEBUG)
    with UploadReceiver(tmp_path / "received", token=TOKEN, fail_first=1) as receiver:
        monkeypatch.setenv("DUTYCYCLE_UPLOAD_TOKEN", TOKEN)
        reset_settings_cache()
        ctx = _https_context(receiver.url)
        submission_id, _ = _approved_submission(tmp_path)
        _approve(ctx, submission_id)
        outcome = deliver_approved(ctx, submission_id)
    assert outcome.delivered and [p["answer"] for p in receiver.posts] == [503, 201]
    assert len(receiver.stored) == 1
    with session_scope(ctx.database_url) as session:
        [row] = session.query(Delivery).all()
        stored = repr({c.name: getattr(row, c.name) for c in Delivery.__table__.columns})
    assert row.receipt["id"] == "HO-00001"
    assert TOKEN not in stored and TOKEN not in repr(outcome) and TOKEN not in caplog.text
    assert TOKEN not in repr(get_settings())  # a SecretStr: printing the settings shows ******
    kept = list((data_dir / "submissions").rglob("*.zip"))
    assert kept and all(TOKEN.encode() not in p.read_bytes() for p in kept)
