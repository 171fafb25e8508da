"""Plausibility checks that no single file can fail: collapsing months and sources that tell different stories."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

COLLAPSE_COLUMNS = ["month", "records", "same_month_last_year", "change_percent", "finding"]
DIVERGENCE_COLUMNS = ["rule", "measure", "this_year", "last_year", "ratio", "finding"]


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


def divergences(values: pd.DataFrame, rules: list, area: str, year: str, previous: str) -> pd.DataFrame:
    """For each rule, compare the year-on-year change of its measures' counts: when one measure's change is more
    than ``max_factor`` times another's (e.g. police knife crime flat while sharp-object admissions treble),
    at least one source is probably incomplete or miscoded."""
    counts = values[(values["area_code"] == area) & (values["age_band"] == "all")]
    lookup = {(r.metric_id, r.period): r.numerator for r in counts.itertuples(index=False)}
    rows = []
    for rule in rules:
        ratios = {}
        for metric in rule.metrics:
            now, before = lookup.get((metric, year)), lookup.get((metric, previous))
            ratio = None
            if now is not None and before is not None and before > 0 and not math.isnan(now):
                # +1 on both sides keeps a tiny count from turning a change of one into an infinite ratio
                ratio = (now + 1) / (before + 1)
            ratios[metric] = ratio
            rows.append({"rule": rule.id, "measure": metric, "this_year": now, "last_year": before,
                         "ratio": None if ratio is None else round(ratio, 3), "finding": ""})
        known = [r for r in ratios.values() if r is not None]
        if len(known) >= 2 and max(known) / min(known) > rule.max_factor:
            for row in rows[-len(rule.metrics):]:
                row["finding"] = (
                    f"year-on-year changes differ by a factor of {max(known) / min(known):.1f} "
                    f"(more than {rule.max_factor:g}): {rule.description}"
                )
    return pd.DataFrame(rows, columns=DIVERGENCE_COLUMNS)
