"""Disclosure control for every published output (pure): internal tables keep exact values."""

from __future__ import annotations

import math

import pandas as pd

from tasks.config import DisclosurePolicy, Partnership

PUBLISHED_COLUMNS = [
    "measure",
    "title",
    "area_code",
    "area_name",
    "financial_year",
    "age_band",
    "count",
    "rate_per_100000",
    "lower_ci_95",
    "upper_ci_95",
    "change_on_previous_year_percent",
    "note",
]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def publish_count(count: float | None, policy: DisclosurePolicy) -> str:
    """A count as it may be published: small counts replaced by the symbol, others rounded."""
    if _missing(count):
        return ""
    exact = int(round(float(count)))
    if policy.suppress_from <= exact <= policy.suppress_to:
        return policy.suppressed_symbol
    # round half up to the nearest multiple (8 -> 10 with round_to 5), as NHS Digital does
    return str(int(math.floor(exact / policy.round_to + 0.5)) * policy.round_to)


def rate_is_publishable(count: float | None, policy: DisclosurePolicy) -> bool:
    return not _missing(count) and float(count) >= policy.min_count_for_rate


def published_table(values: pd.DataFrame, partnership: Partnership, policy: DisclosurePolicy) -> pd.DataFrame:
    """The metric values of a year as they may leave the system: counts protected, rates only on
    counts large enough, and changes only where both years' counts allow a rate."""
    rows = []
    counts = {
        (r.metric_id, r.area_code, r.age_band, r.period): r.numerator for r in values.itertuples(index=False)
    }
    for row in values.itertuples(index=False):
        is_rate = row.method != "count" and not _missing(row.value)
        show_rate = is_rate and rate_is_publishable(row.numerator, policy)
        start = int(row.period[:4])
        prior_count = counts.get((row.metric_id, row.area_code, row.age_band, f"{start - 1}/{start % 100:02d}"))
        show_change = (
            not _missing(row.change_on_previous_percent)
            and rate_is_publishable(row.numerator, policy)
            and rate_is_publishable(prior_count, policy)
        )
        notes = [row.note] if isinstance(row.note, str) and row.note else []
        if is_rate and not show_rate:
            # generic on purpose: "count under 10" beside a rounded "10" would reveal the count is 8 or 9
            notes.append("rate not shown: count too small for a reliable rate")
        rows.append(
            {
                "measure": row.metric_id,
                "title": row.title,
                "area_code": row.area_code,
                "area_name": "England" if row.area_code == "E92000001" else partnership.area_name(row.area_code),
                "financial_year": row.period,
                "age_band": row.age_band,
                "count": publish_count(row.numerator, policy),
                "rate_per_100000": f"{row.value:.1f}" if show_rate else "",
                "lower_ci_95": f"{row.lower_ci_95:.1f}" if show_rate and not _missing(row.lower_ci_95) else "",
                "upper_ci_95": f"{row.upper_ci_95:.1f}" if show_rate and not _missing(row.upper_ci_95) else "",
                "change_on_previous_year_percent": f"{row.change_on_previous_percent:.1f}" if show_change else "",
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
