"""Which periods each source owes, and whether they arrived, are partial, quarantined, not yet due or overdue."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tasks.notify.messages import data_request_messages
from tasks.shared.completeness import (
    completeness_table,
    covers,
    expected_periods,
    months_of_file,
    needs_chasing,
)
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
YEAR = dt.date(2022, 4, 1)


def _files(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source_id", "original_name", "period", "status"])


def test_expected_periods_and_due_dates() -> None:
    knife = expected_periods(CONFIG.source("police-knife-crime"), YEAR)
    assert [p.label for p in knife] == ["2022/23 Q1", "2022/23 Q2", "2022/23 Q3", "2022/23 Q4"]
    assert knife[0].months == {"2022-04", "2022-05", "2022-06"}
    assert knife[0].due == dt.date(2022, 7, 30)  # 30 days after 30 June
    police = expected_periods(CONFIG.source("police-street-archive"), YEAR)
    assert len(police) == 12 and police[-1].label == "2023-03" and police[-1].due == dt.date(2023, 5, 30)
    assert expected_periods(CONFIG.source("fingertips-11201"), YEAR) == []  # no cadence: not expected


def test_file_periods_cover_months() -> None:
    assert months_of_file("2022-04/2022-06", YEAR) == {"2022-04", "2022-05", "2022-06"}
    assert months_of_file("2022-12", YEAR) == {"2022-12"}
    assert len(months_of_file("mid-2022", YEAR)) == 12
    assert months_of_file(None, YEAR) is None


def test_a_file_without_a_period_beside_files_with_one() -> None:
    # as the file register reads them: pandas 3 stores the None of a refused file's period as NaN among the labels
    files = pd.DataFrame(
        [("police-knife-crime", "q1.csv", "2022-04/2022-06", "loaded"),
         ("police-knife-crime", "unreadable.csv", None, "quarantined")],
        columns=["source_id", "original_name", "period", "status"],
    )
    table = completeness_table(CONFIG, YEAR, files, today=dt.date(2023, 5, 1))
    knife = table[table["source"] == "police-knife-crime"].set_index("period")["status"].to_dict()
    # a file naming no period could hold any of them: each quarter without a loaded file is received but quarantined
    assert knife == {"2022/23 Q1": "arrived", "2022/23 Q2": "received but quarantined",
                     "2022/23 Q3": "received but quarantined", "2022/23 Q4": "received but quarantined"}
    assert covers(float("nan"), None, YEAR) and not covers("2022-04", float("nan"), YEAR)


def test_statuses_of_each_period() -> None:
    files = _files(
        ("police-knife-crime", "q1.csv", "2022-04/2022-06", "loaded"),
        ("police-knife-crime", "q2.csv", "2022-07/2022-08", "loaded"),  # September missing
        ("police-knife-crime", "q3.csv", "2022-10/2022-12", "quarantined"),
        ("police-knife-crime", "q3-old.csv", "2022-10/2022-12", "superseded"),
    )
    table = completeness_table(CONFIG, YEAR, files, today=dt.date(2023, 5, 1))
    knife = table[table["source"] == "police-knife-crime"].set_index("period")["status"].to_dict()
    assert knife == {"2022/23 Q1": "arrived", "2022/23 Q2": "partial", "2022/23 Q3": "received but quarantined",
                     "2022/23 Q4": "overdue"}
    early = completeness_table(CONFIG, YEAR, files, today=dt.date(2023, 4, 2))
    assert early.set_index(["source", "period"]).loc[("police-knife-crime", "2022/23 Q4"), "status"] == "not yet due"


def test_owners_are_chased_for_their_own_sources_only() -> None:
    table = completeness_table(CONFIG, YEAR, _files(), today=dt.date(2024, 1, 1))
    messages = {m.recipient.id: m for m in data_request_messages(CONFIG, "2022/23", needs_chasing(table))}
    assert set(messages) == {"essex-police-analyst", "mse-icb-intelligence", "essex-youth-justice", "ons"}
    police = messages["essex-police-analyst"].body
    assert "Essex Police knife and sharp-instrument offences" in police and "2022/23 Q4" in police
    assert "youth justice" not in police.lower()
