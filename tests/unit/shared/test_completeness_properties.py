"""Completeness at its edges: a period is "arrived" exactly when every one of its months is loaded (not one more
needed), overdue only from the day AFTER its due date, and receiving more months never makes any period look
less complete (a hypothesis property)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.shared.completeness import completeness_table
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
YEAR = dt.date(2022, 4, 1)
MONTHS = [f"{2022 + (m >= 13)}-{(m - 1) % 12 + 1:02d}" for m in range(4, 16)]  # 2022-04 .. 2023-03
KNIFE = "police-knife-crime"  # quarterly, due 30 days after the quarter (config/partnerships)
# how complete a status says a period is, from nothing to everything
RANK = {"overdue": 0, "not yet due": 0, "received but quarantined": 1, "partial": 2, "arrived": 3}


def _statuses(loaded: set[str], today: dt.date, source: str = KNIFE) -> dict[str, str]:
    files = pd.DataFrame([(source, f"{m}.csv", m, "loaded") for m in sorted(loaded)],
                         columns=["source_id", "original_name", "period", "status"])
    table = completeness_table(CONFIG, YEAR, files, today=today)
    return table[table["source"] == source].set_index("period")["status"].to_dict()


def test_a_quarter_with_exactly_its_three_months_has_arrived() -> None:
    statuses = _statuses({"2022-04", "2022-05", "2022-06"}, today=dt.date(2023, 6, 1))
    assert statuses["2022/23 Q1"] == "arrived"  # all three months: complete, nothing more is needed
    assert _statuses({"2022-04", "2022-05"}, today=dt.date(2023, 6, 1))["2022/23 Q1"] == "partial"


def test_overdue_only_after_the_due_day() -> None:
    # Q1 (April-June 2022) is due 30 days after 30 June: 30 July 2022. On that day it is still on time.
    assert _statuses(set(), today=dt.date(2022, 7, 29))["2022/23 Q1"] == "not yet due"
    assert _statuses(set(), today=dt.date(2022, 7, 30))["2022/23 Q1"] == "not yet due"
    assert _statuses(set(), today=dt.date(2022, 7, 31))["2022/23 Q1"] == "overdue"


@settings(max_examples=60, deadline=None)
@given(
    received=st.sets(st.sampled_from(MONTHS)),
    more=st.sets(st.sampled_from(MONTHS)),
    source=st.sampled_from([KNIFE, "police-street-archive"]),
    today=st.dates(min_value=dt.date(2022, 4, 1), max_value=dt.date(2023, 12, 31)),
)
def test_property_more_months_never_make_a_period_less_complete(received, more, source, today) -> None:
    before = _statuses(received, today, source)
    after = _statuses(received | more, today, source)
    assert before.keys() == after.keys()
    for period, status in before.items():
        assert RANK[after[period]] >= RANK[status], (period, status, after[period])
    assert sum(s == "arrived" for s in after.values()) >= sum(s == "arrived" for s in before.values())
    if received | more == set(MONTHS):
        assert set(after.values()) == {"arrived"}  # every month of the year: every period complete
