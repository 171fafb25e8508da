"""Where each deadline stands on a given day, and which reminder or escalation it owes that day (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from tasks.shared.calendar import Occurrence, adjust_to_working_day, next_working_day_after
from tasks.shared.completeness import OVERDUE as PERIOD_OVERDUE
from tasks.shared.completeness import PARTIAL, QUARANTINED
from tasks.shared.config import PartnershipConfig

# status words, from the least to the most urgent
MET, UPCOMING, DUE, AT_RISK, OVERDUE = "met", "upcoming", "due", "at risk", "overdue"
REMINDER, ESCALATION = "deadline_reminder", "deadline_escalation"


def reminder_date(due: dt.date, days_before: int) -> dt.date:
    """When a reminder goes out: ``days_before`` the due date, or the working day before if that is not one
    (so it reaches people at work and never later than promised)."""
    return adjust_to_working_day(due - dt.timedelta(days=days_before), "previous")


def escalation_date(due: dt.date) -> dt.date:
    """An unmet deadline is escalated on the first working day after its due date."""
    return next_working_day_after(due)


@dataclass(frozen=True)
class Action:
    """A reminder or escalation an occurrence owes: once ever, under its key (deadline, period, offset|overdue)."""

    kind: str
    occurrence: Occurrence
    days_before: int | None  # the reminder's offset; None for an escalation
    planned: dt.date  # the day it was meant to go out
    late: bool  # sent after ``planned`` (the service was not running that day)

    @property
    def key(self) -> str:
        which = "overdue" if self.kind == ESCALATION else f"{self.days_before}d"
        return f"{self.occurrence.deadline.id}:{self.occurrence.period}:{which}"


def actions_owed(occurrence: Occurrence, as_of: dt.date, met: bool) -> list[Action]:
    """The reminder or escalation an occurrence owes on ``as_of`` (sent once: the outbox drops it the second time).

    Before the due date it owes its most recent reminder whose day has come; a reminder missed while the service
    was down is therefore sent late, once, unless a later reminder of the same occurrence has since come due
    (then only that one goes). After the due date it owes one escalation, from the first working day after it.
    """
    if met:
        return []
    due = occurrence.due
    if as_of > due:
        planned = escalation_date(due)
        return [Action(ESCALATION, occurrence, None, planned, as_of > planned)] if as_of >= planned else []
    passed = [(reminder_date(due, days), days) for days in occurrence.deadline.remind_days_before]
    passed = [(day, days) for day, days in passed if day <= as_of]
    if not passed:
        return []
    planned, days = max(passed, key=lambda item: (item[0], -item[1]))
    return [Action(REMINDER, occurrence, days, planned, as_of > planned)]


def input_problems(
    config: PartnershipConfig, datasets: list[str], completeness: pd.DataFrame, blocked: frozenset[str]
) -> list[str]:
    """What threatens a deadline's inputs: returns overdue, partial or quarantined, datasets failing quality."""
    dataset_of = {source.id: source.dataset for source in config.sources}
    late: dict[tuple[str, str], list[str]] = {}
    for row in completeness.itertuples(index=False):
        if dataset_of.get(row.source) in datasets and row.status in (PERIOD_OVERDUE, PARTIAL, QUARANTINED):
            late.setdefault((row.source, row.status), []).append(row.period)
    problems = [
        f"{source}: {periods[0]} {status}" if len(periods) == 1
        else f"{source}: {len(periods)} periods {status} ({periods[0]} to {periods[-1]})"
        for (source, status), periods in late.items()
    ]
    problems += [f"{dataset}: failed a critical check" for dataset in sorted(blocked & set(datasets))]
    return problems


@dataclass(frozen=True)
class DeadlineStatus:
    """One occurrence on one day: its status, why, and what it owes today."""

    occurrence: Occurrence
    status: str
    problems: tuple[str, ...]
    met_on: dt.date | None
    actions: tuple[Action, ...]


def deadline_status(
    occurrence: Occurrence, as_of: dt.date, met_on: dt.date | None, problems: list[str]
) -> DeadlineStatus:
    """Met, overdue (past its due date, unmet), at risk (inputs missing, late or failing), due (inside its
    reminder window) or upcoming; with the reminder or escalation it owes today."""
    if met_on is not None:
        status = MET
    elif as_of > occurrence.due:
        status = OVERDUE
    elif problems:
        status = AT_RISK
    elif (occurrence.due - as_of).days <= max(occurrence.deadline.remind_days_before, default=0):
        status = DUE
    else:
        status = UPCOMING
    actions = actions_owed(occurrence, as_of, met=met_on is not None)
    return DeadlineStatus(occurrence, status, tuple(problems), met_on, tuple(actions))
