"""Statutory deadlines as dates: configured rules -> due dates, moved off weekends and bank holidays (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from tasks.shared.config import (
    AfterQuarterRule,
    AnnualRule,
    BoardMeetingsRule,
    Deadline,
    DeadlinesFile,
    MonthDay,
)
from tasks.shared.periods import financial_year_label

LONDON = ZoneInfo("Europe/London")


def london_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in England and Wales (at 23:30 UTC in summer it is already tomorrow in London)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(LONDON).date()


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


def working_days_before(day: dt.date, count: int) -> dt.date:
    """The working day ``count`` working days before ``day`` (a board pack due 5 working days before a meeting)."""
    while count > 0:
        day -= dt.timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def next_working_day_after(day: dt.date) -> dt.date:
    return adjust_to_working_day(day + dt.timedelta(days=1), "next")


def _quarter_starts(fy_start: dt.date) -> list[tuple[str, dt.date]]:
    return [(f"{fy_start.year}-Q{index + 1}", _add_months(fy_start, 3 * index)) for index in range(4)]


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def occurrences(
    deadline: Deadline, fy_start: dt.date, board_meetings: tuple[dt.date, ...] = ()
) -> list[tuple[str, dt.date]]:
    """(period label, unadjusted due date) of a deadline for the financial year starting ``fy_start``."""
    fy_end = _add_months(fy_start, 12) - dt.timedelta(days=1)
    rule = deadline.rule
    if isinstance(rule, AnnualRule):
        due = dt.date(fy_end.year, rule.month, rule.day)
        if due <= fy_end:
            due = dt.date(fy_end.year + 1, rule.month, rule.day)
        return [(financial_year_label(fy_start.year), due)]
    if isinstance(rule, BoardMeetingsRule):
        # the pack is due a number of working days before the meeting: already a working day
        return [(meeting.isoformat(), working_days_before(meeting, rule.working_days_before))
                for meeting in sorted(board_meetings) if fy_start <= meeting <= fy_end]
    if isinstance(rule, AfterQuarterRule):
        return [(period, _add_months(start, 3) - dt.timedelta(days=1) + dt.timedelta(days=rule.days))
                for period, start in _quarter_starts(fy_start)]
    # end of the quarter after each quarter of the year (s.17A information periods)
    return [(period, _add_months(start, 6) - dt.timedelta(days=1)) for period, start in _quarter_starts(fy_start)]


@dataclass(frozen=True)
class Occurrence:
    """One dated occurrence of a deadline: what is due, for which period, when, and the year its data covers."""

    deadline: Deadline
    period: str
    due: dt.date  # moved off weekends and bank holidays per the deadline's rule, or the agreed date
    data_year: int  # the calendar year the financial year of its data starts in
    note: str = ""
    overridden: str = ""  # the reason, when a partnership agreed another date

    @property
    def key(self) -> tuple[str, str]:
        return (self.deadline.id, self.period)


def dated_occurrences(
    deadlines: DeadlinesFile, year_start: MonthDay, first: dt.date, last: dt.date
) -> list[Occurrence]:
    """Every occurrence of every deadline due between ``first`` and ``last`` (inclusive), by due date."""
    overrides = {(o.deadline, o.period): o for o in deadlines.overrides}
    meetings = tuple(deadlines.board_meetings)
    found = []
    # an annual deadline falls due up to two financial years after the year it is about
    first_year = first.year - 3
    for year in range(first_year, last.year + 1):
        fy_start = dt.date(year, year_start.month, year_start.day)
        for deadline in deadlines.deadlines:
            for period, due in occurrences(deadline, fy_start, meetings):
                override = overrides.get((deadline.id, period))
                moved = override.due_date if override else adjust_to_working_day(due, deadline.if_not_working_day)
                if not first <= moved <= last:
                    continue
                quarter = period.split("-")[-1]
                found.append(Occurrence(
                    deadline=deadline, period=period, due=moved, data_year=year,
                    note=deadline.quarter_notes.get(quarter, ""), overridden=override.reason if override else "",
                ))
    return sorted(found, key=lambda o: (o.due, o.deadline.id, o.period))


def deadline_rows(
    deadlines: DeadlinesFile, partnership: str, fy_start: dt.date, occurrences_found: list[Occurrence] | None = None
) -> list[dict]:
    """Every dated deadline of a partnership's financial year (or the given occurrences), for the deadlines table."""
    if occurrences_found is None:
        start = MonthDay(month=fy_start.month, day=fy_start.day)
        window = dated_occurrences(deadlines, start, dt.date(fy_start.year - 1, 1, 1), dt.date(fy_start.year + 4, 1, 1))
        occurrences_found = [o for o in window if o.data_year == fy_start.year]
    return [
        {
            "partnership": partnership,
            "deadline_id": o.deadline.id,
            "period": o.period,
            "title": o.deadline.title,
            "delivers": o.deadline.delivers,
            "due_date": o.due,
            "recipient": o.deadline.submitted_to,
            "legal_basis": o.deadline.legal_basis,
            "source": o.deadline.source,
            "confirmed": o.deadline.confirmed,
        }
        for o in occurrences_found
    ]
