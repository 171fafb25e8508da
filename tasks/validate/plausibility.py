"""A plausibility check that no single file can fail: months that collapse against the same month last year."""

from __future__ import annotations

import datetime as dt

import pandas as pd

COLLAPSE_COLUMNS = ["month", "records", "same_month_last_year", "change_percent", "finding"]


def monthly_totals(observations: pd.DataFrame, dataset: str, months: list[dt.date]) -> pd.Series:
    """Records per month of a dataset, with 0 for a month that has no observation at all."""
    rows = observations[observations["dataset"] == dataset]
    totals = rows.groupby("period_start")["value"].sum()
    return pd.Series({month: float(totals.get(month, 0.0)) for month in months})


def month_collapses(totals: pd.Series, threshold: float) -> pd.DataFrame:
    """Months with no records, or fewer than (1 - threshold) x the same month a year earlier.

    Catches a force-month silently missing or cut short, as when Greater Manchester Police published
    nothing from July 2019: a file can pass every check of its own and still be far too small.
    """
    findings = []
    for month, records in totals.items():
        prior_month = dt.date(month.year - 1, month.month, 1)
        prior = totals.get(prior_month)
        change = None if prior in (None, 0) else 100 * (records - prior) / prior
        if records == 0:
            finding = "no records at all for the month"
        elif prior and records < (1 - threshold) * prior:
            finding = f"records fell by more than {threshold:.0%} against the same month last year"
        else:
            continue
        findings.append(
            {
                "month": month.strftime("%Y-%m"),
                "records": int(records),
                "same_month_last_year": None if prior is None else int(prior),
                "change_percent": None if change is None else round(change, 1),
                "finding": finding,
            }
        )
    return pd.DataFrame(findings, columns=COLLAPSE_COLUMNS)
