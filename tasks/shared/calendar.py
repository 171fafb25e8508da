"""Statutory deadlines as dates: configured rules -> due dates, moved off weekends and bank holidays (pure)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

from tasks.shared.config import AnnualRule, Deadline, DeadlinesFile


@lru_cache(maxsize=32)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    # England & Wales share one bank-holiday calendar; holidays models it as GB subdivision ENG
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=[year]).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def adjust_to_working_day(day: dt.date, rule: str) -> dt.date:
    """Move a due date off a weekend or bank holiday: to the previous or next working day, or keep it."""
    step = {"previous": -1, "next": 1}.get(rule)
    if step is None:
        return day
    while not is_working_day(day):
        day += dt.timedelta(days=step)
    return day


def _quarter_ends(fy_start: dt.date) -> list[tuple[str, dt.date]]:
    quarters = []
    for index in range(4):
        month = fy_start.month + 3 * index
        start = dt.date(fy_start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        quarters.append((f"{fy_start.year}-Q{index + 1}", start))
    return quarters


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def occurrences(deadline: Deadline, fy_start: dt.date) -> list[tuple[str, dt.date]]:
    """(period label, unadjusted due date) of a deadline for the financial year starting ``fy_start``."""
    fy_end = _add_months(fy_start, 12) - dt.timedelta(days=1)
    label = f"{fy_start.year}/{(fy_start.year + 1) % 100:02d}"
    if isinstance(deadline.rule, AnnualRule):
        due = dt.date(fy_end.year, deadline.rule.month, deadline.rule.day)
        if due <= fy_end:
            due = dt.date(fy_end.year + 1, deadline.rule.month, deadline.rule.day)
        return [(label, due)]
    # end of the quarter after each quarter of the year (s.17A information periods)
    return [(period, _add_months(start, 6) - dt.timedelta(days=1)) for period, start in _quarter_ends(fy_start)]


def deadline_rows(deadlines: DeadlinesFile, partnership: str, fy_start: dt.date) -> list[dict]:
    """Every dated deadline of a partnership's financial year, ready for the deadlines table."""
    rows = []
    for deadline in deadlines.deadlines:
        for period, due in occurrences(deadline, fy_start):
            rows.append(
                {
                    "partnership": partnership,
                    "deadline_id": deadline.id,
                    "period": period,
                    "title": deadline.title,
                    "delivers": deadline.delivers,
                    "due_date": adjust_to_working_day(due, deadline.if_not_working_day),
                    "recipient": deadline.recipient,
                    "legal_basis": deadline.legal_basis,
                    "source": deadline.source,
                    "confirmed": deadline.confirmed,
                }
            )
    return rows
