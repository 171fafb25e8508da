"""What the deadlines stage tells the analyst: the calendar of the coming twelve months with each deadline's
status, and the reminders and escalations sent (pure)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tasks.deadlines.status import AT_RISK, OVERDUE, DeadlineStatus
from tasks.shared.artifacts import StageReport
from tasks.shared.context import CycleContext
from tasks.shared.markdown import markdown_table

CALENDAR_COLUMNS = ["due", "deadline", "period", "status", "days left", "owner", "submitted to", "why", "today"]


def calendar_table(statuses: list[DeadlineStatus], as_of: dt.date) -> pd.DataFrame:
    """One row per occurrence, by due date: the table of the artifact and of `dutycycle deadlines`."""
    rows = []
    for status in statuses:
        occurrence = status.occurrence
        why = list(status.problems)
        if status.met_on:
            why.insert(0, f"met on {status.met_on.isoformat()}")
        if occurrence.overridden:
            why.append(f"agreed date: {occurrence.overridden}")
        if occurrence.note:
            why.append(occurrence.note)
        rows.append({
            "due": occurrence.due.isoformat(),
            "deadline": occurrence.deadline.id,
            "period": occurrence.period,
            "status": status.status,
            "days left": (occurrence.due - as_of).days,
            "owner": occurrence.deadline.owner,
            "submitted to": occurrence.deadline.submitted_to,
            "why": "; ".join(why),
            "today": ", ".join(
                ("escalation" if a.days_before is None else f"reminder {a.days_before}d") + (" (late)" if a.late else "")
                for a in status.actions
            ),
        })
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


def deadlines_report(
    ctx: CycleContext, as_of: dt.date, statuses: list[DeadlineStatus], prepared: int, queued: int,
    delivered: list[dict],
) -> StageReport:
    """Warnings when a deadline is overdue or at risk or a delivery failed; the calendar as the main table."""
    table = calendar_table(statuses, as_of)
    deliveries = pd.DataFrame(delivered)
    failed = int((deliveries["status"] == "failed").sum()) if not deliveries.empty else 0
    counts = {word: int((table["status"] == word).sum()) for word in (OVERDUE, AT_RISK)}
    status = "completed with warnings" if failed or any(counts.values()) else "completed"
    markdown = "\n".join([
        f"# Deadlines: {ctx.config.partnership.name}, as of {as_of:%A %d %B %Y}",
        f"{len(table)} deadlines on the calendar ({counts[OVERDUE]} overdue, {counts[AT_RISK]} at risk). "
        f"{prepared} reminders and escalations owed today, {queued} new in the outbox (the others were already "
        f"sent), {len(deliveries)} delivered this run, {failed} failed (retried next run).",
        "",
        markdown_table(table) if not table.empty else "No deadline in the coming twelve months.",
    ])
    return StageReport(
        status=status,
        summary={"as_of": as_of.isoformat(), "deadlines": len(table), **{k.replace(" ", "_"): v for k, v in counts.items()},
                 "queued": queued, "delivered": len(deliveries) - failed, "failed": failed},
        markdown=markdown,
        table=table,
        description="Calendar of the coming twelve months with each deadline's status",
        tables=[("deadline-deliveries", deliveries, "Reminders and escalations delivered this run")]
        if not deliveries.empty else [],
    )
