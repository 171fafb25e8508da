"""Disclosure control for every published output (pure): internal tables keep exact values.

Each metric is published under its source's policy (config/metrics.yaml: `disclosure_policies`, chosen per dataset
or per metric). Primary suppression hides counts from ``suppress_from`` to ``suppress_to`` (NHS HES/ECDS: 1-7);
other counts are rounded to the nearest ``round_to`` (1 = exact); ``as_published`` carries a producer's published
figures exactly as published. A suppressed count is published blank, with ``count_flag`` saying why: no text in
a numeric column.

What a reader knows (the model every rule below defends against): every published cell, the public ONS population
of every area, that the partnership's count is the sum of its member authorities' counts, every earlier year, and
the policy itself. So:

1. Every published rate, interval, change and comparison is computed from the counts AS PUBLISHED (the rounded
   count; nothing where suppressed), never from the exact ones, by the ``restate`` function the compute stage
   passes in. Rate x population then gives back only the published count; an interval (exact Poisson or Byar,
   both monotone in the count) pins only the published count; a change only relates two published rates. The
   alternative, suppressing every rate beside a rounded count, would publish no rate at all under NHS rules.
   Whether a rate is shown at all is decided on the published count too: a blank rate beside "10" must not
   tell that the exact count was 8 or 9.
2. Secondary suppression: in a group of one measure, period and age band where the member authorities add up to
   the partnership, no hidden cell may be narrowed by the sum to fewer values than the policy promises (a
   suppressed small count to fewer than its whole suppressed range, e.g. two hidden 7s under a total shown as
   "15", which allows only 6 or 7 each). Cells are added smallest non-zero member first, the total last. Every
   hidden cell carries the same note and flag, small or protecting, so a reader cannot tell which is which
   (before, only protected groups were noted, which told the reader that every hidden cell of any other group
   was small).
4. Proportions: the denominator of a percentage is a count of the same source, so it is protected like the count
   (primary and secondary suppression, rounding, controlled totals) and the percentage is computed from the published
   count over the published denominator: percentage x published denominator gives back only the published count.
   A percentage is hidden with either count, and shown only when its published denominator reaches the policy's
   min_count_for_rate.
3. Controlled totals: under a rounding policy, when no member is hidden the partnership's count is published as
   the sum of its members' rounded counts, so the table adds up and the total narrows nothing (an independently
   rounded total beside rounded parts can pin a part to two values: 21 = 13 + 8 publishes "20" = "15" + "10",
   and then the 15 is 13 or 14).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import pandas as pd

from tasks.shared.config import DisclosurePolicy, MetricsFile, Partnership
from tasks.shared.geography import benchmark_name
from tasks.shared.tuples import frame_rows
from tasks.shared.values import is_missing

PUBLISHED_COLUMNS = [
    "measure",
    "title",
    "area_code",
    "ons_code",
    "area_name",
    "financial_year",
    "period",
    "age_band",
    "count",
    "count_flag",
    "denominator",
    "value",
    "value_unit",
    "lower_ci_95",
    "upper_ci_95",
    "change_on_previous_year_percent",
    "lower_ci_998",
    "upper_ci_998",
    "compared_with_baseline",
    "trend",
    "compared_with_england",
    "compared_with_region",
    "statistic",
    "interval_method",
    "disclosure_policy",
    "note",
]
NUMERIC_COLUMNS = ["count", "denominator", "value", "lower_ci_95", "upper_ci_95",
                   "change_on_previous_year_percent", "lower_ci_998", "upper_ci_998"]
PRIMARY, SECONDARY = "primary", "secondary"
SUPPRESSED, ROUNDED, EXACT, AS_PUBLISHED = "suppressed", "rounded", "exact", "as published"
SUM_OF_ROUNDED = "sum of rounded parts"  # a controlled total (module docstring, rule 3)
# one note on every hidden cell, small or protecting: a reader must not tell which is which
SECONDARY_NOTE = "suppressed: a small number, or hidden to protect one"
RATE_HIDDEN_NOTE = "rate not shown: count too small for a reliable rate"
DENOMINATOR_HIDDEN_NOTE = "denominator suppressed: a small number, or hidden to protect one; percentage not shown"
DENOMINATOR_SUM_NOTE = "denominator: the sum of the authorities' rounded denominators"

# restate(values) -> values: the statistics of each row recomputed from its ``numerator`` (the published count;
# NaN where suppressed). It lives in the compute stage, which owns the statistics; this package never imports it.
Restate = Callable[[pd.DataFrame], pd.DataFrame]


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
    if is_missing(count) or policy.as_published:
        return False
    return policy.suppress_from <= round(float(count)) <= policy.suppress_to


def rounded(count: float, policy: DisclosurePolicy) -> int:
    """A count rounded half up to the nearest multiple of round_to (8 -> 10 with 5), as NHS Digital does."""
    exact = int(round(float(count)))
    return int(math.floor(exact / policy.round_to + 0.5)) * policy.round_to


def published_count_value(count: float | None, policy: DisclosurePolicy) -> float | None:
    """The number a count is published as (None when it is suppressed or missing)."""
    if is_missing(count) or is_small(count, policy):
        return None
    if policy.as_published:
        return float(count)
    return float(rounded(count, policy))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def publish_count(count: float | None, policy: DisclosurePolicy) -> str:
    """A count as it may be published: blank when suppressed (its flag says so), otherwise rounded."""
    value = published_count_value(count, policy)
    return "" if value is None else _number(value)


def count_flag(count: float | None, policy: DisclosurePolicy, hidden: bool = False) -> str:
    """What the published count is: suppressed, rounded, exact or as published by its producer."""
    if policy.as_published:
        return AS_PUBLISHED
    if hidden or is_small(count, policy):
        return SUPPRESSED
    if is_missing(count):
        return ""
    return ROUNDED if policy.round_to > 1 else EXACT


def rate_is_publishable(published_count: float | None, policy: DisclosurePolicy) -> bool:
    """True when a PUBLISHED count is large enough for its rate to be shown (Fingertips: 10 or more)."""
    return not is_missing(published_count) and float(published_count) >= policy.min_count_for_rate


def published_range(shown: float, policy: DisclosurePolicy) -> tuple[float, float]:
    """The whole numbers a reader can tell a shown count lies in: those that round to it and are not
    suppressed (8..12 for "10" under NHS rules; only 0 for "0")."""
    shown = int(shown)
    low, high = max(0, shown - policy.round_to // 2), shown + (policy.round_to - 1) // 2
    if policy.suppress_from <= policy.suppress_to:
        if shown < policy.suppress_from:
            high = min(high, policy.suppress_from - 1)
        else:
            low = max(low, policy.suppress_to + 1)
    return low, high


def _required_width(key: str, hidden: Mapping[str, str], shown: Mapping[str, float], policy: DisclosurePolicy) -> int:
    """How many values a cell must keep open to the reader: a small count its whole suppressed range, a cell
    hidden to protect it at least a rounding range (two values when counts are exact), a shown count its own."""
    if hidden.get(key) == PRIMARY:
        return policy.suppress_to - policy.suppress_from + 1
    if hidden.get(key) == SECONDARY:
        return max(2, policy.round_to)
    low, high = published_range(shown[key], policy)
    return int(high - low + 1)


def _narrowed(counts: Mapping[str, float | None], hidden: Mapping[str, str], policy: DisclosurePolicy,
              total_key: str) -> bool:
    """True when the sum (total = members) narrows some cell below what the policy promises.

    The reader knows each shown cell to its rounding range, a small cell to the suppressed range and a cell hidden
    to protect another as anything from 0 up (the defender assumes the reader even knows which hidden cell is
    which: a stronger reader than the real one)."""
    shown = {k: published_count_value(c, policy) for k, c in counts.items() if k not in hidden and not is_missing(c)}
    ranges: dict[str, tuple[float, float]] = {}
    for key, count in counts.items():
        if is_missing(count) or hidden.get(key) == SECONDARY:
            ranges[key] = (0, math.inf)
        elif hidden.get(key) == PRIMARY:
            ranges[key] = (policy.suppress_from, policy.suppress_to)
        else:
            ranges[key] = published_range(shown[key], policy)
    members = [k for k in counts if k != total_key]
    for key in counts:
        if is_missing(counts[key]) and key not in hidden:
            continue  # no figure, nothing to protect
        if key == total_key:
            low = sum(ranges[k][0] for k in members)
            high = sum(ranges[k][1] for k in members)
        else:
            others = [k for k in members if k != key]
            low = ranges[total_key][0] - sum(ranges[k][1] for k in others)
            high = ranges[total_key][1] - sum(ranges[k][0] for k in others)
        own_low, own_high = ranges[key]
        width = min(own_high, high) - max(own_low, low) + 1
        if width < _required_width(key, hidden, shown, policy):
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

    With ``total_key`` the other cells add up to that one, and secondary suppression makes sure the sum narrows
    no cell below what the policy promises (module docstring, rule 2). Under a rounding policy a group with
    nothing hidden publishes its total as the sum of the rounded members (rule 3), so it needs no check."""
    hidden = {key: PRIMARY for key, count in counts.items() if is_small(count, policy)}
    if total_key is None or total_key not in counts or is_missing(counts[total_key]) or policy.as_published:
        return hidden
    while hidden and (len(hidden) == 1 or _narrowed(counts, hidden, policy, total_key)):
        key = _next_to_hide(counts, hidden, total_key)
        if key is None:
            break
        hidden[key] = SECONDARY
    return hidden


def _group_counts(values: pd.DataFrame, partnership: Partnership, policy: DisclosurePolicy) -> tuple[dict, set, dict]:
    """Per (metric, area, age band, period) cell: its suppression status, the totals published as the sum of
    their rounded parts, and the count as published (None where hidden)."""
    members = set(partnership.local_authority_codes)
    statuses: dict[tuple, str] = {}
    controlled: set[tuple] = set()
    published: dict[tuple, float | None] = {}
    for (metric, band, period), group in values.groupby(["metric_id", "age_band", "period"], sort=False):
        group_rows = frame_rows(group)
        counts = {
            row.area_code: row.numerator
            for row in group_rows
            if row.area_code in members or row.area_code == partnership.id
        }
        additive = partnership.id in counts and len(counts) > 1
        pattern = suppression_pattern(counts, policy, partnership.id if additive else None)
        for row in group_rows:
            key = (metric, row.area_code, band, period)
            if row.area_code not in counts and is_small(row.numerator, policy):
                pattern[row.area_code] = PRIMARY  # e.g. England: never part of the partnership's sum
            published[key] = None if row.area_code in pattern else published_count_value(row.numerator, policy)
        member_values = [published[(metric, a, band, period)] for a in counts if a != partnership.id]
        if additive and not pattern and policy.round_to > 1 and not policy.as_published:
            # rule 3: the total is the sum of its published parts (None of them hidden or missing here)
            if all(v is not None for v in member_values) and members <= set(counts):
                published[(metric, partnership.id, band, period)] = float(sum(member_values))
                controlled.add((metric, partnership.id, band, period))
        for area, status in pattern.items():
            statuses[(metric, area, band, period)] = status
    return statuses, controlled, published


def _fmt(value: object, template: str = "{:.1f}") -> str:
    return "" if is_missing(value) else template.format(value)


def previous_period(period: str) -> str:
    """The period a year earlier: 2022/23 -> 2021/22; 2020/21-2022/23 -> 2019/20-2021/22."""
    def back(label: str) -> str:
        start = int(label[:4]) - 1
        return f"{start}/{(start + 1) % 100:02d}"
    return "-".join(back(part) for part in period.split("-"))


def published_table(
    values: pd.DataFrame, partnership: Partnership, policy: DisclosurePolicy, restate: Restate,
    policy_name: str = "",
) -> pd.DataFrame:
    """The metric values as they may leave the system: counts protected (primary and secondary suppression,
    rounding) and every statistic restated from the published counts (module docstring)."""
    if values.empty:
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    statuses, controlled, published = _group_counts(values, partnership, policy)
    keys = list(zip(values["metric_id"], values["area_code"], values["age_band"], values["period"], strict=True))
    share = values["method"].astype(str).str.startswith("proportion")
    proportions = {k for k, is_share in zip(keys, share, strict=True) if is_share}
    # rule 4: a proportion's denominator is a count of its source, protected like one
    den_statuses, den_controlled, den_published = _group_counts(values[share].assign(numerator=values.loc[share, "denominator"]),
                                                   partnership, policy) if proportions else ({}, set(), {})
    if policy.as_published:
        basis = values  # the producer's own figures: nothing to restate
    else:
        denominators = [den_published[k] if k in proportions else d
                        for k, d in zip(keys, values["denominator"], strict=True)]
        basis = restate(values.assign(numerator=[published[k] for k in keys], denominator=denominators)
                        .reset_index(drop=True))
    stats = {(r.metric_id, r.area_code, r.age_band, r.period): r for r in frame_rows(basis)}

    def rate_shown(key: tuple) -> bool:
        row = stats.get(key)
        if row is None or key in statuses or row.method == "count" or is_missing(row.value):
            return False
        if key in proportions:
            return policy.as_published or (key not in den_statuses
                                           and rate_is_publishable(den_published.get(key), policy))
        return policy.as_published or rate_is_publishable(published[key], policy)

    def denominator_text(key: tuple, row) -> str:
        if key not in proportions or policy.as_published:
            return _fmt(getattr(row, "denominator", None), "{:.0f}")
        shown = den_published.get(key)
        return "" if key in den_statuses or shown is None else _number(shown)

    def level_shown(key: tuple) -> bool:  # a count-only metric's change compares published counts
        row = stats.get(key)
        return row is not None and key not in statuses and (row.method != "count" and rate_shown(key)
                                                             or row.method == "count" and published[key] is not None)

    rows = []
    for row, key in zip(frame_rows(values), keys, strict=True):
        stat = stats[key]
        status = statuses.get(key)
        is_rate = row.method != "count" and not is_missing(row.value)
        show_rate = rate_shown(key)
        prior_key = (*key[:3], previous_period(row.period))
        show_change = level_shown(key) and level_shown(prior_key)
        notes = [row.note] if isinstance(row.note, str) and row.note else []
        if status:
            notes.append(SECONDARY_NOTE)
        elif key in den_statuses:
            notes.append(DENOMINATOR_HIDDEN_NOTE)
        if key in den_controlled:
            notes.append(DENOMINATOR_SUM_NOTE)
        elif is_rate and not show_rate and not status:
            # generic on purpose: "count under 10" beside a rounded "10" would reveal the count is 8 or 9
            notes.append(RATE_HIDDEN_NOTE)
        pooled = "-" in row.period
        rows.append(
            {
                "measure": row.metric_id,
                "title": row.title,
                "area_code": row.area_code,
                "ons_code": (partnership.ons_code or "") if row.area_code == partnership.id else row.area_code,
                "area_name": benchmark_name(row.area_code) or partnership.area_name(row.area_code),
                "financial_year": row.period.split("-")[-1],
                "period": row.period,
                "age_band": row.age_band,
                "count": "" if status or published[key] is None else _number(published[key]),
                "count_flag": SUM_OF_ROUNDED if key in controlled else count_flag(row.numerator, policy,
                                                                                    hidden=bool(status)),
                # ONS mid-year estimates are public: the denominator discloses nothing
                "denominator": denominator_text(key, row) if is_rate or pooled else "",
                "value": _fmt(stat.value) if show_rate else "",
                "value_unit": getattr(row, "value_unit", None) or "",
                "lower_ci_95": _fmt(stat.lower_ci_95) if show_rate else "",
                "upper_ci_95": _fmt(stat.upper_ci_95) if show_rate else "",
                "change_on_previous_year_percent": _fmt(stat.change_on_previous_percent) if show_change else "",
                "lower_ci_998": _fmt(getattr(stat, "lower_ci_998", None)) if show_rate else "",
                "upper_ci_998": _fmt(getattr(stat, "upper_ci_998", None)) if show_rate else "",
                "compared_with_baseline": _fmt(getattr(stat, "compared_with_baseline", None), "{}") if show_rate else "",
                "trend": _fmt(getattr(stat, "trend", None), "{}") if show_rate else "",
                "compared_with_england": _fmt(getattr(stat, "compared_with_england", None), "{}") if show_rate else "",
                "compared_with_region": _fmt(getattr(stat, "compared_with_region", None), "{}") if show_rate else "",
                "statistic": "",  # from the metric's definition: published_table_by_policy
                "interval_method": "",
                "disclosure_policy": policy_name or policy.name,
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def published_table_by_policy(
    values: pd.DataFrame, partnership: Partnership, metrics: MetricsFile, restate: Restate
) -> pd.DataFrame:
    """Each metric's values published under its own disclosure policy (its dataset's, unless it names another);
    secondary suppression works within a metric, so splitting by policy loses no protection."""
    tables = []
    for metric_id, chosen in values.groupby("metric_id", sort=False):
        table = published_table(chosen, partnership, metrics.policy_for(metric_id), restate,
                                metrics.policy_name(metric_id))
        # the statistic and its interval method as metrics.yaml defines the version the values were computed with
        versions = {(m.id, m.version): m for m in metrics.metrics}
        definition = versions.get((metric_id, int(chosen["metric_version"].iloc[0]))) if "metric_version" in chosen \
            else None
        if definition is not None:
            table["statistic"] = definition.statistic_words
            table["interval_method"] = definition.interval_words
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=PUBLISHED_COLUMNS)


def published_count_pattern(policy: DisclosurePolicy) -> str:
    """A regular expression every published count must match under the policy: blank (suppressed), 0, or a multiple
    of round_to (written for the rounding bases in use: 1, 2, 5, 10 and their powers of ten); any whole number when
    the figures are carried as their producer published them."""
    if policy.as_published:
        return r"^\d*$"
    endings = {1: r"\d", 2: r"[02468]", 5: r"[05]", 10: r"0"}
    base, zeros = policy.round_to, 0
    while base % 10 == 0 and base > 10:
        base, zeros = base // 10, zeros + 1
    if base not in endings:
        raise ValueError(f"round_to {policy.round_to} has no published-count check; use 1, 2, 5 or 10 x 10^n")
    return rf"^(?:|0|\d*{endings[base]}{'0' * zeros})$"
