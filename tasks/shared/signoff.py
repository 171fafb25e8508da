"""Sign-off: nothing leaves the system (a submission, a board pack, a publication) without a recorded decision by
a person the partnership's configuration allows to approve that kind of output, on that exact version (checksum).

Two ways to decide, one rule and one record:
- **Prefect UI**: on a Prefect server the run pauses (``pause_flow_run(wait_for_input=SignOffInput)``) and the UI
  shows the form; the decision comes back to the run, which checks the approver and records it.
- **Terminal**: ``dutycycle approve <submission> --name ... --role ... [--reject] --comment ...`` checks the
  approver, records the decision and resumes the paused run through the same API the UI uses
  (``resume_flow_run(flow_run_id, run_input=...)``) when one is waiting.

A decision is kept per (kind, subject, checksum): a package that changes is a new version and needs a new decision.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import select

from tasks.shared.config import PartnershipConfig
from tasks.shared.context import CycleContext
from tasks.shared.run_log import say
from tasks.shared.runs import fail_stage
from tasks.shared.settings import Settings
from tasks.shared.storage.models import SignOff
from tasks.shared.storage.session import insert_new, session_scope

APPROVE, REJECT = "approve", "reject"
VIA_UI, VIA_TERMINAL = "prefect-ui", "terminal"
# The statuses every signed-off output passes through; each kind adds its own (a submission: held, delivered;
# a board pack: released)
AWAITING, APPROVED, REJECTED, SUPERSEDED = "awaiting approval", "approved", "rejected", "superseded"


class SignOffInput(RunInput):
    """The sign-off form the Prefect UI shows while a run waits for approval."""

    approver_name: str = Field(
        description="Your full name, exactly as the partnership's list of approvers gives it (partnership.yaml: "
        "approvers, or your entry in stakeholders.yaml).", min_length=1, max_length=256,
    )
    approver_role: str = Field(
        description="The role in which you approve, e.g. 'Head of Community Safety' or 'board'.",
        min_length=1, max_length=256,
    )
    decision: Literal["approve", "reject"] = Field(
        description="approve: the package is delivered now, exactly as checked. reject: nothing is sent and the "
        "analysts are told your reason.",
    )
    comment: str = Field(
        default="", max_length=4000,
        description="Your reason or remark; required when you reject (the analysts read it).",
    )


@dataclass(frozen=True)
class Decision:
    """A recorded sign-off decision on one version of an output."""

    kind: str
    subject_id: int
    package_sha256: str
    decision: str
    approver_name: str
    approver_role: str
    comment: str
    via: str
    decided_at: dt.datetime

    @property
    def approved(self) -> bool:
        return self.decision == APPROVE

    def sentence(self) -> str:
        """'approved by Sam Taylor (Head of Community Safety) on 2026-12-03 10:14 UTC: fine' and the like."""
        verb = "approved" if self.approved else "rejected"
        remark = f": {self.comment}" if self.comment else ""
        return f"{verb} by {self.approver_name} ({self.approver_role}) on {self.decided_at:%Y-%m-%d %H:%M} UTC{remark}"


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def allowed_approvers(config: PartnershipConfig, kind: str) -> list[tuple[str, str]]:
    """(name, role) of everyone who may approve this kind of output (a stakeholder: their name and role)."""
    allowed = []
    for approver in config.partnership.approvers.get(kind, []):  # type: ignore[call-overload]
        if approver.stakeholder is not None:
            person = config.stakeholder(approver.stakeholder)
            allowed.append((person.name, person.role))
        else:
            allowed.append((approver.name or "", approver.role or ""))
    return allowed


def approver_refusal(config: PartnershipConfig, kind: str, name: str, role: str, decision: str,
                     comment: str) -> str | None:
    """Why this decision cannot be accepted (one line), or None when the person may decide on this kind of output.
    Names and roles compare without regard to case or repeated spaces."""
    allowed = allowed_approvers(config, kind)
    if not allowed:
        return (f"nobody may approve a {kind} of {config.partnership.id}: add approvers.{kind} to "
                "partnership.yaml")
    if (_plain(name), _plain(role)) not in {(_plain(n), _plain(r)) for n, r in allowed}:
        listed = "; ".join(f"{n} ({r})" for n, r in allowed)
        return f"{name.strip() or '(no name)'} ({role.strip() or 'no role'}) may not approve a {kind}: allowed are {listed}"
    if decision == REJECT and not comment.strip():
        return "a rejection needs a comment saying why: the analysts act on it"
    return None


def _decision_of(row: SignOff) -> Decision:
    return Decision(row.kind, row.subject_id, row.package_sha256, row.decision, row.approver_name, row.approver_role,
                    row.comment, row.via, row.decided_at)


def decision_for(url: str, kind: str, subject_id: int, package_sha256: str) -> Decision | None:
    """The decision recorded on exactly this version, if any."""
    with session_scope(url) as session:
        row = session.scalar(select(SignOff).where(
            SignOff.kind == kind, SignOff.subject_id == subject_id, SignOff.package_sha256 == package_sha256))
        return _decision_of(row) if row else None


def record_decision(url: str, partnership: str, kind: str, subject_id: int, package_sha256: str,
                    answer: SignOffInput, via: str, flow_run_id: str | None) -> tuple[Decision, bool]:
    """Record a decision once per version; the first one recorded stands (returns it and whether this call wrote
    it). The caller has checked the approver."""
    with session_scope(url) as session:
        # ON CONFLICT DO NOTHING: a decision given at the same moment elsewhere (terminal and UI) stands
        created = insert_new(session, SignOff.__table__, dict(
            partnership=partnership, kind=kind, subject_id=subject_id, package_sha256=package_sha256,
            decision=answer.decision, approver_name=answer.approver_name.strip(),
            approver_role=answer.approver_role.strip(), comment=answer.comment.strip(), via=via,
            flow_run_id=flow_run_id,
        ), ["kind", "subject_id", "package_sha256"]) is not None
    return decision_for(url, kind, subject_id, package_sha256), created  # type: ignore[return-value]


def decisions_of(url: str, kind: str, subject_ids: list[int]) -> list[Decision]:
    """Every decision on these subjects, oldest first (history for the audit and reports)."""
    with session_scope(url) as session:
        rows = session.scalars(select(SignOff).where(SignOff.kind == kind, SignOff.subject_id.in_(subject_ids))
                               .order_by(SignOff.id))
        return [_decision_of(r) for r in rows]


# ---------------------------------------------------------------- waiting in a run


def waits_by_pausing(settings: Settings) -> bool:
    """Whether a run should pause for the UI's form: on a Prefect server (PREFECT_API_URL set), unless configured
    otherwise; the ephemeral API of a plain local run ends with the run, so nothing could resume it."""
    if settings.sign_off_wait != "auto":
        return settings.sign_off_wait == "pause"
    return bool(os.environ.get("PREFECT_API_URL", "").strip())


class SignOffTimeout(Exception):
    """Nobody decided while the run waited."""


def pause_for_sign_off(config: PartnershipConfig, kind: str, key: str, settings: Settings,
                       say: callable = print) -> SignOffInput:  # type: ignore[valid-type]
    """Pause the current flow run with the sign-off form until an allowed person decides; a decision by someone
    not allowed is refused in the run's log and the run keeps waiting (for the rest of the timeout)."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run

    deadline = time.monotonic() + settings.sign_off_timeout_seconds
    attempt = 0
    while True:
        remaining = int(deadline - time.monotonic())
        if remaining <= 0:
            raise SignOffTimeout(f"no sign-off decision within {settings.sign_off_timeout_seconds} s")
        try:
            answer = pause_flow_run(wait_for_input=SignOffInput, timeout=remaining,
                                    poll_interval=min(settings.sign_off_poll_seconds, remaining),
                                    key=key if attempt == 0 else f"{key}-{attempt}")
        except FlowPauseTimeout:
            raise SignOffTimeout(f"no sign-off decision within {settings.sign_off_timeout_seconds} s") from None
        refusal = approver_refusal(config, kind, answer.approver_name, answer.approver_role, answer.decision,
                                   answer.comment)
        if refusal is None:
            return answer
        say(f"sign-off refused: {refusal}; the run keeps waiting for an allowed approver")
        attempt += 1


def resume_waiting_run(flow_run_id: str, answer: SignOffInput) -> str | None:
    """Hand a decision to a run paused for it, as the UI's form does; None when resumed, else why not (no server,
    the run is not paused any more)."""
    from uuid import UUID

    from prefect.flow_runs import resume_flow_run

    if not os.environ.get("PREFECT_API_URL", "").strip():
        return "no Prefect server (PREFECT_API_URL) to reach a paused run"
    try:
        resume_flow_run(UUID(flow_run_id), run_input=answer.model_dump(mode="json"))
    except Exception as exc:  # noqa: BLE001 - not paused, gone, or the server is down: the database decides then
        return f"{type(exc).__name__}: {exc}"
    return None


@dataclass(frozen=True)
class AwaitedVersion:
    """A recorded version of an output that needs a decision, and how the waiting run names it to people."""

    kind: str  # the sign-off kind: approvers.<kind> in partnership.yaml
    noun: str  # "submission", "board pack"
    subject_id: int
    package_sha256: str
    status: str
    table: type  # the model whose row records the run waiting for it (waiting_flow_run_id)
    stage: str  # the stage that fails when nobody decides in time
    report_key: str  # the id's key in that stage's failure report
    pause_key: str
    how: str  # the terminal's command for this version
    approvers: str  # who may decide, one line
    pending: str  # said when the run does not wait (no Prefect server to resume it)
    on_timeout: str  # said after the timeout's reason when nobody decided


def wait_for_decision(ctx: CycleContext, version: AwaitedVersion, decide: Callable[[SignOffInput], Decision],
                      on_existing: Callable[[Decision], object] | None = None) -> Decision | None:
    """The decision on this version: one already recorded (handed to ``on_existing`` first), else (on a Prefect
    server) the run pauses with the sign-off form until an allowed approver decides and ``decide`` records it;
    None while it awaits approval. Nobody deciding in time fails the stage, the version still awaiting approval."""
    existing = decision_for(ctx.database_url, version.kind, version.subject_id, version.package_sha256)
    if existing is not None:
        if on_existing is not None:
            on_existing(existing)
        return existing
    if version.status != AWAITING:
        return None
    if not waits_by_pausing(ctx.settings):
        say(version.pending)
        return None
    with session_scope(ctx.database_url) as session:
        session.get(version.table, version.subject_id).waiting_flow_run_id = ctx.flow_run_id
    say(f"waiting for sign-off of {version.noun} {version.subject_id} (sha256 {version.package_sha256[:12]}) by "
        f"{version.approvers}: fill in this run's form in the Prefect UI (Resume), or {version.how}")
    try:
        answer = pause_for_sign_off(ctx.config, version.kind, version.pause_key, ctx.settings)
    except SignOffTimeout as exc:
        fail_stage(ctx, version.stage, {version.report_key: version.subject_id, "status": AWAITING},
                   f"{exc}: {version.on_timeout}")
    decision = decide(answer)
    say(f"{version.noun} {version.subject_id} {decision.sentence()}")
    return decision


def decide_from_terminal(waiting_flow_run_id: str | None, decide: Callable[[], Decision], answer: SignOffInput,
                         noun: str) -> tuple[Decision, str | None]:
    """The terminal's sign-off: ``decide`` records it, then it goes to the paused run waiting for it (as the UI's
    form does; ``waiting_flow_run_id`` read before deciding, which clears it); returns the decision and None when a
    run took it, else why no run did (the caller then delivers or tells)."""
    decision = decide()
    if not waiting_flow_run_id:
        return decision, f"no run is waiting for this {noun}"
    return decision, resume_waiting_run(waiting_flow_run_id, answer)
