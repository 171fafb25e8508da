"""The board's metric pack held for sign-off: it carries the year's figures, so it leaves only once a person the
partnership allows (partnership.yaml: approvers.board_pack) has approved that exact version, as the submission does.

A pack version is identified by the sha256 of what would leave (every message's recipient, channel, subject and
text, and every attachment's checksum): a changed figure, note or attachment is a new version and needs a new
approval. Approved, its messages go to the outbox, which delivers each exactly once; rejected, nothing of it is sent
and the analysts get one message with the reason.

Statuses: awaiting approval -> approved -> released (queued in the outbox) | rejected; superseded when a changed pack
replaces an unreleased one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from tasks.shared.config import PartnershipConfig, Stakeholder
from tasks.shared.context import CycleContext
from tasks.shared.outbox import Message
from tasks.shared.rendering import render_parts
from tasks.shared.signoff import (
    APPROVED,
    AWAITING,
    REJECTED,
    SUPERSEDED,
    VIA_TERMINAL,
    VIA_UI,
    AwaitedVersion,
    Decision,
    SignOffInput,
    allowed_approvers,
    approver_refusal,
    decide_from_terminal,
    decision_for,
    record_decision,
    wait_for_decision,
)
from tasks.shared.storage.models import BoardPack, utc_now
from tasks.shared.storage.session import session_scope

KIND = "board_pack"
RELEASED = "released"  # queued in the outbox; the other statuses are every sign-off's (tasks/shared/signoff.py)
UNRELEASED = (AWAITING, APPROVED)  # a changed pack replaces these; a released or rejected one stays as history
STAGE = "tasks.notify"
REJECTION_KIND = "board_pack_rejected"
REQUEST_KIND = "board_pack_sign_off_request"


class BoardPackError(ValueError):
    """A sign-off or release of a board pack that cannot go ahead (one line, nothing sent)."""


@dataclass(frozen=True)
class HeldPack:
    """A board pack version recorded for sign-off, with the messages it would send."""

    pack_id: int
    status: str
    pack_sha256: str
    created: bool
    messages: tuple[Message, ...]


# ---------------------------------------------------------------- identity (pure)


def _file_sha256(path: str) -> str:
    file = Path(path)
    return hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "missing"


def pack_contents(messages: list[Message] | tuple[Message, ...]) -> dict:
    """What leaves with the pack, as the identity covers it: per message and channel, the recipient, subject and a
    checksum of every text part; per attachment, its name and checksum."""
    entries = []
    for message in messages:
        text = "\n\x00".join([message.subject, message.body, message.html or "", message.summary or ""])
        entries.append({
            "to": message.recipient.id, "channels": message.channels(), "subject": message.subject,
            "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "attachments": [{"name": Path(a).name, "sha256": _file_sha256(a)} for a in message.attachments]
            + [{"name": n, "sha256": hashlib.sha256(d).hexdigest()} for n, d in sorted(message.files.items())],
        })
    return {"messages": sorted(entries, key=lambda e: (e["to"], e["subject"]))}


def pack_identity(contents: dict) -> str:
    """The sha256 of the pack's contents as canonical JSON."""
    return hashlib.sha256(json.dumps(contents, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def approvers_line(config: PartnershipConfig) -> str:
    return "; ".join(f"{n} ({r})" for n, r in allowed_approvers(config, KIND)) or "nobody configured"


def approve_command(pack_id: int) -> str:
    return (f"dutycycle approve {pack_id} --kind board-pack --name 'NAME' --role 'ROLE' --comment '...' "
            "(add --reject to reject)")


# ---------------------------------------------------------------- recording a version


def hold_pack(ctx: CycleContext, messages: list[Message]) -> HeldPack | None:
    """Record the pack's version for sign-off (the same version again keeps its row and status); a changed pack
    supersedes the year's unreleased one. None when there is no pack (nothing computed or published)."""
    if not messages:
        return None
    contents = pack_contents(messages)
    sha = pack_identity(contents)
    with session_scope(ctx.database_url) as session:
        rows = list(session.scalars(select(BoardPack).where(
            BoardPack.partnership == ctx.partnership_id, BoardPack.financial_year == ctx.year_label)
            .order_by(BoardPack.id)))
        same = next((r for r in rows if r.pack_sha256 == sha), None)
        created = same is None
        if same is None:
            same = BoardPack(partnership=ctx.partnership_id, financial_year=ctx.year_label, pack_sha256=sha,
                             contents=contents, status=AWAITING, flow_run_id=ctx.flow_run_id)
            session.add(same)
            session.flush()
        elif same.status == SUPERSEDED:  # an earlier version came back: it is the one to decide on again
            same.status, same.superseded_by = AWAITING, None
        for row in rows:
            if row is not same and row.status in UNRELEASED:
                row.status, row.superseded_by, row.waiting_flow_run_id = SUPERSEDED, same.id, None
        pack_id, status = same.id, same.status
    decision = decision_for(ctx.database_url, KIND, pack_id, sha)
    if decision is not None and status == AWAITING:  # decided (at the terminal) while superseded, then back
        status = _apply_decision(ctx.database_url, pack_id, decision)
    return HeldPack(pack_id, status, sha, created, tuple(messages))


def _apply_decision(url: str, pack_id: int, decision: Decision) -> str:
    with session_scope(url) as session:
        row = session.get(BoardPack, pack_id)
        if row.pack_sha256 == decision.package_sha256 and row.status in (AWAITING, APPROVED):
            row.status = APPROVED if decision.approved else REJECTED
            row.waiting_flow_run_id = None
        return row.status


def pack_row(url: str, pack_id: int) -> dict:
    with session_scope(url) as session:
        row = session.get(BoardPack, pack_id)
        if row is None:
            raise BoardPackError(f"no board pack {pack_id} (the notify stage's report names it)")
        return {c.name: getattr(row, c.name) for c in BoardPack.__table__.columns}


# ---------------------------------------------------------------- the decision


def decide(ctx: CycleContext, pack_id: int, answer: SignOffInput, via: str) -> Decision:
    """Check the approver against approvers.board_pack and record the decision on the pack's version."""
    row = pack_row(ctx.database_url, pack_id)
    if row["partnership"] != ctx.partnership_id:
        raise BoardPackError(f"no board pack {pack_id} of {ctx.partnership_id}")
    refusal = approver_refusal(ctx.config, KIND, answer.approver_name, answer.approver_role, answer.decision,
                               answer.comment)
    if refusal:
        raise BoardPackError(f"refused: {refusal}")
    existing = decision_for(ctx.database_url, KIND, pack_id, row["pack_sha256"])
    if existing is None and row["status"] != AWAITING:
        raise BoardPackError(f"board pack {pack_id} is {row['status']}: only a pack awaiting approval can be "
                             "decided on" + (" (run notify: the current pack is a newer one)"
                                             if row["status"] == SUPERSEDED else ""))
    decision, _ = record_decision(ctx.database_url, ctx.partnership_id, KIND, pack_id, row["pack_sha256"], answer,
                                  via, ctx.flow_run_id)
    _apply_decision(ctx.database_url, pack_id, decision)
    return decision


def obtain_sign_off(ctx: CycleContext, pack: HeldPack | None) -> Decision | None:
    """The decision on the held pack: one already recorded on this version, else (on a Prefect server) the run
    pauses with the sign-off form until an allowed approver decides; None while it awaits approval."""
    if pack is None:
        return None
    how = approve_command(pack.pack_id)
    version = AwaitedVersion(
        kind=KIND, noun="board pack", subject_id=pack.pack_id, package_sha256=pack.pack_sha256, status=pack.status,
        table=BoardPack, stage="notify", report_key="board_pack",
        pause_key=f"board-pack-{pack.pack_id}-{pack.pack_sha256}", how=how, approvers=approvers_line(ctx.config),
        pending=f"board pack {pack.pack_id} awaits approval by {approvers_line(ctx.config)}; nothing of it is sent "
                f"before: {how}",
        on_timeout=f"board pack {pack.pack_id} still awaits approval and was not sent; {how}",
    )
    return wait_for_decision(ctx, version, lambda answer: decide(ctx, pack.pack_id, answer, VIA_UI))


def approve_from_terminal(ctx: CycleContext, pack_id: int, answer: SignOffInput) -> tuple[Decision, str | None]:
    """The terminal's sign-off: record it and hand it to the paused run waiting for it (as the UI does); returns
    the decision and None when a run took it, else why no run did (the caller then releases or tells)."""
    waiting = pack_row(ctx.database_url, pack_id)["waiting_flow_run_id"]
    return decide_from_terminal(waiting, lambda: decide(ctx, pack_id, answer, VIA_TERMINAL), answer, "pack")


# ---------------------------------------------------------------- after the decision


def release(ctx: CycleContext, pack_id: int, current: list[Message]) -> list[Message]:
    """The messages of an approved pack, to queue: ``current`` (the pack as it stands now) must be the very version
    approved, else nothing is released (a pack that changed after approval needs a new one)."""
    row = pack_row(ctx.database_url, pack_id)
    decision = decision_for(ctx.database_url, KIND, pack_id, row["pack_sha256"])
    if decision is None or not decision.approved or row["status"] not in (APPROVED, RELEASED):
        raise BoardPackError(f"board pack {pack_id} is {row['status']}: only an approved pack is sent")
    sha = pack_identity(pack_contents(current)) if current else None
    if sha != row["pack_sha256"]:
        raise BoardPackError(
            f"board pack {pack_id} changed after approval (approved sha256 {row['pack_sha256'][:12]}, now "
            f"{sha[:12] if sha else 'no pack'}): nothing was sent; run notify again and approve the new version")
    return current


def mark_released(url: str, pack_id: int) -> None:
    with session_scope(url) as session:
        row = session.get(BoardPack, pack_id)
        if row.status != RELEASED:
            row.status, row.sent_at = RELEASED, utc_now()


def rejection_messages(config: PartnershipConfig, financial_year: str, pack_id: int, pack_sha256: str,
                       decision: Decision) -> list[Message]:
    """One message to each analyst: the pack was rejected, by whom and why, and that nothing of it was sent."""
    analysts = [p for p in config.stakeholders if p.role == "analyst"]
    return _messages(config, REJECTION_KIND, analysts,
                     subject=f"Board pack {financial_year} rejected: nothing sent",
                     summary=f"The {financial_year} board pack was {decision.sentence()}. Nothing of it was sent.",
                     financial_year=financial_year, pack_id=pack_id, pack_sha256=pack_sha256,
                     decision=decision.sentence())


def _messages(config: PartnershipConfig, kind: str, people: list[Stakeholder], subject: str, summary: str,
              **values: object) -> list[Message]:
    """The same message (template ``kind`` of tasks/notify/templates) to each of these people."""
    messages = []
    for person in people:
        text, html = render_parts(STAGE, kind, config.partnership, person=person, **values)
        messages.append(Message(kind=kind, recipient=person, subject=f"[{config.partnership.name}] {subject}",
                                body=text, html=html, summary=summary))
    return messages


def approver_stakeholders(config: PartnershipConfig) -> list[Stakeholder]:
    """The approvers of the board pack who are stakeholders (they have an address); a named person without one is
    reached through the analysts, who are told too."""
    ids = [a.stakeholder for a in config.partnership.approvers.get(KIND, []) if a.stakeholder]
    analysts = [p for p in config.stakeholders if p.role == "analyst"]
    return [config.stakeholder(i) for i in ids] + [p for p in analysts if p.id not in ids]


def sign_off_request_messages(config: PartnershipConfig, financial_year: str, pack: HeldPack,
                              review_link: str | None) -> list[Message]:
    """Ask the board pack's approvers (and tell the analysts) that a version awaits sign-off: where to read it
    and how to decide. It carries no figure; the same version is asked about once (the outbox keys on content)."""
    if pack.status != AWAITING:
        return []
    return _messages(config, REQUEST_KIND, approver_stakeholders(config),
                     subject=f"Board pack {financial_year} awaits sign-off (pack {pack.pack_id})",
                     summary=f"Board pack {pack.pack_id} of {financial_year} awaits sign-off by "
                             f"{approvers_line(config)}.",
                     financial_year=financial_year, pack_id=pack.pack_id, pack_sha256=pack.pack_sha256,
                     recipients=len(pack.messages), approvers=approvers_line(config), review_link=review_link,
                     command=approve_command(pack.pack_id))
