"""Deadlines from configured rules, moved off weekends and England & Wales bank holidays."""

from __future__ import annotations

import datetime as dt

from tasks.shared.calendar import adjust_to_working_day, deadline_rows, is_working_day
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")


def test_bank_holidays_and_weekends() -> None:
    assert not is_working_day(dt.date(2023, 5, 8))  # coronation bank holiday
    assert not is_working_day(dt.date(2022, 12, 27))  # Christmas substitute day
    assert is_working_day(dt.date(2024, 1, 31))
    assert adjust_to_working_day(dt.date(2021, 1, 31), "previous") == dt.date(2021, 1, 29)  # Sunday -> Friday
    assert adjust_to_working_day(dt.date(2022, 12, 25), "next") == dt.date(2022, 12, 28)
    assert adjust_to_working_day(dt.date(2022, 12, 25), "keep") == dt.date(2022, 12, 25)


def test_annual_review_is_due_the_31_january_after_the_year() -> None:
    rows = {(r["deadline_id"], r["period"]): r for r in deadline_rows(CONFIG.deadlines, "p", dt.date(2022, 4, 1))}
    assert rows[("annual-review", "2022/23")]["due_date"] == dt.date(2024, 1, 31)
    assert rows[("s17a-information-sharing", "2022-Q1")]["due_date"] == dt.date(2022, 9, 30)
    assert rows[("s17a-information-sharing", "2022-Q4")]["due_date"] == dt.date(2023, 6, 30)
    later = {(r["deadline_id"], r["period"]): r for r in deadline_rows(CONFIG.deadlines, "p", dt.date(2019, 4, 1))}
    assert later[("annual-review", "2019/20")]["due_date"] == dt.date(2021, 1, 29)  # 31 Jan 2021 was a Sunday
