"""What the notify stage reports, read from the database and the year's outputs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from tasks.config import Stakeholder
from tasks.context import CycleContext
from tasks.notify.messages import Message
from tasks.storage.models import QuarantineEntry, RawFile
from tasks.storage.session import session_scope
from tasks.submission.deadlines import deadline_rows

FILE_COLUMNS = ["source_id", "original_name", "period", "status", "reason", "rows_read", "rows_loaded"]
FAILURE_COLUMNS = ["source_id", "original_name", "source_row", "column", "value", "rule", "severity"]


def file_register(ctx: CycleContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored file of the partnership with its status, and every failing row or file with its rule."""
    with session_scope(ctx.database_url) as session:
        files = session.execute(
            select(
                RawFile.source_id, RawFile.original_name, RawFile.period, RawFile.status, RawFile.status_reason,
                RawFile.rows_read, RawFile.rows_loaded,
            ).where(RawFile.partnership == ctx.partnership_id).order_by(RawFile.source_id, RawFile.original_name)
        ).all()
        failures = session.execute(
            select(
                RawFile.source_id, RawFile.original_name, QuarantineEntry.source_row, QuarantineEntry.column,
                QuarantineEntry.value, QuarantineEntry.rule, QuarantineEntry.severity,
            )
            .join(RawFile, RawFile.id == QuarantineEntry.raw_file_id)
            .where(QuarantineEntry.partnership == ctx.partnership_id)
            .order_by(RawFile.original_name, QuarantineEntry.source_row)
        ).all()
    return pd.DataFrame(files, columns=FILE_COLUMNS).rename(columns={}), pd.DataFrame(failures, columns=FAILURE_COLUMNS)


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
