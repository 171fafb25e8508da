"""Deadlines' steps: the calendar of the coming twelve months, where each deadline stands, what it owes today."""

from __future__ import annotations

import dataclasses
import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.deadlines.messages import DeadlineMessage, deadline_messages
from tasks.deadlines.status import DeadlineStatus, deadline_status, input_problems
from tasks.shared.calendar import Occurrence, dated_occurrences, deadline_rows
from tasks.shared.checks import blocked_datasets, completeness
from tasks.shared.config import load_partnership_config
from tasks.shared.context import CycleContext
from tasks.shared.parameters import check_partnership
from tasks.shared.periods import financial_year_label, financial_year_of
from tasks.shared.settings import get_settings
from tasks.shared.storage import repository
from tasks.shared.storage.session import session_scope


def year_on(partnership: str, as_of: dt.date) -> str:
    """The partnership's financial year in progress on ``as_of`` (the deadlines run is filed under it)."""
    check_partnership(partnership)
    config = load_partnership_config(get_settings().config_dir, partnership)
    return financial_year_label(financial_year_of(as_of, config.partnership.financial_year_start.month))


def calendar_of(ctx: CycleContext, as_of: dt.date) -> list[Occurrence]:
    """Every occurrence due in the coming twelve months, and the unmet ones overdue within the overdue window."""
    deadlines = ctx.config.deadlines
    first = as_of - dt.timedelta(days=deadlines.overdue_window_days)
    last = as_of.replace(year=as_of.year + 1) if (as_of.month, as_of.day) != (2, 29) else dt.date(as_of.year + 1, 2, 28)
    return dated_occurrences(deadlines, ctx.config.partnership.financial_year_start, first, last)


@task(name="record-calendar", cache_policy=NO_CACHE)
def record_calendar(ctx: CycleContext, occurrences: list[Occurrence]) -> dict[tuple[str, str], dt.date]:
    """Write the calendar's occurrences to the deadlines table; return those already met, with the date."""
    with session_scope(ctx.database_url) as session:
        repository.upsert_deadlines(session, deadline_rows(ctx.config.deadlines, ctx.partnership_id, ctx.year_start,
                                                           occurrences))
        return repository.met_deadlines(session, ctx.partnership_id)


def met_deadlines(ctx: CycleContext) -> dict[tuple[str, str], dt.date]:
    """The occurrences recorded as met (read only: what `dutycycle deadlines` shows)."""
    with session_scope(ctx.database_url) as session:
        return repository.met_deadlines(session, ctx.partnership_id)


def inputs_at_risk(ctx: CycleContext, occurrences: list[Occurrence], as_of: dt.date) -> dict[tuple[str, str], list[str]]:
    """For each occurrence, what threatens its inputs: completeness and quality of the year its data covers."""
    by_year = {}
    for year in sorted({o.data_year for o in occurrences if o.deadline.inputs}):
        year_ctx = dataclasses.replace(ctx, financial_year=year)
        by_year[year] = (completeness(year_ctx, as_of), blocked_datasets(year_ctx))
    return {
        o.key: input_problems(ctx.config, o.deadline.inputs, *by_year[o.data_year]) if o.deadline.inputs else []
        for o in occurrences
    }


def statuses_on(
    occurrences: list[Occurrence], as_of: dt.date, met: dict[tuple[str, str], dt.date],
    problems: dict[tuple[str, str], list[str]],
) -> list[DeadlineStatus]:
    """Where every occurrence stands on ``as_of`` and what it owes today."""
    return [deadline_status(o, as_of, met.get(o.key), problems.get(o.key, [])) for o in occurrences]


def reminders_and_escalations(ctx: CycleContext, statuses: list[DeadlineStatus], as_of: dt.date) -> list[DeadlineMessage]:
    """The messages owed today, ready for the outbox (which keeps each only once)."""
    return deadline_messages(ctx.config, statuses, as_of)


def mark_met(ctx: CycleContext, deadline_id: str, period: str, met_on: dt.date, note: str) -> bool:
    """Record an occurrence as met: no more reminders or escalations for it."""
    with session_scope(ctx.database_url) as session:
        return repository.mark_deadline_met(session, ctx.partnership_id, deadline_id, period, met_on, note)
