"""Rates and intervals against formulas computed independently (gamma quantiles, Byar's closed form,
Dobson's and Wilson's formulas written out), and against published reference numbers where they exist."""

from __future__ import annotations

import math

import pytest
from scipy.stats import chi2, gamma, norm

from tasks.compute.standard_populations import ESP2013_BANDS
from tasks.compute.statistics import (
    StatisticsInputError,
    byar_interval,
    change_on_previous,
    crude_rate,
    directly_standardised_rate,
    exact_poisson_interval,
    indirectly_standardised_ratio,
    normalise_confidence,
    poisson_interval,
    reference_rates_from_counts,
    wilson_proportion,
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


# --- confidence levels --------------------------------------------------------------------------------------

LEVELS = [0.95, 0.998]


@pytest.mark.parametrize(("given", "level"), [(0.95, 0.95), (95, 0.95), (0.998, 0.998), (99.8, 0.998)])
def test_levels_as_fraction_or_percentage(given: float, level: float) -> None:
    assert normalise_confidence(given) == pytest.approx(level)


@pytest.mark.parametrize("bad", [0.5, 0.89, 1, 1.5, 89, 100, 120])
def test_levels_outside_the_package_range_are_refused(bad: float) -> None:
    with pytest.raises(StatisticsInputError, match="confidence level"):
        crude_rate(5, 1000, confidence=bad)


@pytest.mark.parametrize("count", [0, 3, 9, 10, 57])
def test_crude_rate_at_99_8_percent(count: int) -> None:
    # phe_rate (R/Rates.R): qchisq((1-c)/2, 2x)/2 under 10 events, byars_lower/upper from 10
    n, c = 54_321, 0.998
    estimate = crude_rate(count, n, 100_000, c)
    if count < 10:
        low = chi2.ppf((1 - c) / 2, 2 * count) / 2 if count else 0.0
        high = chi2.ppf(c + (1 - c) / 2, 2 * count + 2) / 2
    else:
        z = norm.ppf(c + (1 - c) / 2)
        low = count * (1 - 1 / (9 * count) - z / 3 / math.sqrt(count)) ** 3
        high = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / 3 / math.sqrt(count + 1)) ** 3
    assert estimate.lower == pytest.approx(low / n * 100_000, rel=1e-6, abs=1e-12)
    assert estimate.upper == pytest.approx(high / n * 100_000, rel=1e-6)
    assert estimate.confidence == 0.998


# --- directly standardised rates (Dobson) ------------------------------------------------------------------

ESP = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500,
       1000]
COUNTS = [3, 1, 0, 4, 9, 12, 8, 7, 5, 6, 4, 3, 2, 2, 1, 3, 2, 1, 0]
POPS = [5200, 5600, 5900, 6100, 6400, 7000, 7300, 7100, 6900, 7200, 7400, 6800, 6200, 5700, 5100, 4300, 3000, 1700,
        900]


def dobson(counts, pops, weights, confidence, multiplier=100_000):
    """Dobson et al. (1991) written out: DSR +/- sqrt(var / O) x (Byar limit of O - O), Byar from Breslow & Day."""
    total_w = sum(weights)
    dsr = sum(x * w / n for x, w, n in zip(counts, weights, pops, strict=True)) / total_w
    var = sum(x * (w / n) ** 2 for x, w, n in zip(counts, weights, pops, strict=True)) / total_w**2
    o = sum(counts)
    z = norm.ppf(1 - (1 - confidence) / 2)
    o_low = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    o_high = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    k = math.sqrt(var / o)
    return dsr * multiplier, (dsr + k * (o_low - o)) * multiplier, (dsr + k * (o_high - o)) * multiplier


@pytest.mark.parametrize("confidence", LEVELS)
def test_dsr_matches_dobson_written_out(confidence: float) -> None:
    result = directly_standardised_rate(COUNTS, POPS, ESP, 100_000, confidence)
    value, low, high = dobson(COUNTS, POPS, ESP, confidence)
    assert result.value == pytest.approx(value, rel=1e-9)
    assert result.lower == pytest.approx(low, rel=1e-6)
    assert result.upper == pytest.approx(high, rel=1e-6)
    assert result.lower < result.value < result.upper
    assert (result.total_count, result.total_population, result.method) == (sum(COUNTS), sum(POPS), "Dobson")


def test_dsr_defaults_to_esp2013_and_a_flat_rate_standardises_to_itself() -> None:
    # every band at 1 per 1,000: any standard gives 100 per 100,000
    result = directly_standardised_rate([10] * 19, [10_000] * 19)
    assert result.value == pytest.approx(100.0, rel=1e-12)
    assert directly_standardised_rate(COUNTS, POPS).value == pytest.approx(
        directly_standardised_rate(COUNTS, POPS, ESP).value, rel=1e-12)


def test_dsr_not_computed_under_ten_events() -> None:
    counts = [0] * 19
    counts[5], counts[6] = 4, 5
    result = directly_standardised_rate(counts, POPS)
    assert (result.value, result.lower, result.upper) == (None, None, None)
    assert result.total_count == 9
    assert "under 10" in result.reason
    assert directly_standardised_rate([*counts[:-1], 1], POPS).value is not None  # 10 events: computed


def test_dsr_matches_bands_by_label_whatever_the_order() -> None:
    counts = dict(zip(ESP2013_BANDS, COUNTS, strict=True))
    pops = dict(reversed(list(zip(ESP2013_BANDS, POPS, strict=True))))
    by_label = directly_standardised_rate(counts, pops)
    by_position = directly_standardised_rate(COUNTS, POPS)
    assert by_label.value == pytest.approx(by_position.value, rel=1e-12)
    assert by_label.upper == pytest.approx(by_position.upper, rel=1e-12)
    # a sequence next to a mapping is read in the standard's (ESP2013) band order
    reversed_counts = dict(reversed(list(counts.items())))
    assert directly_standardised_rate(reversed_counts, POPS).value == pytest.approx(by_position.value, rel=1e-12)


def test_dsr_missing_counts_are_zero_as_na_zero() -> None:
    with_none = [None if x == 0 else x for x in COUNTS]
    assert directly_standardised_rate(with_none, POPS).value == pytest.approx(
        directly_standardised_rate(COUNTS, POPS).value)


@pytest.mark.parametrize(
    ("counts", "pops", "message"),
    [
        (COUNTS[:-1], POPS, "one value per age band"),
        ({"0-4": 3, "5-9": 2}, {"0-4": 100, "10-14": 100}, "do not match"),
        ({"0-4": 3}, POPS, "do not match|one value per age band"),
        ([*COUNTS[:-1], -1], POPS, "negative"),
        (COUNTS, [*POPS[:-1], 0], "90\\+ must be greater than zero|greater than zero"),
        (COUNTS, [*POPS[:-1], None], "greater than zero"),
    ],
)
def test_dsr_refusals(counts, pops, message: str) -> None:
    with pytest.raises(StatisticsInputError, match=message):
        directly_standardised_rate(counts, pops)


def test_dsr_refuses_unlabelled_standard_of_wrong_length() -> None:
    with pytest.raises(StatisticsInputError, match="one value per age band"):
        directly_standardised_rate(COUNTS, POPS, ESP[:18])


# --- Wilson score interval ---------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 10), (65, 100), (81, 263), (100, 100), (3, 4000)])
def test_wilson_matches_the_score_interval(x: int, n: int, confidence: float) -> None:
    # Wilson (1927) in its textbook form: (p + z2/2n +/- z sqrt(p(1-p)/n + z2/4n2)) / (1 + z2/n)
    z = norm.ppf(1 - (1 - confidence) / 2)
    p = x / n
    centre, half = p + z**2 / (2 * n), z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    result = wilson_proportion(x, n, confidence)
    assert result.value == pytest.approx(p)
    assert result.lower == pytest.approx((centre - half) / (1 + z**2 / n), rel=1e-6, abs=1e-12)
    assert result.upper == pytest.approx((centre + half) / (1 + z**2 / n), rel=1e-6)


def test_wilson_published_example() -> None:
    # Newcombe RG (1998) Stat Med 17:857-872, table I: 81/263 -> Wilson score 95% CI 0.2553 to 0.3662
    result = wilson_proportion(81, 263, 0.95, multiplier=100)
    assert (round(result.lower / 100, 4), round(result.upper / 100, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize(("x", "n", "message"), [(11, 10, "less than or equal"), (-1, 10, "negative"),
                                                  (1, 0, "greater than zero")])
def test_wilson_refusals(x, n, message: str) -> None:
    with pytest.raises(StatisticsInputError, match=message):
        wilson_proportion(x, n, 0.95)


# --- indirectly standardised ratios ------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize("observed", [0, 4, 9, 10, 48])
def test_isr_expected_from_reference_rates_and_poisson_limits(observed: int, confidence: float) -> None:
    pops = [4000, 6000, 5000, 2000]
    ref_counts, ref_pops = [30, 80, 120, 150], [100_000, 120_000, 90_000, 40_000]
    rates = reference_rates_from_counts(ref_counts, ref_pops)
    expected = sum(n * x / r for n, x, r in zip(pops, ref_counts, ref_pops, strict=True))
    result = indirectly_standardised_ratio(observed, pops, rates, confidence, multiplier=100)
    if observed < 10:  # exact: gamma quantiles (Garwood)
        low = gamma.ppf((1 - confidence) / 2, observed) if observed else 0.0
        high = gamma.ppf(1 - (1 - confidence) / 2, observed + 1)
    else:
        low, high = byar_interval(observed, confidence)
    assert result.expected == pytest.approx(expected, rel=1e-12)
    assert result.value == pytest.approx(observed / expected * 100, rel=1e-12)
    assert result.lower == pytest.approx(low / expected * 100, rel=1e-6, abs=1e-12)
    assert result.upper == pytest.approx(high / expected * 100, rel=1e-6)


def test_isr_matches_bands_by_label_and_refuses_mismatch() -> None:
    rates = {"0-24": 0.001, "25+": 0.003}
    assert indirectly_standardised_ratio(12, {"25+": 1000, "0-24": 2000}, rates).expected == pytest.approx(5.0)
    with pytest.raises(StatisticsInputError, match="do not match"):
        indirectly_standardised_ratio(12, {"0-24": 2000, "25-64": 1000}, rates)
    with pytest.raises(StatisticsInputError, match="one value per age band"):
        indirectly_standardised_ratio(12, [1000, 2000, 3000], [0.1, 0.2])
    with pytest.raises(StatisticsInputError, match="negative"):
        indirectly_standardised_ratio(-1, [1000], [0.1])
    with pytest.raises(StatisticsInputError, match="expected count"):
        indirectly_standardised_ratio(3, [1000], [0.0])


# --- published reference values (not the formula restated) --------------------------------------------------

# Exact (Garwood) 95% limits for a Poisson count as printed in the standard tables, e.g. Breslow & Day (1987)
# "Statistical Methods in Cancer Research" vol. II, and the 95% limits table of the APHO/PHE technical briefing
# "Commonly used public health statistics and their confidence intervals" (which Fingertips follows under 10 events).
PUBLISHED_EXACT_95 = {1: (0.0253, 5.5716), 2: (0.2422, 7.2247), 5: (1.6235, 11.6683), 9: (4.1154, 17.0848)}


@pytest.mark.parametrize(("count", "limits"), PUBLISHED_EXACT_95.items())
def test_exact_interval_matches_the_published_table(count: int, limits: tuple[float, float]) -> None:
    lower, upper = exact_poisson_interval(count, 0.95)
    assert (round(lower, 4), round(upper, 4)) == limits
    # and through a crude rate: 5 events in 10,000 people -> 50 (16.2 to 116.7) per 100,000
    if count == 5:
        rate = crude_rate(5, 10_000, 100_000, 0.95)
        assert (round(rate.value, 1), round(rate.lower, 1), round(rate.upper, 1)) == (50.0, 16.2, 116.7)


# Newcombe RG (1998) "Two-sided confidence intervals for the single proportion: comparison of seven methods",
# Stat Med 17:857-872, table I, method 3 (Wilson score, no continuity correction), 95%.
NEWCOMBE_WILSON_95 = [((81, 263), (0.2553, 0.3662)), ((15, 148), (0.0624, 0.1605)), ((0, 20), (0.0, 0.1611)),
                      ((1, 29), (0.0061, 0.1718)), ((29, 29), (0.8830, 1.0))]


@pytest.mark.parametrize(("case", "limits"), NEWCOMBE_WILSON_95)
def test_wilson_matches_newcombes_table(case: tuple[int, int], limits: tuple[float, float]) -> None:
    x, n = case
    result = wilson_proportion(x, n, 0.95, multiplier=1)
    assert (round(result.lower, 4), round(result.upper, 4)) == limits
