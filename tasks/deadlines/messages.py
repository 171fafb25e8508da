"""Reminders and escalations: who gets which, with what text, keyed so each is sent once (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tasks.deadlines.status import ESCALATION, REMINDER, Action, DeadlineStatus
from tasks.shared.config import PartnershipConfig, Stakeholder
from tasks.shared.outbox import Message
from tasks.shared.rendering import render_parts


@dataclass(frozen=True)
class DeadlineMessage(Message):
    """A reminder or escalation, de-duplicated by its occurrence and offset rather than by its text, so a second
    run the same day or any later day never sends it again (a late one says it is late: the text differs)."""

    action_key: str = ""

    def dedupe_key(self, partnership: str, financial_year: str, channel: str = "email") -> str:
        suffix = "" if channel == "email" else f":{channel}"
        return f"{partnership}:deadline:{self.action_key}:{self.kind}:{self.recipient.id}{suffix}"


def recipients_of(config: PartnershipConfig, action: Action) -> list[Stakeholder]:
    """Reminders go to the deadline's owner and recipients (by role); escalations to the board's chair."""
    deadline = action.occurrence.deadline
    roles = {"board"} if action.kind == ESCALATION else {deadline.owner, *deadline.recipients}
    return [p for p in config.stakeholders if p.role in roles and action.kind in p.receives]


def _text(config: PartnershipConfig, action: Action, status: DeadlineStatus, as_of: dt.date) -> tuple[str, list[str]]:
    occurrence, deadline = action.occurrence, action.occurrence.deadline
    due = occurrence.due
    name = config.partnership.name
    lines = []
    if action.kind == REMINDER:
        subject = f"[{name}] Due {due:%a %d %b %Y}: {deadline.title} ({occurrence.period})"
        lines.append(f"{deadline.title} ({occurrence.period}) is due on {due:%A %d %B %Y} to {deadline.submitted_to}: "
                     f"{(due - as_of).days} days from today (reminder {action.days_before} days ahead).")
    else:
        subject = f"[{name}] OVERDUE since {due:%a %d %b %Y}: {deadline.title} ({occurrence.period})"
        lines.append(f"{deadline.title} ({occurrence.period}) was due on {due:%A %d %B %Y} to {deadline.submitted_to} "
                     f"and is not recorded as met. Escalated to the chair of the board.")
    if action.late:
        lines.append(f"This message was due on {action.planned:%A %d %B %Y} and is sent late: dutycycle was not "
                     "running that day.")
    if occurrence.note:
        lines.append(occurrence.note)
    if occurrence.overridden:
        lines.append(f"Date agreed locally: {occurrence.overridden}")
    lines.append("Required: " + "; ".join(deadline.artefacts) + ".")
    if status.problems:
        lines.append("At risk, inputs missing, late or failing their checks:")
        lines += [f"  - {problem}" for problem in status.problems]
    lines.append(f"Accountable: {deadline.owner}. Legal basis: {deadline.legal_basis}")
    lines.append(f"Source: {deadline.source}")
    lines.append(f"When it is done: dutycycle deadline-met {deadline.id} {occurrence.period}")
    return subject, lines


def deadline_messages(config: PartnershipConfig, statuses: list[DeadlineStatus], as_of: dt.date) -> list[DeadlineMessage]:
    """Every reminder and escalation the calendar owes on ``as_of``, one per recipient."""
    messages = []
    for status in statuses:
        for action in status.actions:
            subject, lines = _text(config, action, status, as_of)
            for person in recipients_of(config, action):
                body, html = render_parts("tasks.deadlines", "deadline_action", config.partnership, person=person,
                                          lines=lines, title=subject)
                messages.append(DeadlineMessage(kind=action.kind, recipient=person, subject=subject, body=body,
                                                html=html, summary=lines[0], action_key=action.key))
    return messages
