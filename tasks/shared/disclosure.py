"""Disclosure control for every published output (pure): internal tables keep exact values.

Primary suppression hides counts from ``suppress_from`` to ``suppress_to`` (NHS HES/ECDS: 1-7, shown as "*");
other counts are rounded to the nearest ``round_to`` (1 = no rounding, which makes a policy the plain
"suppress below N" style; see ``suppress_below``).

Secondary suppression, so a hidden cell cannot be worked back from a total: in a table of one measure, year
and age band where the member authorities' rows add up to the partnership's row (area_code ==
partnership.id), a group must never hold exactly one hidden cell. When it does, the smallest non-zero
member cell still shown is hidden too (the common choice in statistical disclosure control: the total is the
headline figure, and hiding the next smallest cell loses the least information); only when no member is left
is the total hidden. The same is done when the total and the shown cells (allowing for their rounding)
would still pin a hidden cell to a single value, e.g. two hidden 7s under an unrounded total of 14.
Every hidden cell of such a group carries the note "suppressed to protect another cell", the small cell as
well as the protecting one, so the notes do not tell which cell is the small one. A hidden count never
shows a rate, interval or change either, since rate x population gives the count back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

from tasks.shared.config import DisclosurePolicy, MetricsFile, Partnership
from tasks.shared.values import is_missing

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
    "lower_ci_998",
    "upper_ci_998",
    "compared_with_baseline",
    "trend",
    "compared_with_england",
    "note",
]
PRIMARY, SECONDARY = "primary", "secondary"
SECONDARY_NOTE = "suppressed to protect another cell"
RATE_HIDDEN_NOTE = "rate not shown: count too small for a reliable rate"


def suppress_below(n: int, symbol: str = "*", min_count_for_rate: int | None = None) -> DisclosurePolicy:
    """The "suppress below N" policy: counts 1 to N-1 hidden, no rounding, rates from N (unless given)."""
    return DisclosurePolicy(
        name=f"suppress below {n}",
        suppress_from=1,
        suppress_to=max(n - 1, 0),
        suppressed_symbol=symbol,
        round_to=1,
        min_count_for_rate=n if min_count_for_rate is None else min_count_for_rate,
    )


def is_small(count: float | None, policy: DisclosurePolicy) -> bool:
    """True when a count falls in the policy's suppressed range (primary suppression)."""
    if is_missing(count):
        return False
    return policy.suppress_from <= round(float(count)) <= policy.suppress_to


def publish_count(count: float | None, policy: DisclosurePolicy) -> str:
    """A count as it may be published: small counts replaced by the symbol, others rounded."""
    if is_missing(count):
        return ""
    exact = int(round(float(count)))
    if policy.suppress_from <= exact <= policy.suppress_to:
        return policy.suppressed_symbol
    # round half up to the nearest multiple (8 -> 10 with round_to 5), as NHS Digital does
    return str(int(math.floor(exact / policy.round_to + 0.5)) * policy.round_to)


def rate_is_publishable(count: float | None, policy: DisclosurePolicy) -> bool:
    """True when a count is large enough for its rate to be shown (Fingertips: 10 or more)."""
    return not is_missing(count) and float(count) >= policy.min_count_for_rate


def published_range(count: float, policy: DisclosurePolicy) -> tuple[int, int]:
    """The whole numbers a reader can tell a shown count lies in, given its rounding (8..12 for "10")."""
    shown = int(publish_count(count, policy))  # a shown count is digits only
    return max(0, shown - policy.round_to // 2), shown + (policy.round_to - 1) // 2


def _pinned(counts: Mapping[str, float | None], hidden: Mapping[str, str], policy: DisclosurePolicy,
            total_key: str) -> bool:
    """True when the total and the shown members narrow some hidden member down to a single value.

    A reader knows each shown cell to its rounding range and each small cell to the suppressed range
    (a cell hidden to protect another is taken as anything from 0 up); the total ties them together.
    """
    if total_key in hidden:
        return False
    low, high = published_range(counts[total_key], policy)
    ranges: dict[str, tuple[float, float]] = {}
    for key, count in counts.items():
        if key == total_key:
            continue
        if key in hidden or is_missing(count):
            primary = hidden.get(key) == PRIMARY
            ranges[key] = (policy.suppress_from, policy.suppress_to) if primary else (0, math.inf)
        else:
            shown_low, shown_high = published_range(count, policy)
            low, high = low - shown_high, high - shown_low
    for key in hidden:
        if key == total_key:
            continue
        others_low = sum(r[0] for k, r in ranges.items() if k != key)
        others_high = sum(r[1] for k, r in ranges.items() if k != key)
        key_low, key_high = ranges[key]
        if min(key_high, high - others_low) - max(key_low, low - others_high) < 1:
            return True
    return False


def _next_to_hide(counts: Mapping[str, float | None], hidden: Mapping[str, str], total_key: str) -> str | None:
    """The cell that protects best at least cost: the smallest non-zero shown member, then a zero member
    (hiding a zero protects little: the hidden cells would add up to the small count), then the total."""
    members = sorted(
        (float(count) == 0, float(count), key)
        for key, count in counts.items()
        if key != total_key and key not in hidden and not is_missing(count)
    )
    if members:
        return members[0][2]
    if total_key not in hidden and not is_missing(counts[total_key]):
        return total_key
    return None


def suppression_pattern(
    counts: Mapping[str, float | None], policy: DisclosurePolicy, total_key: str | None = None
) -> dict[str, str]:
    """The hidden cells of one group: key -> "primary" or "secondary" (cells not listed are shown).

    With ``total_key`` the other cells add up to that one, and secondary suppression makes sure no hidden
    cell can be worked back from the total: the group never has exactly one hidden cell, and the total
    and shown members never narrow a hidden member down to one value (e.g. two hidden 7s under a total of
    exactly 14). Cells are added smallest non-zero member first, the total last.
    """
    hidden = {key: PRIMARY for key, count in counts.items() if is_small(count, policy)}
    if total_key is None or total_key not in counts or is_missing(counts[total_key]):
        return hidden
    while hidden and (len(hidden) == 1 or _pinned(counts, hidden, policy, total_key)):
        key = _next_to_hide(counts, hidden, total_key)
        if key is None:
            break
        hidden[key] = SECONDARY
    return hidden


def _statuses(values: pd.DataFrame, partnership: Partnership, policy: DisclosurePolicy) -> tuple[dict, set]:
    """Suppression status of every (metric, area, age band, period) cell, and the groups that needed
    secondary suppression (member authorities + partnership total, per metric, age band and period)."""
    members = set(partnership.local_authority_codes)
    statuses: dict[tuple, str] = {}
    protected: set[tuple] = set()
    for (metric, band, period), group in values.groupby(["metric_id", "age_band", "period"], sort=False):
        counts = {
            row.area_code: row.numerator
            for row in group.itertuples(index=False)
            if row.area_code in members or row.area_code == partnership.id
        }
        additive = partnership.id in counts and len(counts) > 1
        pattern = suppression_pattern(counts, policy, partnership.id if additive else None)
        for row in group.itertuples(index=False):
            if row.area_code not in counts and is_small(row.numerator, policy):
                pattern[row.area_code] = PRIMARY  # e.g. England: never part of the partnership's sum
        for area, status in pattern.items():
            statuses[(metric, area, band, period)] = status
        if SECONDARY in pattern.values():
            protected.add((metric, band, period))
    return statuses, protected


def _shown(value: object, show: bool, template: str = "{}") -> str:
    return template.format(value) if show and not is_missing(value) else ""


def published_table(values: pd.DataFrame, partnership: Partnership, policy: DisclosurePolicy) -> pd.DataFrame:
    """The metric values of a year as they may leave the system: counts protected (primary and secondary
    suppression, rounding), rates only on counts shown and large enough, and changes only where both
    years' rates are shown."""
    statuses, protected = _statuses(values, partnership, policy) if not values.empty else ({}, set())
    counts = {
        (r.metric_id, r.area_code, r.age_band, r.period): r.numerator for r in values.itertuples(index=False)
    }

    def rate_shown(key: tuple, count: float | None) -> bool:
        return key not in statuses and rate_is_publishable(count, policy)

    rows = []
    for row in values.itertuples(index=False):
        key = (row.metric_id, row.area_code, row.age_band, row.period)
        status = statuses.get(key)
        is_rate = row.method != "count" and not is_missing(row.value)
        show_rate = is_rate and rate_shown(key, row.numerator)
        start = int(row.period[:4])
        prior_key = (row.metric_id, row.area_code, row.age_band, f"{start - 1}/{start % 100:02d}")
        show_change = (
            not is_missing(row.change_on_previous_percent)
            and rate_shown(key, row.numerator)
            and rate_shown(prior_key, counts.get(prior_key))
        )
        notes = [row.note] if isinstance(row.note, str) and row.note else []
        if status and (row.metric_id, row.age_band, row.period) in protected:
            notes.append(SECONDARY_NOTE)
        elif is_rate and not show_rate:
            # generic on purpose: "count under 10" beside a rounded "10" would reveal the count is 8 or 9
            notes.append(RATE_HIDDEN_NOTE)
        rows.append(
            {
                "measure": row.metric_id,
                "title": row.title,
                "area_code": row.area_code,
                "area_name": "England" if row.area_code == "E92000001" else partnership.area_name(row.area_code),
                "financial_year": row.period,
                "age_band": row.age_band,
                "count": policy.suppressed_symbol if status else publish_count(row.numerator, policy),
                "rate_per_100000": f"{row.value:.1f}" if show_rate else "",
                "lower_ci_95": f"{row.lower_ci_95:.1f}" if show_rate and not is_missing(row.lower_ci_95) else "",
                "upper_ci_95": f"{row.upper_ci_95:.1f}" if show_rate and not is_missing(row.upper_ci_95) else "",
                "change_on_previous_year_percent": f"{row.change_on_previous_percent:.1f}" if show_change else "",
                # comparisons rest on the exact counts too: shown only where the rate itself may be shown
                "lower_ci_998": _shown(getattr(row, "lower_ci_998", None), show_rate, "{:.1f}"),
                "upper_ci_998": _shown(getattr(row, "upper_ci_998", None), show_rate, "{:.1f}"),
                "compared_with_baseline": _shown(getattr(row, "compared_with_baseline", None), show_rate),
                "trend": _shown(getattr(row, "trend", None), show_rate),
                "compared_with_england": _shown(getattr(row, "compared_with_england", None), show_rate),
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def published_table_by_policy(values: pd.DataFrame, partnership: Partnership, metrics: MetricsFile) -> pd.DataFrame:
    """Each metric's values published under its own disclosure policy (the default one unless it names another);
    secondary suppression works within a metric, so splitting by policy loses no protection."""
    tables = []
    for policy in metrics.policies_in_use:
        chosen = values[values["metric_id"].map(lambda m, p=policy: metrics.policy_for(m) is p)]
        if not chosen.empty:
            tables.append(published_table(chosen, partnership, policy))
    return pd.concat(tables, ignore_index=True) if tables else published_table(values, partnership, metrics.disclosure)


def published_count_pattern(policy: DisclosurePolicy) -> str:
    """A regular expression every published count must match under the policy: the symbol, 0, or a multiple of
    round_to (written for the rounding bases in use: 1, 2, 5, 10 and their powers of ten)."""
    symbol = re.escape(policy.suppressed_symbol)
    endings = {1: r"\d", 2: r"[02468]", 5: r"[05]", 10: r"0"}
    base, zeros = policy.round_to, 0
    while base % 10 == 0 and base > 10:
        base, zeros = base // 10, zeros + 1
    if base not in endings:
        raise ValueError(f"round_to {policy.round_to} has no published-count check; use 1, 2, 5 or 10 x 10^n")
    return rf"^(?:{symbol}|0|\d*{endings[base]}{'0' * zeros})$"
