"""The deployed schedules (deployments/prefect.yaml, which `dutycycle serve` also serves) against the Duty's
calendar as domain.md states it, not against tasks/shared/schedules.py: a run ahead of every statutory date, each
run with the stages its purpose needs, the deadline watch every day.

Expected dates, from ../shared/domain.md ("The yearly cycle"):
- s.17A CDA 1998 and SI 2007/1831: depersonalised information for consecutive three-month periods, due by the end
  of the following period: Apr-Jun by 30 Sep, Jul-Sep by 31 Dec, Oct-Dec by 31 Mar, Jan-Mar by 30 Jun.
- The strategy was first due 31 January 2024 (the Duty commenced 31 January 2023) and is reviewed annually:
  31 January each year.
- Police data are monthly feeds: collected every month. "validate: every stage"; "notify: data requests and
  chasers ... around each stage and deadline"; the board gets the metric pack, so its run computes the measures.
The cron expressions are expanded here by a small independent reader of the two forms the file uses.
"""

from __future__ import annotations

import datetime as dt
import re

import yaml

from tasks.shared.settings import PROJECT_ROOT

SPEC = yaml.safe_load((PROJECT_ROOT / "deployments" / "prefect.yaml").read_text())
PARTNERSHIP = "castle-point-rochford"
BOARD_MEETINGS = yaml.safe_load(
    (PROJECT_ROOT / "config" / "partnerships" / PARTNERSHIP / "deadlines.yaml").read_text())["board_meetings"]
ALL_STAGES = {"collect", "validate", "compute", "notify", "submit"}


def _schedules(suffix: str) -> list[dict]:
    [deployment] = [d for d in SPEC["deployments"] if d["name"] == f"{PARTNERSHIP}-{suffix}"]
    return deployment.get("schedules", [])


def _field(text: str, low: int, high: int) -> set[int]:
    return set(range(low, high + 1)) if text == "*" else {int(v) for v in text.split(",")}


def fire_days(schedule: dict, first: dt.date, last: dt.date) -> list[dt.date]:
    """The days a schedule fires between first and last (cron 'M H DOM MON *' or a one-off RRULE COUNT=1)."""
    if "rrule" in schedule:
        start = re.search(r"DTSTART:(\d{8})T", schedule["rrule"]).group(1)
        assert "COUNT=1" in schedule["rrule"], schedule
        day = dt.datetime.strptime(start, "%Y%m%d").date()
        return [day] if first <= day <= last else []
    minute, hour, dom, month, dow = schedule["cron"].split()
    assert dow == "*", schedule  # no day-of-week schedules in this project
    days, months = _field(dom, 1, 31), _field(month, 1, 12)
    span = (last - first).days + 1
    return [d for d in (first + dt.timedelta(n) for n in range(span)) if d.day in days and d.month in months]


def _stages(schedule: dict) -> set[str]:
    return set(schedule["parameters"].get("stages", ALL_STAGES))  # no stages parameter: the whole cycle


def _runs_before(due: dt.date, window_days: int, slug_prefix: str) -> list[tuple[dt.date, dict]]:
    return [(day, s) for s in _schedules("annual-review") if s["slug"].startswith(slug_prefix)
            for day in fire_days(s, due - dt.timedelta(window_days), due)]


# The four s.17A due dates of 2023/24's information periods (end of the following quarter), written out.
S17A_DUE = [dt.date(2023, 9, 30), dt.date(2023, 12, 31), dt.date(2024, 3, 31), dt.date(2024, 6, 30)]


def test_a_run_collects_checks_and_chases_in_the_month_before_each_s17a_due_date() -> None:
    for due in S17A_DUE:
        runs = _runs_before(due, 30, "s17a")
        assert len(runs) == 1, (due, runs)  # one chase per information period, in its last month
        day, schedule = runs[0]
        assert day < due
        assert {"collect", "validate", "notify"} <= _stages(schedule), schedule
        assert schedule["parameters"]["financial_year"] == "current"


def test_the_annual_review_is_drafted_and_finalised_before_31_january() -> None:
    for year in (2024, 2025):
        due = dt.date(year, 1, 31)
        runs = _runs_before(due, 120, "annual-review")
        days = sorted(day for day, _ in runs)
        assert len(days) == 2 and days[-1] < due, runs
        # the final run in January, leaving time to sign off; the draft at least four weeks before the due date
        assert days[-1].month == 1 and (due - days[0]).days >= 28, days
        for _, schedule in runs:
            assert _stages(schedule) == ALL_STAGES, schedule  # the review needs every stage, submission included
            assert schedule["parameters"]["financial_year"] == "latest"  # the last complete year


def test_collection_runs_every_month_and_checks_and_chases() -> None:
    [monthly] = [s for s in _schedules("annual-review") if s["slug"] == "monthly-collection"]
    days = fire_days(monthly, dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    assert sorted({d.month for d in days}) == list(range(1, 13)) and len(days) == 12
    assert {"collect", "validate", "notify"} <= _stages(monthly)


def test_each_board_meeting_gets_a_computed_metric_pack_beforehand() -> None:
    board = [s for s in _schedules("annual-review") if s["slug"].startswith("board-pack")]
    assert len(board) == len(BOARD_MEETINGS) == 6
    for meeting in BOARD_MEETINGS:
        runs = [(day, s) for s in board for day in fire_days(s, meeting - dt.timedelta(21), meeting - dt.timedelta(1))]
        assert len(runs) == 1, (meeting, runs)  # one pack per meeting, in the three weeks before it
        day, schedule = runs[0]
        assert day.weekday() < 5, day  # prepared on a working day
        assert {"collect", "validate", "compute", "notify"} <= _stages(schedule), schedule


def test_the_deadline_watch_runs_every_day_of_the_year() -> None:
    [watch] = _schedules("deadlines")
    days = fire_days(watch, dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    assert len(days) == 366  # 2023/24 holds 29 February 2024: reminders can fall due any day
    assert watch["timezone"] == "Europe/London"
