"""Financial years as the duty counts them: labels such as 2022/23, their first and last days, 'latest' and 'current'."""

from __future__ import annotations

import datetime as dt
import re

FY_LABEL = re.compile(r"^\d{4}/\d{2}$")


def financial_year_label(start_year: int) -> str:
    """2022 -> '2022/23'."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def parse_financial_year(label: str | int, today: dt.date | None = None, start_month: int = 4) -> int:
    """'2022/23', '2022-23' or 2022 -> 2022 (the calendar year the financial year starts in).

    'latest' is the last complete financial year and 'current' the one in progress, as of ``today``:
    schedules use them so the same deployment reviews the right year every year.
    """
    text = str(label).strip().lower()
    if text in ("latest", "current"):
        today = today or dt.date.today()
        current = today.year if today.month >= start_month else today.year - 1
        return current if text == "current" else current - 1
    match = re.fullmatch(r"(\d{4})(?:[/-](\d{2}))?", text)
    if not match:
        raise ValueError(f"financial year must look like 2022/23 (or 'latest' / 'current'), got {label!r}")
    start = int(match.group(1))
    if match.group(2) and int(match.group(2)) != (start + 1) % 100:
        raise ValueError(f"financial year {label!r} does not span consecutive years")
    return start


def financial_year_end(start_year: int, start_month: int = 4, start_day: int = 1) -> dt.date:
    """The last day of a financial year (31 March for the usual April start)."""
    return dt.date(start_year + 1, start_month, start_day) - dt.timedelta(days=1)


def financial_year_of(day: dt.date, start_month: int = 4) -> int:
    return day.year if day.month >= start_month else day.year - 1


def is_financial_year_label(period: str) -> bool:
    return bool(FY_LABEL.match(period))
