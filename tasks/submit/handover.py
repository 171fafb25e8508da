"""Sign-off and delivery of a recorded submission: the decision (the UI's form or the terminal's), then the approved
version handed over exactly once by the partnership's configured adapter, and the deadline marked met."""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tasks.shared import package_delivery as pd_
from tasks.shared.config import EmailDelivery, FileDrop, HttpsUpload
from tasks.shared.context import CycleContext
from tasks.shared.delivery import DeliveryError
from tasks.shared.orphans import claim_token
from tasks.shared.outbox import sender_of
from tasks.shared.signoff import (
    APPROVED,
    AWAITING,
    REJECTED,
    VIA_TERMINAL,
    Decision,
    SignOffInput,
    allowed_approvers,
    approver_refusal,
    decide_from_terminal,
    decision_for,
    record_decision,
)
from tasks.shared.storage import repository
from tasks.shared.storage.models import DeadlineRow, Delivery, Submission
from tasks.shared.storage.session import session_scope
from tasks.submit.package import identity_of, with_approval
from tasks.submit.submissions import DELIVERED

KIND = "submission"


class HandoverError(ValueError):
    """A sign-off or delivery that cannot go ahead (one line, nothing sent)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to the approved version: delivered (now or before), or not (why)."""

    delivered: bool
    adapter: str
    target: str
    delivered_at: dt.datetime | None
    receipt: dict[str, Any]
    note: str

    def sentence(self) -> str:
        if not self.delivered:
            return f"not delivered: {self.note}"
        return f"delivered by {self.adapter} to {self.target} at {self.delivered_at:%Y-%m-%d %H:%M} UTC"


def approvers_line(ctx: CycleContext) -> str:
    return "; ".join(f"{name} ({role})" for name, role in allowed_approvers(ctx.config, KIND)) or "nobody configured"


def approve_command(submission_id: int, partnership: str) -> str:
    # the submission id alone names the partnership and year; ``partnership`` is kept for the callers' symmetry
    return (f"dutycycle approve {submission_id} --name 'NAME' --role 'ROLE' --comment '...' "
            "(add --reject to reject)")


def apply_decision(url: str, submission_id: int, decision: Decision) -> None:
    """Set the submission's status from the decision on its current version (a delivered one stays delivered)."""
    with session_scope(url) as session:
        row = session.get(Submission, submission_id)
        if row.package_sha256 != decision.package_sha256 or row.status == DELIVERED:
            return
        row.status = APPROVED if decision.approved else REJECTED
        row.waiting_flow_run_id = None


def decide(ctx: CycleContext, submission_id: int, answer: SignOffInput, via: str) -> tuple[Decision, bool]:
    """Check the approver against the configuration and record the decision on the submission's current version."""
    with session_scope(ctx.database_url) as session:
        row = session.get(Submission, submission_id)
        if row is None or row.partnership != ctx.partnership_id:
            raise HandoverError(f"no submission {submission_id} of {ctx.partnership_id}")
        sha, status = row.package_sha256, row.status
    refusal = approver_refusal(ctx.config, KIND, answer.approver_name, answer.approver_role, answer.decision,
                               answer.comment)
    if refusal:
        raise HandoverError(f"refused: {refusal}")
    existing = decision_for(ctx.database_url, KIND, submission_id, sha)
    if existing is None and status != AWAITING:
        raise HandoverError(f"submission {submission_id} is {status}: only a package awaiting approval can be "
                            "decided on" + (" (`dutycycle resubmit` first)" if status.startswith("held") else ""))
    decision, created = record_decision(ctx.database_url, ctx.partnership_id, KIND, submission_id, sha, answer, via,
                                        ctx.flow_run_id)
    apply_decision(ctx.database_url, submission_id, decision)
    return decision, created


def approve_from_terminal(ctx: CycleContext, submission_id: int, answer: SignOffInput) -> tuple[Decision, str | None]:
    """The terminal's sign-off: record it and hand it to the paused run waiting for it (as the UI does); returns
    the decision and None when a run took it, else why no run did (the caller then delivers)."""
    with session_scope(ctx.database_url) as session:
        row = session.get(Submission, submission_id)
        waiting = row.waiting_flow_run_id if row is not None else None
    return decide_from_terminal(waiting, lambda: decide(ctx, submission_id, answer, VIA_TERMINAL)[0], answer,
                                "package")


def _adapter_name(config: HttpsUpload | EmailDelivery | FileDrop) -> str:
    return config.delivery


def delivered_file_name(ctx: CycleContext, submission_id: int, deadline_id: str, sha: str) -> str:
    return f"{ctx.partnership_id}-{deadline_id}-{ctx.year_label.replace('/', '-')}-s{submission_id}-{sha[:12]}.zip"


def _send(ctx: CycleContext, config: Any, package: Path, data: bytes, name: str, key: str, sha: str,
          deadline_title: str) -> dict[str, Any]:
    if isinstance(config, HttpsUpload):
        from tasks.shared.http import build_session

        token = ctx.settings.upload_token.get_secret_value() if ctx.settings.upload_token else None
        return pd_.upload_https(build_session(ctx.settings), config.url, data, name, key, sha, token)
    if isinstance(config, EmailDelivery):
        sender, reply_to = sender_of(ctx.config, ctx.settings)
        subject = f"{ctx.config.partnership.name}: {deadline_title} {ctx.year_label}"
        text = (f"{ctx.config.partnership.name} submits its {deadline_title} for {ctx.year_label}.\n"
                f"Package: {name} (attached), sha256 {sha}.\n")
        return pd_.send_by_email(ctx.settings, config.to, sender, reply_to, subject, text, package, key)
    return pd_.drop_file(pd_.drop_folder(config, ctx.settings), name, data, sha)


def approval_record(decision: Decision) -> dict[str, Any]:
    """The approval as the delivered package's approval.json states it."""
    return {"decision": decision.decision, "approver_name": decision.approver_name,
            "approver_role": decision.approver_role, "comment": decision.comment, "via": decision.via,
            "decided_at": decision.decided_at, "approved_identity_sha256": decision.package_sha256}


def deliver_approved(ctx: CycleContext, submission_id: int) -> DeliveryOutcome:
    """Deliver the approved version of a submission exactly once and mark its deadline met; a delivered one is
    not sent again; a package file that no longer has the approved checksum is refused (it needs a new approval)."""
    url = ctx.database_url
    with session_scope(url) as session:
        row = session.get(Submission, submission_id)
        deadline = session.get(DeadlineRow, row.deadline_row_id)
        sha, path, status = row.package_sha256, Path(row.package_path), row.status
        deadline_id, deadline_title, period = deadline.deadline_id, deadline.title, deadline.period
    decision = decision_for(url, KIND, submission_id, sha)
    if decision is None or not decision.approved or status not in (APPROVED, DELIVERED):
        raise HandoverError(f"submission {submission_id} is {status}: only an approved package is delivered")
    config = ctx.config.partnership.submission
    if config is None:
        raise HandoverError("approved, but partnership.yaml says nowhere to deliver it: add submission: {delivery: "
                            "https_upload | email | file_drop, ...}")
    data = path.read_bytes() if path.is_file() else b""
    try:
        identity = identity_of(data)  # the package's identity: its manifest, which lists every member's checksum
    except (ValueError, KeyError, zipfile.BadZipFile):
        identity = None
    if identity != sha:
        raise HandoverError(f"the package {path} no longer has the approved checksum {sha[:12]}: it changed after "
                            "approval and needs a new one (run the submit stage)")
    # what leaves is the approved package plus its approval.json: the receiver sees who approved what, and when
    data = with_approval(data, approval_record(decision))
    adapter, target = _adapter_name(config), pd_.target_of(config, ctx.settings)
    delivery_id = pd_.open_delivery(url, ctx.partnership_id, submission_id, sha, adapter, target)
    token = claim_token()
    if pd_.claim_delivery(url, delivery_id, token, ctx.settings):
        key = pd_.idempotency_key(ctx.partnership_id, submission_id, sha)
        name = delivered_file_name(ctx, submission_id, deadline_id, sha)
        delivered = ctx.settings.submissions_dir / ctx.partnership_id / "delivered" / name
        delivered.parent.mkdir(parents=True, exist_ok=True)
        delivered.write_bytes(data)  # the very bytes sent, kept for the audit (and attached when e-mailed)
        try:
            receipt = _send(ctx, config, delivered, data, name, key, sha, deadline_title)
        except DeliveryError as exc:
            pd_.record_delivery(url, delivery_id, token, {"status": pd_.FAILED, "last_error": str(exc)})
            raise HandoverError(f"delivery by {adapter} to {target} failed: {exc} (the next run retries it with "
                                "the same idempotency key)") from exc
        now = pd_.utc_now()
        pd_.record_delivery(url, delivery_id, token, {"status": pd_.DELIVERED, "delivered_at": now,
                                                      "receipt": receipt, "last_error": None})
    current = pd_.delivery_row(url, delivery_id)
    if current["status"] != pd_.DELIVERED:
        return DeliveryOutcome(False, adapter, target, None, {}, f"another run is delivering it ({current['status']})")
    with session_scope(url) as session:
        session.get(Submission, submission_id).status = DELIVERED
        repository.mark_deadline_met(
            session, ctx.partnership_id, deadline_id, period, current["delivered_at"].date(),
            f"submission {submission_id} (sha256 {sha[:12]}) delivered by {adapter} to {target}")
    return DeliveryOutcome(True, adapter, target, current["delivered_at"], current["receipt"] or {}, "")


def deliveries_of(url: str, partnership: str) -> list[dict[str, Any]]:
    """Every delivery of the partnership's submissions, oldest first (which version went when)."""
    with session_scope(url) as session:
        rows = session.scalars(select(Delivery).where(Delivery.partnership == partnership).order_by(Delivery.id))
        return [{c.name: getattr(r, c.name) for c in Delivery.__table__.columns} for r in rows]


def delivered_versions(url: str, partnership: str) -> list[str]:
    """One line per delivered submission version: deadline, period, submission, checksum, when, how, and the reason
    of a resubmission."""
    lines = []
    with session_scope(url) as session:
        rows = session.execute(
            select(Delivery, Submission, DeadlineRow)
            .join(Submission, Delivery.submission_id == Submission.id)
            .join(DeadlineRow, Submission.deadline_row_id == DeadlineRow.id)
            .where(Delivery.partnership == partnership, Delivery.status == pd_.DELIVERED)
            .order_by(Delivery.delivered_at)
        ).all()
        for delivery, submission, deadline in rows:
            again = (f", resubmission of {submission.resubmits}: {submission.resubmit_reason}"
                     if submission.resubmits else "")
            lines.append(f"{deadline.deadline_id} {deadline.period}: submission {submission.id} (sha256 "
                         f"{delivery.package_sha256[:12]}) delivered {delivery.delivered_at:%Y-%m-%d %H:%M} UTC by "
                         f"{delivery.adapter} to {delivery.target}{again}")
    return lines
