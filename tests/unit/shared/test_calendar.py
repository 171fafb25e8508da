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


def _copy_config(tmp_path):
    import shutil

    target = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", target, ignore=shutil.ignore_patterns("inputs"))
    return target


def test_a_partnership_adds_its_own_deadlines_and_agrees_other_dates(tmp_path) -> None:
    import yaml

    from tasks.shared.calendar import dated_occurrences

    config_dir = _copy_config(tmp_path)
    own = config_dir / "partnerships" / "castle-point-rochford" / "deadlines.yaml"
    data = yaml.safe_load(own.read_text())
    data["deadlines"] = [{
        "id": "local-youth-plan", "title": "Youth violence plan to cabinet", "delivers": "strategy",
        "rule": {"kind": "annual_after_year_end", "month": 6, "day": 30}, "submitted_to": "Cabinet",
        "owner": "analyst", "artefacts": ["plan"], "legal_basis": "local", "source": "https://example.org",
        "confirmed": False,
    }]
    data["overrides"] = [{"deadline": "annual-review", "period": "2022/23", "due_date": "2024-02-09",
                          "reason": "Home Office agreed a later date"}]
    own.write_text(yaml.safe_dump(data))
    config = load_partnership_config(config_dir, "castle-point-rochford")
    found = {o.key: o for o in dated_occurrences(config.deadlines, config.partnership.financial_year_start,
                                                 dt.date(2023, 4, 1), dt.date(2024, 12, 31))}
    assert found[("annual-review", "2022/23")].due == dt.date(2024, 2, 9)
    assert found[("annual-review", "2022/23")].overridden == "Home Office agreed a later date"
    assert found[("local-youth-plan", "2022/23")].due == dt.date(2023, 6, 30)  # a Friday
    assert found[("local-youth-plan", "2023/24")].due == dt.date(2024, 6, 28)  # Sunday 30 June -> Friday


def test_an_unknown_key_or_deadline_in_the_partnership_calendar_names_file_and_key(tmp_path) -> None:
    import pytest

    from tasks.shared.config import ConfigError

    config_dir = _copy_config(tmp_path)
    own = config_dir / "partnerships" / "castle-point-rochford" / "deadlines.yaml"
    own.write_text("board_meetings: [2024-01-04]\nboard_meeting_dates: []\n")
    with pytest.raises(ConfigError, match="deadlines.yaml at key 'board_meeting_dates': unknown key"):
        load_partnership_config(config_dir, "castle-point-rochford")
    own.write_text("overrides: [{deadline: annual-reveiw, period: 2022/23, due_date: 2024-02-09, reason: x}]\n")
    with pytest.raises(ConfigError, match="unknown deadline 'annual-reveiw'"):
        load_partnership_config(config_dir, "castle-point-rochford")


def test_bank_holidays_of_several_years_move_due_dates() -> None:
    # gov.uk/bank-holidays: VE day moved the early-May holiday to Friday 8 May 2020; coronation Monday 8 May 2023;
    # Easter Monday 2024 was 1 April, Good Friday 2022 15 April; Boxing Day 2020 substitute Monday 28 December
    assert adjust_to_working_day(dt.date(2020, 5, 10), "previous") == dt.date(2020, 5, 7)
    assert is_working_day(dt.date(2020, 5, 4))  # not a holiday in 2020: it moved to the 8th
    assert adjust_to_working_day(dt.date(2023, 5, 8), "next") == dt.date(2023, 5, 9)
    assert adjust_to_working_day(dt.date(2024, 3, 31), "next") == dt.date(2024, 4, 2)
    assert adjust_to_working_day(dt.date(2022, 4, 17), "previous") == dt.date(2022, 4, 14)
    assert adjust_to_working_day(dt.date(2020, 12, 26), "next") == dt.date(2020, 12, 29)
