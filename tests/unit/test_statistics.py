"""Rates and intervals against formulas computed independently (gamma quantiles, Byar's closed form)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import gamma, norm

from tasks.metrics.statistics import (
    StatisticsInputError,
    byar_interval,
    change_on_previous,
    crude_rate,
    exact_poisson_interval,
    poisson_interval,
)


@pytest.mark.parametrize("count", [1, 2, 5, 9, 10, 37, 250])
@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_exact_interval_matches_gamma_quantiles(count: int, confidence: float) -> None:
    alpha = 1 - confidence
    lower, upper = exact_poisson_interval(count, confidence)
    assert lower == pytest.approx(gamma.ppf(alpha / 2, count), rel=1e-9)
    assert upper == pytest.approx(gamma.ppf(1 - alpha / 2, count + 1), rel=1e-9)


def test_exact_interval_of_zero_starts_at_zero() -> None:
    lower, upper = exact_poisson_interval(0, 0.95)
    assert lower == 0.0
    assert upper == pytest.approx(-math.log(0.025), rel=1e-9)  # 3.6889: P(X=0 | mu) = 0.025


@pytest.mark.parametrize("count", [10, 23, 100, 1000])
def test_byar_matches_closed_form_and_is_close_to_exact(count: int) -> None:
    z = norm.ppf(0.975)
    lower, upper = byar_interval(count, 0.95)
    assert lower == pytest.approx(count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3, rel=1e-12)
    assert upper == pytest.approx(
        (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3, rel=1e-12
    )
    exact_lower, exact_upper = exact_poisson_interval(count, 0.95)
    assert lower == pytest.approx(exact_lower, rel=0.01)
    assert upper == pytest.approx(exact_upper, rel=0.01)


def test_method_switches_at_ten() -> None:
    assert poisson_interval(9)[2] == "exact Poisson"
    assert poisson_interval(10)[2] == "Byar"


def test_crude_rate_scales_count_and_interval() -> None:
    estimate = crude_rate(25, 178_151, 100_000)
    assert estimate.value == pytest.approx(25 / 178_151 * 100_000)
    low, high = byar_interval(25)
    assert estimate.lower == pytest.approx(low / 178_151 * 100_000)
    assert estimate.upper == pytest.approx(high / 178_151 * 100_000)
    assert estimate.lower < estimate.value < estimate.upper
    assert "Byar" in estimate.method


@pytest.mark.parametrize(
    ("count", "denominator", "message"),
    [(-1, 100, "negative"), (3, 0, "greater than zero"), (3, -5, "greater than zero"), (2.5, 100, "whole number")],
)
def test_refuses_what_public_health_methods_refuse(count: float, denominator: float, message: str) -> None:
    with pytest.raises(StatisticsInputError, match=message):
        crude_rate(count, denominator)


def test_change_on_previous() -> None:
    assert change_on_previous(110, 100) == (10, pytest.approx(10.0))
    assert change_on_previous(5, 0) == (5, None)
    assert change_on_previous(None, 3) == (None, None)
