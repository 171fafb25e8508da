"""Public-health statistics as UKHSA's PHEindicatormethods computes them (pure functions, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import chi2, norm


class StatisticsInputError(ValueError):
    """An input a public-health method refuses: negative counts, non-positive denominators, bad levels."""


@dataclass(frozen=True)
class RateEstimate:
    """A rate with its confidence interval, and the method that produced the interval."""

    count: float
    denominator: float
    value: float
    lower: float
    upper: float
    method: str
    confidence: float
    multiplier: int


def _check_count(count: float) -> None:
    if count is None or math.isnan(count):
        raise StatisticsInputError("count is missing")
    if count < 0:
        raise StatisticsInputError(f"count must not be negative (got {count})")
    if count != int(count):
        raise StatisticsInputError(f"count must be a whole number (got {count})")


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise StatisticsInputError(f"confidence must be between 0 and 1 (got {confidence})")
    return 1 - confidence


def exact_poisson_interval(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood, chi-squared) interval for a Poisson count."""
    _check_count(count)
    alpha = _check_confidence(confidence)
    lower = 0.0 if count == 0 else chi2.ppf(alpha / 2, 2 * count) / 2
    upper = chi2.ppf(1 - alpha / 2, 2 * (count + 1)) / 2
    return float(lower), float(upper)


def byar_interval(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval (PHEindicatormethods, counts of 10 or more)."""
    _check_count(count)
    alpha = _check_confidence(confidence)
    z = norm.ppf(1 - alpha / 2)
    if count == 0:
        lower = 0.0
    else:
        lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return float(lower), float(upper)


def poisson_interval(count: float, confidence: float = 0.95) -> tuple[float, float, str]:
    """Exact interval for counts under 10, Byar's method otherwise, as Fingertips does."""
    if count < 10:
        lower, upper = exact_poisson_interval(count, confidence)
        return lower, upper, "exact Poisson"
    lower, upper = byar_interval(count, confidence)
    return lower, upper, "Byar"


def crude_rate(count: float, denominator: float, multiplier: int = 100_000, confidence: float = 0.95) -> RateEstimate:
    """A crude rate per ``multiplier`` population with its Poisson confidence interval."""
    _check_count(count)
    if denominator is None or math.isnan(denominator) or denominator <= 0:
        raise StatisticsInputError(f"denominator must be greater than zero (got {denominator})")
    lower, upper, method = poisson_interval(count, confidence)
    scale = multiplier / denominator
    return RateEstimate(
        count=count,
        denominator=denominator,
        value=count * scale,
        lower=lower * scale,
        upper=upper * scale,
        method=f"crude rate, {method} {confidence:.1%} CI",
        confidence=confidence,
        multiplier=multiplier,
    )


def change_on_previous(current: float | None, previous: float | None) -> tuple[float | None, float | None]:
    """Absolute and percentage change from the previous period; percent is None when previous is 0 or missing."""
    if current is None or previous is None or math.isnan(current) or math.isnan(previous):
        return None, None
    difference = current - previous
    percent = None if previous == 0 else 100 * difference / previous
    return difference, percent
