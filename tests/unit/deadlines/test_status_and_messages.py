"""Statuses, late catch-up, met deadlines, recipients and texts of the deadline watch."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.deadlines.messages import deadline_messages
from tasks.deadlines.status import AT_RISK, DUE, OVERDUE, UPCOMING, deadline_status, input_problems
from tasks.shared.calendar import dated_occurrences, london_today
from tasks.shared.completeness import COMPLETENESS_COLUMNS
from tests.unit.deadlines.test_year_of_reminders import CONFIG, simulate


def _occurrence(deadline_id: str, period: str):
    found = dated_occurrences(CONFIG.deadlines, CONFIG.partnership.financial_year_start,
                              dt.date(2023, 1, 1), dt.date(2025, 1, 1))
    return next(o for o in found if o.key == (deadline_id, period))


def test_a_reminder_missed_while_the_service_was_down_is_sent_late_once() -> None:
    sent = simulate([dt.date(2023, 4, 1), dt.date(2023, 4, 12), dt.date(2023, 4, 13)])
    assert ("2023-04-12", "reminder", "pcc-grant-return", "2022-Q4", "10") in sent
    assert len([s for s in sent if s[2] == "pcc-grant-return"]) == 1
    occurrence = _occurrence("pcc-grant-return", "2022-Q4")
    [message] = deadline_messages(CONFIG, [deadline_status(occurrence, dt.date(2023, 4, 12), None, [])],
                                  dt.date(2023, 4, 12))
    assert "sent late" in message.body and "Thursday 06 April 2023" in message.body


def test_after_a_gap_only_the_latest_reminder_due_is_sent() -> None:
    sent = simulate([dt.date(2023, 4, 25), dt.date(2023, 4, 29)])
    board = [s for s in sent if s[2] == "board-pack"]
    assert board == [("2023-04-29", "reminder", "board-pack", "2023-05-11", "2")]  # the 7-day one is superseded
    assert ("2023-04-25", "escalation", "pcc-grant-return", "2022-Q4", "overdue") in sent


def test_a_met_deadline_is_neither_reminded_again_nor_escalated() -> None:
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(40)]
    met = {("annual-review", "2022/23"): dt.date(2024, 1, 10)}
    annual = [s for s in simulate(days, met) if s[2] == "annual-review"]
    assert annual == []  # recorded as met: no reminder or escalation is owed on any day
    unmet = [s for s in simulate(days) if s[2] == "annual-review"]
    assert [s[0] for s in unmet] == ["2024-01-03", "2024-01-24", "2024-02-01"]


def test_recipients_by_role_and_escalation_to_the_chair_only() -> None:
    day = dt.date(2024, 2, 1)
    statuses = [deadline_status(_occurrence("annual-review", "2022/23"), day, None, [])]
    [escalation] = deadline_messages(CONFIG, statuses, day)
    assert escalation.kind == "deadline_escalation" and escalation.recipient.id == "csp-board"
    reminder_day = dt.date(2024, 1, 3)
    statuses = [deadline_status(_occurrence("annual-review", "2022/23"), reminder_day, None, []),
                deadline_status(_occurrence("s17a-information-sharing", "2023-Q2"), dt.date(2023, 12, 15), None, [])]
    people = sorted((m.action_key.split(":")[0], m.recipient.id) for m in deadline_messages(CONFIG, statuses, reminder_day))
    assert people == [("annual-review", "csp-analyst"), ("annual-review", "csp-board"),
                      ("s17a-information-sharing", "csp-analyst")]


def test_the_q3_grant_return_carries_the_underspend_check() -> None:
    day = dt.date(2024, 1, 9)
    [message] = deadline_messages(CONFIG, [deadline_status(_occurrence("pcc-grant-return", "2023-Q3"), day, None, [])], day)
    assert "Underspend check" in message.body
    q2 = _occurrence("pcc-grant-return", "2023-Q2")
    assert q2.note == ""


def test_statuses_and_inputs_at_risk() -> None:
    occurrence = _occurrence("annual-review", "2022/23")  # due Wed 31 Jan 2024, reminders 28 and 7 days ahead
    completeness = pd.DataFrame(
        [["police-knife-crime", "essex-police-analyst", "2022/23 Q3", "2023-01-30", "overdue", ""],
         ["police-knife-crime", "essex-police-analyst", "2022/23 Q4", "2023-04-30", "overdue", ""],
         ["ae-assault-attendances", "mse-icb-intelligence", "2022-04", "2022-05-31", "overdue", ""],  # not an input
         ["police-homicides", "essex-police-analyst", "2022/23", "2023-04-30", "arrived", "h.csv"]],
        columns=COMPLETENESS_COLUMNS,
    )
    problems = input_problems(CONFIG, occurrence.deadline.inputs, completeness, frozenset({"police_street", "other"}))
    assert problems == ["police-knife-crime: 2 periods overdue (2022/23 Q3 to 2022/23 Q4)",
                        "police_street: failed a critical check"]
    assert deadline_status(occurrence, dt.date(2023, 12, 1), None, problems).status == AT_RISK
    assert deadline_status(occurrence, dt.date(2023, 12, 1), None, []).status == UPCOMING
    assert deadline_status(occurrence, dt.date(2024, 1, 3), None, []).status == DUE
    assert deadline_status(occurrence, dt.date(2024, 1, 31), None, []).status == DUE
    assert deadline_status(occurrence, dt.date(2024, 2, 1), None, problems).status == OVERDUE
    assert deadline_status(occurrence, dt.date(2024, 2, 1), dt.date(2024, 1, 30), []).status == "met"


def test_today_is_the_date_in_london_across_both_clock_changes() -> None:
    assert london_today(dt.datetime(2023, 7, 1, 23, 30, tzinfo=dt.UTC)) == dt.date(2023, 7, 2)  # BST
    assert london_today(dt.datetime(2023, 12, 1, 23, 30, tzinfo=dt.UTC)) == dt.date(2023, 12, 1)  # GMT
    assert london_today(dt.datetime(2024, 3, 30, 23, 30, tzinfo=dt.UTC)) == dt.date(2024, 3, 30)  # night of the change
    assert london_today(dt.datetime(2023, 10, 28, 23, 30, tzinfo=dt.UTC)) == dt.date(2023, 10, 29)


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=372), min_size=1, max_size=40))
def test_whatever_days_the_service_runs_each_message_goes_once_and_in_its_window(offsets: set[int]) -> None:
    first = dt.date(2023, 4, 1)
    days = [first + dt.timedelta(days=n) for n in sorted(offsets)]
    sent = simulate(days)
    keys = [(kind, deadline, period, which) for _, kind, deadline, period, which in sent]
    assert len(keys) == len(set(keys))
    occurrences = {o.key: o for o in dated_occurrences(CONFIG.deadlines, CONFIG.partnership.financial_year_start,
                                                        dt.date(2023, 1, 1), dt.date(2025, 1, 1))}
    for day, kind, deadline, period, _ in sent:
        due = occurrences[(deadline, period)].due
        assert (dt.date.fromisoformat(day) <= due) == (kind == "reminder")
