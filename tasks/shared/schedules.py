"""The cycle's schedules derived from the calendar: runs ahead of each deadline, the monthly collection and the
daily deadline watch, as plain specs that serve.py and prefect.yaml both turn into Prefect schedules (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tasks.shared.calendar import adjust_to_working_day, occurrences, working_days_before
from tasks.shared.config import BoardMeetingsRule, DeadlinesFile, MonthDay

TIMEZONE = "Europe/London"
# a non-leap reference year: an annual or quarterly run falls on the same day and month every year
REFERENCE_YEAR = 2023


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule: exactly one of cron or rrule, in Europe/London time, with the run's parameters."""

    slug: str
    parameters: dict
    cron: str | None = None
    rrule: str | None = None
    timezone: str = TIMEZONE
    why: str = field(default="", compare=False)


def _run_parameters(partnership: str, financial_year: str, stages: list[str] | None) -> dict:
    parameters = {"partnership": partnership, "financial_year": financial_year}
    if stages:
        parameters["stages"] = list(stages)
    return parameters


def cycle_schedules(deadlines: DeadlinesFile, partnership: str, year_start: MonthDay) -> list[ScheduleSpec]:
    """The annual-review deployment's schedules: the monthly collection, then each deadline's runs ahead of it."""
    collection = deadlines.monthly_collection
    specs = [ScheduleSpec(
        slug="monthly-collection",
        cron=f"0 {collection.hour} {collection.day_of_month} * *",
        parameters=_run_parameters(partnership, "current", collection.stages),
        why="after data.police.uk's monthly release: collect, check and chase the year in progress",
    )]
    for deadline in deadlines.deadlines:
        for run in deadline.runs:
            parameters = _run_parameters(partnership, run.financial_year, run.stages)
            if isinstance(deadline.rule, BoardMeetingsRule):
                # one run before each meeting, on the day the rule puts it (a one-off rule, so no yearly repeat)
                for meeting in deadlines.board_meetings:
                    due = working_days_before(meeting, deadline.rule.working_days_before)
                    day = adjust_to_working_day(due - dt.timedelta(days=run.days_before), "previous")
                    specs.append(ScheduleSpec(
                        slug=f"{run.slug}-{meeting.isoformat()}",
                        rrule=f"DTSTART:{day:%Y%m%d}T{run.hour:02d}0000\nRRULE:FREQ=DAILY;COUNT=1",
                        parameters=parameters,
                        why=f"{deadline.title}: meeting of {meeting:%d %B %Y}",
                    ))
                continue
            fy = dt.date(REFERENCE_YEAR, year_start.month, year_start.day)
            days = sorted({due - dt.timedelta(days=run.days_before) for _, due in occurrences(deadline, fy)},
                          key=lambda d: (d.day, d.month))
            # one cron per day of the month, listing the months on which the run falls on that day
            by_day: dict[int, list[int]] = {}
            for day in days:
                by_day.setdefault(day.day, []).append(day.month)
            for index, (day_of_month, months) in enumerate(sorted(by_day.items())):
                specs.append(ScheduleSpec(
                    slug=run.slug if index == 0 else f"{run.slug}-{index + 1}",
                    cron=f"0 {run.hour} {day_of_month} {','.join(str(m) for m in sorted(months))} *",
                    parameters=parameters,
                    why=f"{run.days_before} days before: {deadline.title}",
                ))
    return specs


def deadline_watch_schedule(deadlines: DeadlinesFile, partnership: str) -> ScheduleSpec:
    """The deadlines flow, every day: reminders and escalations go out the morning they are due."""
    return ScheduleSpec(slug="daily-deadline-watch", cron=f"0 {deadlines.deadline_watch_hour} * * *",
                        parameters={"partnership": partnership}, why="the deadline watch, daily")
