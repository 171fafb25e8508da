"""One open submission per deadline: what a newly built package does to the deadline's earlier ones, and the
explicit corrected resubmission."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.shared.signoff import APPROVED, AWAITING, SUPERSEDED
from tasks.shared.storage.models import DeadlineRow, Submission
from tasks.shared.storage.session import insert_new

HELD = "held for resubmission"  # a new package for a deadline already approved or delivered: `dutycycle resubmit`
DELIVERED = "delivered"
OPEN = (AWAITING, HELD)
LOCKED = (APPROVED, DELIVERED)  # never changed by a new package, only by an explicit resubmission


@dataclass(frozen=True)
class BuildPlan:
    """What recording a package does: its own row (an existing one's id, or None for a new row) and status, and
    the new status of the deadline's other rows that change."""

    target_id: int | None
    target_status: str
    changes: dict[int, str] = field(default_factory=dict)


def plan_build(existing: list[tuple[int, str, str]], package_sha256: str) -> BuildPlan:
    """Pure rule for a package built for a deadline with these (id, sha256, status) rows:
    - the same package again keeps its status (whatever it is);
    - a new (or earlier superseded) package is the deadline's one open submission: the open one it replaces is
      superseded (so is an open one when an earlier package comes back); it awaits approval, or is held for an explicit resubmission when the deadline already has an
      approved or delivered package (never replaced silently)."""
    same = next((row for row in existing if row[1] == package_sha256), None)
    others = [row for row in existing if row is not same]
    changes = {row_id: SUPERSEDED for row_id, _, status in others if status in OPEN}
    if same is not None and same[2] != SUPERSEDED:
        return BuildPlan(same[0], same[2], changes)
    locked = any(status in LOCKED for _, _, status in others)
    return BuildPlan(same[0] if same else None, HELD if locked else AWAITING, changes)


def record_package(session: Session, values: dict) -> tuple[Submission, bool]:
    """Record a built package against its deadline under the one-open-submission rule; (row, created)."""
    # two builds of one deadline at once (two workers) must not both judge the same rows: on PostgreSQL the
    # deadline's row lock makes the second wait for the first to commit (SQLite's write lock already serialises)
    session.execute(select(DeadlineRow.id).where(DeadlineRow.id == values["deadline_row_id"]).with_for_update())
    rows = list(session.scalars(select(Submission).where(Submission.deadline_row_id == values["deadline_row_id"])
                                .order_by(Submission.id)))
    plan = plan_build([(r.id, r.package_sha256, r.status) for r in rows], values["package_sha256"])
    by_id = {r.id: r for r in rows}
    if plan.target_id is None:
        new_id = insert_new(session, Submission.__table__, {**values, "status": plan.target_status},
                            ["deadline_row_id", "package_sha256"])
        if new_id is None:  # recorded meanwhile by a writer that took no lock: that row stands
            return session.scalar(select(Submission).where(
                Submission.deadline_row_id == values["deadline_row_id"],
                Submission.package_sha256 == values["package_sha256"])), False
        target, created = session.get(Submission, new_id), True
    else:
        target, created = by_id[plan.target_id], False
        if target.status != plan.target_status:
            target.status, target.superseded_by = plan.target_status, None
    for row_id, status in plan.changes.items():
        by_id[row_id].status, by_id[row_id].superseded_by = status, target.id
    return target, created


class ResubmitError(ValueError):
    """A resubmission that does not apply (one line)."""


def resubmit(session: Session, submission_id: int, reason: str) -> Submission:
    """Make the deadline's package held for resubmission the one to approve and deliver, replacing its approved
    or delivered one (kept, with the reason, in history). ``submission_id`` may name either."""
    if not reason.strip():
        raise ResubmitError("a resubmission needs a reason (--reason): it is kept in the submission's history")
    chosen = session.get(Submission, submission_id)
    if chosen is None:
        raise ResubmitError(f"no submission {submission_id}")
    rows = list(session.scalars(select(Submission).where(Submission.deadline_row_id == chosen.deadline_row_id)
                                .order_by(Submission.id)))
    held = [r for r in rows if r.status == HELD]
    if not held:
        raise ResubmitError(
            f"submission {submission_id} is {chosen.status} and its deadline has no newer package held for "
            "resubmission: correct the data and run the submit stage first")
    new = held[-1]
    replaced = [r for r in rows if r.status in LOCKED]
    new.status, new.resubmit_reason = AWAITING, reason.strip()
    new.resubmits = replaced[-1].id if replaced else None
    for row in replaced:
        if row.status == APPROVED:  # approved but not yet delivered: it must not go out any more
            row.status, row.superseded_by = SUPERSEDED, new.id
    return new
