"""Comparisons of a measure over time and between areas, as OHID Fingertips makes them (pure).

Sources followed (ukhsa-collaboration/PHEindicatormethods unless said otherwise):
- benchmark comparison: Fingertips "compared with benchmark" - an area is significantly different when the
  benchmark lies outside the area's confidence interval (95% or 99.8%); the same test is
  assign_funnel_significance's for rates (R/Funnels.R, funnel_ratio_significance in R/utils.R);
- trend markers: dhsc-govuk/PHEindicatormethods R/TrendMarkers.R assign_trend_markers with
  calculate_trend_weighted_regression / calculate_trend_logistic_regression (R/utils.R), the R port of
  Fingertips' own PholioVisualisation TrendMarkerCalculator (C#);
- funnel plots for rates: R/Funnels.R calculate_funnel_limits / assign_funnel_significance (statistic =
  "rate") with poisson_funnel / poisson_cis (R/utils.R);
- change against a baseline: the exact conditional test for two Poisson rates (Breslow & Day 1987, vol. II;
  R's stats::poisson.test for two samples), which needs no normal approximation for small counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special
from scipy.stats import binomtest, chi2

from tasks.compute.statistics import (
    RateEstimate,
    StatisticsInputError,
    change_on_previous,
    crude_rate,
    normalise_confidence,
    poisson_interval,
    z_value,
)

Polarity = Literal["low_is_good", "high_is_good", "no_polarity"]
POLARITIES: tuple[str, ...] = ("low_is_good", "high_is_good", "no_polarity")

TREND_POINTS = 5
TREND_CHI2_THRESHOLD = 9.5495  # as in assign_trend_markers: chi2.ppf(0.998, 1) = 9.54953570608324 (Fingertips C#)
FUNNEL_POINTS = 100
FUNNEL_BISECTION_TOLERANCE = 1e-7

INCREASING, DECREASING = "Increasing", "Decreasing"
NO_SIGNIFICANT_CHANGE, CANNOT_BE_CALCULATED = "No significant change", "Cannot be calculated"


# --- year on year and baseline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """Absolute and percentage change; percent is None when the earlier value is 0 or missing."""

    absolute: float | None
    percent: float | None


def year_on_year_change(current: float | None, previous: float | None) -> Change:
    """Change of a value on the previous year (absolute, and % of the previous year)."""
    absolute, percent = change_on_previous(current, previous)
    return Change(absolute, percent)


@dataclass(frozen=True)
class RateRatioTest:
    """Ratio of two Poisson rates with its exact conditional confidence interval and two-sided p-value."""

    ratio: float | None
    lower: float | None
    upper: float | None
    p_value: float
    confidence: float
    method: str = "exact conditional test for two Poisson rates (binomial on count1 | count1 + count2)"


def poisson_rate_ratio_test(
    count1: float, exposure1: float, count2: float, exposure2: float, confidence: float = 0.95
) -> RateRatioTest:
    """Rate 1 against rate 2: count1 ~ Binomial(count1 + count2, T1 / (T1 + T2)) when the rates are equal.

    Same as R's poisson.test(c(count1, count2), c(exposure1, exposure2)): the p-value is binom.test's
    two-sided one, and the Clopper-Pearson limits p are mapped to the ratio as p / (1 - p) x T2 / T1.
    """
    level = normalise_confidence(confidence)
    for name, value in (("count1", count1), ("count2", count2)):
        if value is None or value < 0 or value != int(value):
            raise StatisticsInputError(f"{name} must be a whole number of 0 or more (got {value})")
    for name, value in (("exposure1", exposure1), ("exposure2", exposure2)):
        if value is None or not value > 0:
            raise StatisticsInputError(f"{name} must be greater than zero (got {value})")
    total = int(count1 + count2)
    if total == 0:
        return RateRatioTest(ratio=None, lower=None, upper=None, p_value=1.0, confidence=level)
    test = binomtest(int(count1), total, exposure1 / (exposure1 + exposure2))
    interval = test.proportion_ci(confidence_level=level, method="exact")

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * exposure2 / exposure1

    ratio = math.inf if count2 == 0 else (count1 / exposure1) / (count2 / exposure2)
    return RateRatioTest(ratio=ratio, lower=to_ratio(interval.low), upper=to_ratio(interval.high),
                         p_value=float(test.pvalue), confidence=level)


@dataclass(frozen=True)
class BaselineComparison:
    """The current rate against the mean rate of the previous years, with an exact significance test."""

    current: RateEstimate
    baseline_rate: float
    absolute_change: float
    percent_change: float | None
    test: RateRatioTest
    verdict: str


def baseline_comparison(
    current_count: float,
    current_denominator: float,
    previous_counts: Sequence[float],
    previous_denominators: Sequence[float],
    multiplier: int = 100_000,
    confidence: float = 0.95,
    baseline_years: int = 3,
) -> BaselineComparison:
    """This year's rate against the baseline: the mean of the previous ``baseline_years`` years' rates.

    Significance: the exact conditional test of this year's count against the pooled baseline count over
    the pooled baseline population (poisson_rate_ratio_test). The pooled baseline rate equals the mean of
    the annual rates when the populations are equal and differs from it negligibly when they drift slowly.
    """
    level = normalise_confidence(confidence)
    if len(previous_counts) != baseline_years or len(previous_denominators) != baseline_years:
        raise StatisticsInputError(
            f"a {baseline_years}-year baseline needs {baseline_years} previous counts and denominators "
            f"(got {len(previous_counts)} counts and {len(previous_denominators)} denominators)"
        )
    current = crude_rate(current_count, current_denominator, multiplier, level)
    previous = [crude_rate(c, d, multiplier, level) for c, d in zip(previous_counts, previous_denominators,
                                                                      strict=True)]
    baseline = sum(p.value for p in previous) / baseline_years
    absolute, percent = change_on_previous(current.value, baseline)
    test = poisson_rate_ratio_test(current_count, current_denominator, sum(previous_counts),
                                   sum(previous_denominators), level)
    if current_count + sum(previous_counts) == 0:
        verdict = CANNOT_BE_CALCULATED
    elif test.p_value < 1 - level:
        verdict = "Significantly higher" if current.value > baseline else "Significantly lower"
    else:
        verdict = NO_SIGNIFICANT_CHANGE
    return BaselineComparison(current=current, baseline_rate=baseline, absolute_change=absolute,
                              percent_change=percent, test=test, verdict=verdict)


# --- benchmark (England, region) ------------------------------------------------------------------------


def compare_with_benchmark(
    lower: float | None, upper: float | None, benchmark: float | None, polarity: Polarity = "low_is_good"
) -> str:
    """Fingertips' comparison: Better/Similar/Worse (Higher/Similar/Lower without polarity) by whether the
    benchmark lies outside the area's confidence interval; "Not compared" when something is missing."""
    if polarity not in POLARITIES:
        raise StatisticsInputError(f"polarity must be one of {', '.join(POLARITIES)} (got {polarity!r})")
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (lower, upper, benchmark)):
        return "Not compared"
    if lower > benchmark:
        higher = True
    elif upper < benchmark:
        higher = False
    else:
        return "Similar"
    if polarity == "no_polarity":
        return "Higher" if higher else "Lower"
    return "Worse" if higher == (polarity == "low_is_good") else "Better"


def compare_rate_with_benchmark(
    count: float,
    denominator: float,
    benchmark_rate: float,
    multiplier: int = 100_000,
    polarity: Polarity = "low_is_good",
    levels: Sequence[float] = (0.95, 0.998),
) -> dict[float, str]:
    """An area's crude rate against a benchmark rate at each confidence level (0.95 and 0.998)."""
    result = {}
    for level in levels:
        estimate = crude_rate(count, denominator, multiplier, level)
        result[normalise_confidence(level)] = compare_with_benchmark(
            estimate.lower, estimate.upper, benchmark_rate, polarity
        )
    return result


# --- trend markers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendResult:
    """A Fingertips recent-trend marker over the five most recent points, with its chi-squared test."""

    marker: str
    reason: str
    statistic: float | None = None
    p_value: float | None = None
    slope: float | None = None
    periods: tuple[float, ...] = ()


def _period_number(period: object) -> float:
    if isinstance(period, int | float) and not isinstance(period, bool):
        return float(period)
    match = re.match(r"^\s*(\d{4})", str(period))
    if not match:
        raise StatisticsInputError(f"period {period!r} is neither a number nor starts with a year (like 2022/23)")
    return float(match.group(1))


def _recent(periods: Sequence[object], *columns: Sequence[float | None]) -> tuple[list[float], list[list]] | str:
    """The five most recent points in time order, or the reason the trend cannot be calculated."""
    lengths = {len(periods), *(len(c) for c in columns)}
    if len(lengths) != 1:
        raise StatisticsInputError("periods and values must have the same length")
    times = [_period_number(p) for p in periods]
    if len(set(times)) != len(times):
        raise StatisticsInputError("periods must be unique")
    if len(times) < TREND_POINTS:
        return "Not enough data points"
    order = sorted(range(len(times)), key=times.__getitem__)[-TREND_POINTS:]
    recent = [times[i] for i in order]
    steps = {round(b - a, 9) for a, b in pairwise(recent)}
    if len(steps) != 1:
        return "Time points not equally spaced"
    selected = [[c[i] for i in order] for c in columns]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for col in selected for v in col):
        return "Missing values"
    return recent, [[float(v) for v in col] for col in selected]


def _weighted_slope(values: list[float], times: list[float], variances: list[float]) -> tuple[float, float]:
    """Slope and its variance of a weighted least-squares line (weights 1 / variance)."""
    s1 = sum(1 / v for v in variances)
    s_vt = sum(y * t / v for y, t, v in zip(values, times, variances, strict=True))
    s_t = sum(t / v for t, v in zip(times, variances, strict=True))
    s_v = sum(y / v for y, v in zip(values, variances, strict=True))
    s_tt = sum(t * t / v for t, v in zip(times, variances, strict=True))
    determinant = s1 * s_tt - s_t**2
    return (s1 * s_vt - s_t * s_v) / determinant, s1 / determinant


def _logit_slope(numerators: list[float], denominators: list[float], times: list[float]) -> float:
    """Ordinary least-squares slope of log(p / (1 - p)) on time (the direction used for proportions)."""
    logits = [math.log((x / n) / (1 - x / n)) for x, n in zip(numerators, denominators, strict=True)]
    count = len(times)
    numerator = count * sum(y * t for y, t in zip(logits, times, strict=True)) - sum(logits) * sum(times)
    return numerator / (count * sum(t * t for t in times) - sum(times) ** 2)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _marker(statistic: float, slope: float, leave_one_out: list[float], times: list[float]) -> TrendResult:
    p_value = float(chi2.sf(statistic, 1))
    common = dict(statistic=statistic, p_value=p_value, slope=slope, periods=tuple(times))
    if statistic <= TREND_CHI2_THRESHOLD:
        return TrendResult(NO_SIGNIFICANT_CHANGE, "No significant trend", **common)
    if any(_sign(s) != _sign(slope) for s in leave_one_out):
        return TrendResult(NO_SIGNIFICANT_CHANGE, "Outlier found", **common)
    marker = DECREASING if slope < 0 else INCREASING
    return TrendResult(marker, "No outliers and significant trend", **common)


def trend_marker(
    periods: Sequence[object],
    values: Sequence[float | None],
    lower: Sequence[float | None],
    upper: Sequence[float | None],
    confidence: float = 0.95,
) -> TrendResult:
    """Recent trend of rates, ratios, means...: chi-squared test for linear trend over the latest 5 points.

    As calculate_trend_weighted_regression: standard errors from the confidence limits,
    se = (upper - lower) / (2 z); weighted least squares of value on time with weights 1/se^2;
    X^2 = slope^2 / var(slope) on 1 df. Significant when X^2 > 9.5495 (the 99.8% point) and no single point
    reverses the slope when left out (the "outlier" check); otherwise "No significant change".
    """
    z = z_value(confidence)
    recent = _recent(periods, values, lower, upper)
    if isinstance(recent, str):
        return TrendResult(CANNOT_BE_CALCULATED, recent)
    times, (ys, lows, highs) = recent
    variances = [((hi - lo) / (2 * z)) ** 2 for lo, hi in zip(lows, highs, strict=True)]
    if any(v <= 0 for v in variances):
        return TrendResult(CANNOT_BE_CALCULATED, "Confidence interval of zero width")
    slope, variance = _weighted_slope(ys, times, variances)
    leave_one_out = [
        _weighted_slope(ys[:i] + ys[i + 1:], times[:i] + times[i + 1:], variances[:i] + variances[i + 1:])[0]
        for i in range(len(ys))
    ]
    return _marker(slope**2 / variance, slope, leave_one_out, times)


def trend_marker_for_rates(
    periods: Sequence[object], counts: Sequence[float], denominators: Sequence[float], multiplier: int = 100_000
) -> TrendResult:
    """Recent trend of crude rates from counts and populations (95% Poisson limits feed trend_marker)."""
    if len({len(periods), len(counts), len(denominators)}) != 1:
        raise StatisticsInputError("periods, counts and denominators must have the same length")
    estimates = [crude_rate(c, d, multiplier, 0.95) for c, d in zip(counts, denominators, strict=True)]
    return trend_marker(periods, [e.value for e in estimates], [e.lower for e in estimates],
                        [e.upper for e in estimates], 0.95)


def trend_marker_for_proportions(
    periods: Sequence[object], numerators: Sequence[float], denominators: Sequence[float]
) -> TrendResult:
    """Recent trend of proportions: the chi-squared test for trend in proportions over the latest 5 points.

    As calculate_trend_logistic_regression: X^2 = N (N Sum(x t) - X Sum(n t))^2 /
    (X (N - X) (N Sum(n t^2) - Sum(n t)^2)) with N = Sum(n), X = Sum(x); direction and the outlier check
    from the least-squares slope of the logit of the proportion.
    """
    recent = _recent(periods, numerators, denominators)
    if isinstance(recent, str):
        return TrendResult(CANNOT_BE_CALCULATED, recent)
    times, (xs, ns) = recent
    for x, n in zip(xs, ns, strict=True):
        if x < 0 or n <= 0 or x > n:
            raise StatisticsInputError(f"each numerator must be between 0 and its denominator (got {x} of {n})")
    if any(x == 0 or x == n for x, n in zip(xs, ns, strict=True)):
        return TrendResult(CANNOT_BE_CALCULATED, "A proportion of 0 or 1 has no logit")
    total_n, total_x = sum(ns), sum(xs)
    sum_xt = sum(x * t for x, t in zip(xs, times, strict=True))
    sum_nt = sum(n * t for n, t in zip(ns, times, strict=True))
    sum_ntt = sum(n * t * t for n, t in zip(ns, times, strict=True))
    statistic = total_n * (total_n * sum_xt - total_x * sum_nt) ** 2 / (
        total_x * (total_n - total_x) * (total_n * sum_ntt - sum_nt**2)
    )
    slope = _logit_slope(xs, ns, times)
    leave_one_out = [
        _logit_slope(xs[:i] + xs[i + 1:], ns[:i] + ns[i + 1:], times[:i] + times[i + 1:]) for i in range(len(xs))
    ]
    return _marker(statistic, slope, leave_one_out, times)


# --- funnel plots for rates -----------------------------------------------------------------------------


def poisson_funnel_mean(events: int, p: float, side: Literal["low", "high"]) -> float:
    """The Poisson mean at which ``events`` sits on a control limit (R/utils.R poisson_funnel).

    "high": P(X <= events | mean) = p; "low": P(X >= events | mean) = p. Found, as the package does, by
    bisection on v in (0, 1) with mean = (1 + events) v / (1 - v), to a step of 1e-7.
    """
    return float(poisson_funnel_means([events], p, side)[0])


def poisson_funnel_means(events: Sequence[int], p: float, side: Literal["low", "high"]) -> np.ndarray:
    """poisson_funnel_mean for many event counts at once: the same bisection steps on every count together.

    A funnel needs 400 of them (100 counts, 2 limits, 2 sides) of about 23 steps each; one scipy.stats call per
    step cost 2-4 s a partnership, while the same Poisson tail from scipy.special on all counts at once is the
    same number (scipy.stats' poisson.cdf and .sf evaluate special.pdtr and .pdtrc) at a hundredth of the cost.
    """
    if side not in ("low", "high"):
        raise StatisticsInputError(f"side must be 'low' or 'high' (got {side!r})")
    counts = np.asarray(events, dtype=np.int64)
    v = np.full(counts.shape, 0.5)
    dv = 0.5
    while dv > FUNNEL_BISECTION_TOLERANCE:
        dv /= 2
        mean = (1 + counts) * v / (1 - v)
        if side == "low":
            # P(X >= events) = P(X > events - 1); for 0 events it is 1 (pdtrc is undefined below 0)
            tail = np.where(counts > 0, special.pdtrc(np.maximum(counts - 1, 0), mean), 1.0)
            v = np.where(tail > p, v - dv, v + dv)
        else:
            v = np.where(special.pdtr(counts, mean) < p, v - dv, v + dv)
    return (1 + counts) * v / (1 - v)


def _derived_denominators(
    counts: Sequence[float], rates: Sequence[float | None], multiplier: float, rate_type: str,
    denominators: Sequence[float] | None,
) -> list[float]:
    """Denominators behind each rate: multiplier x count / rate; for 0 events the given denominator
    (crude) or none at all (dsr), as calculate_funnel_limits derives them."""
    if rate_type not in ("crude", "dsr"):
        raise StatisticsInputError(f"rate_type must be 'crude' or 'dsr' (got {rate_type!r})")
    if len(counts) != len(rates) or (denominators is not None and len(denominators) != len(counts)):
        raise StatisticsInputError("counts, rates and denominators must have the same length")
    derived = []
    for i, (count, rate) in enumerate(zip(counts, rates, strict=True)):
        if count is None or count < 0:
            raise StatisticsInputError(f"counts must be 0 or more (got {count} at position {i})")
        if count == 0:
            if rate_type == "dsr":
                derived.append(math.nan)
                continue
            if denominators is None:
                raise StatisticsInputError("where a record has 0 events, its denominator must be supplied")
            if not denominators[i] > 0:
                raise StatisticsInputError(f"denominators must be greater than zero (got {denominators[i]})")
            derived.append(float(denominators[i]))
        else:
            if rate is None or not rate > 0:
                raise StatisticsInputError(f"a rate must be greater than zero where there are events (got {rate})")
            derived.append(multiplier * count / rate)
    return derived


def _axis_floor(x: float, down: float = 0.95) -> float:
    """signif.floor in calculate_funnel_limits: round down to the leading digit for a tidy axis."""
    if x == 0:
        return 0.0
    digits = len(str(math.floor(x * down))) - 1
    return math.floor(x * down / 10**digits) * 10**digits


def _axis_ceiling(x: float, up: float = 1.05) -> float:
    """signif.ceiling in calculate_funnel_limits: round up to two leading digits for a tidy axis."""
    if x == 0:
        return 0.0
    digits = len(str(math.ceil(x * up))) - 2
    return math.ceil(x * up / 10**digits) * 10**digits


def funnel_limits_for_rates(
    counts: Sequence[float],
    rates: Sequence[float | None],
    multiplier: float = 100_000,
    years_of_data: float = 1,
    rate_type: Literal["crude", "dsr"] = "crude",
    denominators: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Poisson control limits (95% = 2 sigma, 99.8% = 3 sigma) around the areas' average rate, for a funnel plot.

    As calculate_funnel_limits(statistic = "rate"): the average is sum(counts) / sum(derived denominators);
    100 event counts are spread over the axis; for each, the population (per year) at which that many
    events lie exactly on each limit, and the limit itself (per ``multiplier``). Columns: events,
    lower_2s_population_1_year, lower_2s_limit, upper_2s_..., lower_3s_..., upper_3s_..., baseline.
    """
    if years_of_data is None or not years_of_data > 0:
        raise StatisticsInputError(f"years_of_data must be greater than zero (got {years_of_data})")
    derived = _derived_denominators(counts, rates, multiplier, rate_type, denominators)
    known = [d for d in derived if not math.isnan(d)]
    if not known or sum(counts) <= 0:
        raise StatisticsInputError("a funnel plot needs at least one area with events")
    average = sum(counts) / sum(known)
    smallest, largest = min(known), max(known)
    axis_min = 0.0 if largest > 2 * smallest else _axis_floor(smallest / years_of_data) * years_of_data
    axis_max = _axis_ceiling(largest / years_of_data) * years_of_data
    axis_min, axis_max = math.floor(axis_min * average), math.ceil(axis_max * average)
    events = [max(1, axis_min)]
    for j in range(2, FUNNEL_POINTS + 1):
        step = round((axis_max / events[-1]) ** (1 / (101 - j)) * events[-1])
        events.append(max(step, events[-1] + 1))
    means = {(p, side): poisson_funnel_means(events, p, side).tolist()
             for p in (0.025, 0.001) for side in ("high", "low")}
    rows = []
    for i, e in enumerate(events):
        row: dict[str, float] = {"events": e}
        for name, p in (("2s", 0.025), ("3s", 0.001)):
            for bound, side in (("lower", "high"), ("upper", "low")):
                population = means[(p, side)][i] / average
                row[f"{bound}_{name}_population_1_year"] = population / years_of_data
                row[f"{bound}_{name}_limit"] = e / population * multiplier
        row["baseline"] = average * multiplier
        rows.append(row)
    columns = ["events"] + [f"{b}_{n}_{k}" for n in ("2s", "3s") for b in ("lower", "upper")
                            for k in ("population_1_year", "limit")] + ["baseline"]
    return pd.DataFrame(rows, columns=columns)


def funnel_significance_for_rates(
    counts: Sequence[float],
    rates: Sequence[float | None],
    multiplier: float = 100_000,
    rate_type: Literal["crude", "dsr"] = "crude",
    denominators: Sequence[float] | None = None,
) -> list[str]:
    """Each area against the funnel: "High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)",
    "Not significant" (or "Not applicable for events less than 10 for dsrs").

    As assign_funnel_significance(statistic = "rate"): the average rate lies outside the area's 99.8% or 95%
    Poisson interval (exact under 10 events, Byar's from 10) around its own count.
    """
    derived = _derived_denominators(counts, rates, multiplier, rate_type, denominators)
    average = sum(counts) / sum(d for d in derived if not math.isnan(d))
    labels = []
    for count, denominator in zip(counts, derived, strict=True):
        if rate_type == "dsr" and count < 10:
            labels.append("Not applicable for events less than 10 for dsrs")
            continue
        if math.isnan(denominator):
            labels.append("Not significant")
            continue
        wide_low, wide_high, _ = poisson_interval(count, 0.998)
        narrow_low, narrow_high, _ = poisson_interval(count, 0.95)
        if average < wide_low / denominator:
            labels.append("High (0.001)")
        elif average < narrow_low / denominator:
            labels.append("High (0.025)")
        elif average > wide_high / denominator:
            labels.append("Low (0.001)")
        elif average > narrow_high / denominator:
            labels.append("Low (0.025)")
        else:
            labels.append("Not significant")
    return labels
