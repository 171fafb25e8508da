"""A year of the demo partnership's calendar, one day at a time, against a table written by hand.

The table below was worked out from config/deadlines.yaml, the demo's board meetings and a printed calendar of
England and Wales bank holidays (gov.uk/bank-holidays), not from the code. It spans 1 April 2023 to 7 April 2024:
both clock changes (29 October 2023, 31 March 2024), Easter 2023 and 2024, the early-May and coronation bank
holidays of 2023 (1 and 8 May), Christmas 2023 and New Year 2024, and the leap day of 2024.

Rules applied by hand: a due date on a weekend or bank holiday moves per if_not_working_day; a reminder goes out
N days before the (moved) due date, on the previous working day when that day is not one; an unmet deadline is
escalated on the first working day after its due date; deadlines overdue more than 45 days before the first day
are off the calendar.
"""

from __future__ import annotations

import datetime as dt

from tasks.deadlines.messages import deadline_messages
from tasks.deadlines.status import deadline_status
from tasks.shared.calendar import dated_occurrences
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
FIRST, LAST = dt.date(2023, 4, 1), dt.date(2024, 4, 7)

# (day sent, kind, deadline, period, reminder days before or "overdue")
EXPECTED = """
2023-04-03 escalation s17a-information-sharing 2022-Q3 overdue      # due Fri 31 Mar 2023
2023-04-06 reminder   pcc-grant-return         2022-Q4 10           # due Thu 20 Apr; 10 Apr Easter Mon, 7 Apr Good Fri
2023-04-21 escalation pcc-grant-return         2022-Q4 overdue
2023-04-26 reminder   board-pack               2023-05-11 7         # 5 working days before Thu 11 May skip 8 May: Wed 3 May
2023-04-28 reminder   board-pack               2023-05-11 2         # 1 May early-May bank holiday -> Fri 28 Apr
2023-05-04 escalation board-pack               2023-05-11 overdue
2023-06-16 reminder   s17a-information-sharing 2022-Q4 14           # due Fri 30 Jun 2023
2023-06-29 reminder   board-pack               2023-07-13 7         # due Thu 6 Jul
2023-07-03 escalation s17a-information-sharing 2022-Q4 overdue
2023-07-04 reminder   board-pack               2023-07-13 2
2023-07-07 escalation board-pack               2023-07-13 overdue
2023-07-10 reminder   pcc-grant-return         2023-Q1 10           # due Thu 20 Jul
2023-07-21 escalation pcc-grant-return         2023-Q1 overdue
2023-09-15 reminder   s17a-information-sharing 2023-Q1 14           # due Sat 30 Sep (kept); 16 Sep is a Saturday
2023-09-28 reminder   board-pack               2023-10-12 7         # due Thu 5 Oct
2023-10-02 escalation s17a-information-sharing 2023-Q1 overdue
2023-10-03 reminder   board-pack               2023-10-12 2
2023-10-03 reminder   sna-refresh              2022/23 28           # due Tue 31 Oct 2023
2023-10-06 escalation board-pack               2023-10-12 overdue
2023-10-10 reminder   pcc-grant-return         2023-Q2 10           # due Fri 20 Oct
2023-10-23 escalation pcc-grant-return         2023-Q2 overdue
2023-10-24 reminder   sna-refresh              2022/23 7            # the clocks went back on Sun 29 Oct
2023-11-01 escalation sna-refresh              2022/23 overdue
2023-12-15 reminder   s17a-information-sharing 2023-Q2 14           # due Sun 31 Dec (kept); 17 Dec is a Sunday
2023-12-20 reminder   board-pack               2024-01-04 7         # 1 Jan, 26 and 25 Dec skipped: due Wed 27 Dec
2023-12-22 reminder   board-pack               2024-01-04 2         # 25 Dec -> Fri 22 Dec
2023-12-28 escalation board-pack               2024-01-04 overdue
2024-01-02 escalation s17a-information-sharing 2023-Q2 overdue      # 1 Jan is New Year's Day
2024-01-03 reminder   annual-review            2022/23 28           # due Wed 31 Jan 2024
2024-01-09 reminder   pcc-grant-return         2023-Q3 10           # 20 Jan is a Saturday -> due Fri 19 Jan
2024-01-22 escalation pcc-grant-return         2023-Q3 overdue
2024-01-24 reminder   annual-review            2022/23 7
2024-02-01 escalation annual-review            2022/23 overdue
2024-02-29 reminder   board-pack               2024-03-14 7         # due Thu 7 Mar; the leap day
2024-03-05 reminder   board-pack               2024-03-14 2
2024-03-08 escalation board-pack               2024-03-14 overdue
2024-03-15 reminder   s17a-information-sharing 2023-Q3 14           # due Sun 31 Mar (kept, clocks go forward)
2024-03-26 reminder   board-pack               2024-04-09 7         # due Tue 2 Apr (Easter Mon 1 Apr skipped)
2024-03-28 reminder   board-pack               2024-04-09 2         # 31 Mar Sun, 30 Sat, 29 Good Friday -> Thu 28
2024-04-02 escalation s17a-information-sharing 2023-Q3 overdue      # 1 Apr is Easter Monday
2024-04-03 escalation board-pack               2024-04-09 overdue
"""


def expected_table() -> list[tuple[str, str, str, str, str]]:
    rows = []
    for line in EXPECTED.strip().splitlines():
        day, kind, deadline, period, which = line.split("#")[0].split()
        rows.append((day, kind, deadline, period, which))
    return rows


def simulate(days: list[dt.date], met: dict | None = None) -> list[tuple[str, str, str, str, str]]:
    """Run the deadline logic on each day, keeping each message once by its key as the outbox does."""
    sent_keys: set[str] = set()
    sent = []
    for day in days:
        window = CONFIG.deadlines.overdue_window_days
        occurrences = dated_occurrences(CONFIG.deadlines, CONFIG.partnership.financial_year_start,
                                        day - dt.timedelta(days=window), day + dt.timedelta(days=366))
        statuses = [deadline_status(o, day, (met or {}).get(o.key), []) for o in occurrences]
        for message in deadline_messages(CONFIG, statuses, day):
            if message.action_key in sent_keys:
                continue
            sent_keys.add(message.action_key)
            deadline, period, which = message.action_key.split(":")
            kind = "escalation" if message.kind == "deadline_escalation" else "reminder"
            sent.append((day.isoformat(), kind, deadline, period, which.removesuffix("d")))
    return sent


def every_day(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def test_a_year_day_by_day_sends_exactly_the_hand_made_table() -> None:
    assert simulate(every_day(FIRST, LAST)) == expected_table()
