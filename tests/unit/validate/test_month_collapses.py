"""Months that collapse against the same month last year."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tasks.validate.plausibility import month_collapses, monthly_totals

MONTHS = [dt.date(2018 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(24)]  # Apr 2018 .. Mar 2020


def _street(counts: dict[dt.date, float]) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": "police_street", "period_start": m, "value": v} for m, v in counts.items()])


def test_a_silently_missing_force_month_is_flagged() -> None:
    # the Greater Manchester case: published until June 2019, then nothing
    counts = {m: 1000.0 for m in MONTHS if m < dt.date(2019, 7, 1)}
    totals = monthly_totals(_street(counts), "police_street", MONTHS)
    findings = month_collapses(totals, threshold=0.5)
    assert findings["month"].tolist()[:2] == ["2019-07", "2019-08"]
    assert set(findings["finding"]) == {"no records at all for the month"}
    assert len(findings) == 9


def test_a_collapse_against_the_same_month_last_year_is_flagged() -> None:
    counts = {m: 1000.0 for m in MONTHS}
    counts[dt.date(2019, 11, 1)] = 300.0
    counts[dt.date(2019, 12, 1)] = 600.0  # down 40%: under the 50% threshold
    findings = month_collapses(monthly_totals(_street(counts), "police_street", MONTHS), threshold=0.5)
    assert findings.to_dict("records") == [{
        "month": "2019-11", "records": 300, "same_month_last_year": 1000, "change_percent": -70.0,
        "finding": "records fell by more than 50% against the same month last year",
    }]
