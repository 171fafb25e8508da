"""Deadline reminders: which of the year's deadlines fall inside their reminder windows today."""

from __future__ import annotations

import datetime as dt

from tasks.shared.calendar import deadline_rows
from tasks.shared.config import Stakeholder
from tasks.shared.context import CycleContext
from tasks.shared.outbox import Message


def deadline_reminders(ctx: CycleContext, today: dt.date) -> list[Message]:
    """Reminders for the year's deadlines falling due within their reminder windows from today."""
    people: list[Stakeholder] = [p for p in ctx.config.stakeholders if "deadline_reminder" in p.receives]
    rows = deadline_rows(ctx.config.deadlines, ctx.partnership_id, ctx.year_start)
    windows = {d.id: sorted(d.remind_days_before) for d in ctx.config.deadlines.deadlines}
    messages = []
    for row in rows:
        days_left = (row["due_date"] - today).days
        window = next((w for w in windows[row["deadline_id"]] if 0 <= days_left <= w), None)
        if window is None:
            continue
        for person in people:
            messages.append(
                Message(
                    kind="deadline_reminder",
                    recipient=person,
                    subject=f"[{ctx.config.partnership.name}] Due by {row['due_date']:%d %B %Y}: {row['title']}",
                    body=(
                        f"{row['title']} ({row['period']}) is due on {row['due_date']:%A %d %B %Y} "
                        f"(reminder {window} days ahead) to {row['recipient']}.\n"
                        f"Legal basis: {row['legal_basis']}\nSource: {row['source']}"
                    ),
                )
            )
    return messages
