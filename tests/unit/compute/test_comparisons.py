"""Comparisons against independently computed formulas and PHEindicatormethods' / R's published numbers."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from scipy.stats import chi2, gamma

from tasks.compute.comparisons import (
    CANNOT_BE_CALCULATED,
    TREND_CHI2_THRESHOLD,
    baseline_comparison,
    compare_rate_with_benchmark,
    compare_with_benchmark,
    funnel_limits_for_rates,
    funnel_significance_for_rates,
    poisson_funnel_mean,
    poisson_funnel_means,
    poisson_rate_ratio_test,
    trend_marker,
    trend_marker_for_proportions,
    trend_marker_for_rates,
    year_on_year_change,
)
from tasks.compute.statistics import StatisticsInputError, crude_rate

# --- year on year ------------------------------------------------------------------------------------------


def test_year_on_year_change() -> None:
    change = year_on_year_change(132.0, 120.0)
    assert change.absolute == pytest.approx(12.0) and change.percent == pytest.approx(10.0)
    assert year_on_year_change(5.0, 0.0).percent is None
    assert year_on_year_change(None, 3.0).absolute is None


# --- two Poisson rates and the 3-year baseline -------------------------------------------------------------


def test_rate_ratio_matches_r_poisson_test_published_example() -> None:
    # R documentation, ?poisson.test: poisson.test(c(11, 6+8+7), c(800, 1083+1050+878)) prints
    # p-value = 0.07967, 95 percent CI 0.8584264 4.2772659, rate ratio 1.971488
    result = poisson_rate_ratio_test(11, 800, 21, 3011)
    assert result.p_value == pytest.approx(0.07967, abs=5e-6)
    assert result.lower == pytest.approx(0.8584264, rel=1e-6)
    assert result.upper == pytest.approx(4.2772659, rel=1e-6)
    assert result.ratio == pytest.approx(1.971488, rel=1e-6)


def test_rate_ratio_matches_r_binom_test_published_example() -> None:
    # The conditional test of two Poisson counts is binom.test(x1, x1 + x2, t1 / (t1 + t2)). R documentation,
    # ?binom.test (Mendel's peas): binom.test(c(682, 243), p = 3/4) prints p-value = 0.3825 and
    # 95 percent confidence interval 0.7076683 0.7654066 for the probability; as rate ratios with exposures 3 and 1
    # that is p / (1 - p) / 3.
    result = poisson_rate_ratio_test(682, 3, 243, 1)
    assert result.p_value == pytest.approx(0.3825, abs=5e-5)
    assert result.ratio == pytest.approx(682 / 243 / 3, rel=1e-12)
    assert result.lower == pytest.approx(0.7076683 / (1 - 0.7076683) / 3, rel=2e-6)
    assert result.upper == pytest.approx(0.7654066 / (1 - 0.7654066) / 3, rel=2e-6)


def test_baseline_is_the_mean_of_three_years_and_the_change_is_tested() -> None:
    result = baseline_comparison(150, 100_000, [100, 110, 105], [100_000, 100_000, 100_000])
    assert result.baseline_rate == pytest.approx(105.0)
    assert result.absolute_change == pytest.approx(45.0)
    assert result.percent_change == pytest.approx(45 / 105 * 100)
    # 150 of 465 events where a quarter are expected: z = (150 - 116.25) / sqrt(465 x 0.25 x 0.75) = 3.61 by hand,
    # two-sided p about 0.0003
    assert result.test.p_value < 0.001
    assert result.verdict == "Significantly higher"
    lower = baseline_comparison(80, 100_000, [100, 110, 105], [100_000] * 3)
    assert lower.verdict == "Significantly lower"
    similar = baseline_comparison(108, 100_000, [100, 110, 105], [100_000] * 3)
    assert similar.verdict == "No significant change"
    assert baseline_comparison(0, 1000, [0, 0, 0], [1000] * 3).verdict == CANNOT_BE_CALCULATED


def test_baseline_significance_uses_the_level_asked_for() -> None:
    # R's ?poisson.test example again, as a baseline: this year 11 events in 800 person-years against three years
    # of 6, 8 and 7 in 1083, 1050 and 878. R prints p-value = 0.07967: not significant at 95% (alpha 0.05), but
    # significant at 90% (alpha 0.10); an alpha of 0.10 at the 95% level, or 0.05 whatever the level, is wrong.
    at_95 = baseline_comparison(11, 800, [6, 8, 7], [1083, 1050, 878], multiplier=1000)
    assert at_95.test.p_value == pytest.approx(0.07967, abs=5e-6)
    assert at_95.verdict == "No significant change"
    at_90 = baseline_comparison(11, 800, [6, 8, 7], [1083, 1050, 878], multiplier=1000, confidence=0.90)
    assert at_90.verdict == "Significantly higher"
    # 150 against 100, 110, 105 (z = 3.61 by hand, p about 0.0003) is significant even at 99.8%;
    # 132 (z = (132 - 111.75) / sqrt(447 x 0.1875) = 2.21, p about 0.027) is significant at 95% but not at 99.8%
    assert baseline_comparison(150, 1e5, [100, 110, 105], [1e5] * 3, confidence=0.998).verdict == "Significantly higher"
    assert 0.002 < baseline_comparison(132, 1e5, [100, 110, 105], [1e5] * 3).test.p_value < 0.05
    assert baseline_comparison(132, 1e5, [100, 110, 105], [1e5] * 3).verdict == "Significantly higher"
    assert baseline_comparison(132, 1e5, [100, 110, 105], [1e5] * 3, confidence=0.998).verdict == (
        "No significant change")


def test_baseline_needs_three_years() -> None:
    with pytest.raises(StatisticsInputError, match="3-year baseline needs 3"):
        baseline_comparison(10, 1000, [1, 2], [1000, 1000])
    with pytest.raises(StatisticsInputError, match="greater than zero"):
        baseline_comparison(10, 1000, [1, 2, 3], [1000, 0, 1000])


# --- benchmark -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lower", "upper", "benchmark", "polarity", "expected"),
    [
        (110, 130, 100, "low_is_good", "Worse"),
        (110, 130, 100, "high_is_good", "Better"),
        (110, 130, 100, "no_polarity", "Higher"),
        (70, 90, 100, "low_is_good", "Better"),
        (70, 90, 100, "high_is_good", "Worse"),
        (70, 90, 100, "no_polarity", "Lower"),
        (90, 110, 100, "low_is_good", "Similar"),
        (100, 110, 100, "low_is_good", "Similar"),  # on the limit is not outside it
        (None, 110, 100, "low_is_good", "Not compared"),
        (90, 110, math.nan, "no_polarity", "Not compared"),
    ],
)
def test_benchmark_outside_the_interval(lower, upper, benchmark, polarity, expected: str) -> None:
    assert compare_with_benchmark(lower, upper, benchmark, polarity) == expected


def test_benchmark_at_both_fingertips_levels() -> None:
    # 130 per 100,000: the 95% interval excludes 100, the 99.8% one does not
    low95 = crude_rate(130, 100_000, confidence=0.95).lower
    low998 = crude_rate(130, 100_000, confidence=0.998).lower
    assert low998 < 100 < low95
    assert compare_rate_with_benchmark(130, 100_000, 100.0) == {0.95: "Worse", 0.998: "Similar"}
    with pytest.raises(StatisticsInputError, match="polarity"):
        compare_with_benchmark(1, 2, 3, "up")


# --- trend markers -----------------------------------------------------------------------------------------


Z95 = 1.959963984540054  # qnorm(0.975)


@pytest.mark.parametrize(("values", "slope", "marker"), [([10, 12, 14, 16, 18], 2, "Increasing"),
                                                         ([18, 16, 14, 12, 10], -2, "Decreasing"),
                                                         ([10, 11, 10, 11, 10], 0, "No significant change"),
                                                         # slope 0.8: X2 = 6.4, significant at 95% (3.84) but
                                                         # not at the 99.8% point Fingertips uses (9.55)
                                                         ([10, 10.8, 11.6, 12.4, 13.2], 0.8, "No significant change")])
def test_trend_statistic_worked_by_hand(values, slope: float, marker: str) -> None:
    # Worked by hand: every point has standard error 1 (95% limits value +/- 1.96), so the weighted regression is
    # ordinary least squares on t = 1..5: Sxx = 10, slope = Sxy / 10, var(slope) = 1 / 10, X2 = 10 slope^2
    # (2 -> 40: far above 9.5495; 0 -> 0; 0.8 -> 6.4)
    result = trend_marker([1, 2, 3, 4, 5], values, [v - Z95 for v in values], [v + Z95 for v in values])
    assert result.slope == pytest.approx(slope, abs=1e-9)
    assert result.statistic == pytest.approx(10 * slope**2, abs=1e-6)
    assert result.marker == marker


def test_rate_trend_of_a_steady_rise_is_increasing() -> None:
    # 100 to 250 events in 100,000 a year over five years: rising at every step, far beyond chance
    result = trend_marker_for_rates([2018, 2019, 2020, 2021, 2022], [100, 130, 160, 200, 250], [100_000] * 5)
    assert result.slope > 0 and result.statistic > TREND_CHI2_THRESHOLD
    assert (result.marker, result.reason) == ("Increasing", "No outliers and significant trend")


def test_threshold_is_the_99_8_percent_point_of_chi_squared_on_one_df() -> None:
    assert pytest.approx(chi2.ppf(0.998, 1), abs=1e-4) == TREND_CHI2_THRESHOLD


def test_trend_uses_the_latest_five_points_in_time_order() -> None:
    periods = ["2021/22", "2015/16", "2019/20", "2016/17", "2020/21", "2017/18", "2018/19"]
    counts = [100, 999, 160, 1, 130, 250, 200]  # latest five, in order: 250, 200, 160, 130, 100
    result = trend_marker_for_rates(periods, counts, [100_000] * 7)
    assert result.periods == (2017.0, 2018.0, 2019.0, 2020.0, 2021.0)
    assert result.marker == "Decreasing"


def test_flat_series_has_no_significant_change() -> None:
    result = trend_marker_for_rates([1, 2, 3, 4, 5], [100, 104, 98, 101, 99], [100_000] * 5)
    assert (result.marker, result.reason) == ("No significant change", "No significant trend")


def test_a_single_point_reversing_the_slope_is_an_outlier() -> None:
    values = [12, 11, 10, 9, 40]
    result = trend_marker([1, 2, 3, 4, 5], values, [v - 1 for v in values], [v + 1 for v in values])
    assert result.statistic > TREND_CHI2_THRESHOLD and result.slope > 0
    assert (result.marker, result.reason) == ("No significant change", "Outlier found")


@pytest.mark.parametrize(
    ("periods", "values", "reason"),
    [
        ([1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0], "Not enough data points"),
        ([2015, 2016, 2017, 2019, 2020], [1.0, 2.0, 3.0, 4.0, 5.0], "Time points not equally spaced"),
        ([1, 2, 3, 4, 5], [1.0, 2.0, None, 4.0, 5.0], "Missing values"),
    ],
)
def test_trend_cannot_be_calculated(periods, values, reason: str) -> None:
    result = trend_marker(periods, values, [0.5] * len(values), [9.5] * len(values))
    assert (result.marker, result.reason, result.statistic) == (CANNOT_BE_CALCULATED, reason, None)


def test_trend_refuses_repeated_periods() -> None:
    with pytest.raises(StatisticsInputError, match="unique"):
        trend_marker([1, 2, 2, 3, 4], [1.0] * 5, [0.5] * 5, [1.5] * 5)


def test_proportion_trend_statistic_matches_agrestis_worked_example() -> None:
    # Agresti, Categorical Data Analysis (2nd ed., 2002), section 3.4: infant malformation by mother's alcohol
    # consumption (0, <1, 1-2, 3-5, >=6 drinks a day): 48 of 17,114, 38 of 14,502, 5 of 793, 1 of 127, 1 of 38.
    # With equally spaced scores 1..5 the test for linear trend gives M2 = 1.83 (P = 0.18): not significant.
    # (M2 = (N - 1) r^2 and the Cochran-Armitage statistic N r^2 agree to two decimals at N = 32,574; its one-sided
    # p is 0.088.)
    result = trend_marker_for_proportions([1, 2, 3, 4, 5], [48, 38, 5, 1, 1], [17_114, 14_502, 793, 127, 38])
    assert round(result.statistic, 2) == 1.83
    assert round(result.p_value, 2) == 0.18
    assert (result.marker, result.reason) == ("No significant change", "No significant trend")


@pytest.mark.parametrize(
    ("numerators", "marker"),
    [([830, 800, 760, 700, 640], "Decreasing"), ([500, 505, 498, 502, 501], "No significant change"),
     ([400, 450, 520, 580, 650], "Increasing")],
)
def test_proportion_trend_direction(numerators, marker: str) -> None:
    # about 10,000 a year: 8.3% falling to 6.4%, flat at 5%, 4% rising to 6.5% (hand-chosen, monotone series)
    denominators = [10_000, 10_050, 9_980, 10_020, 10_100]
    result = trend_marker_for_proportions([2019, 2020, 2021, 2022, 2023], numerators, denominators)
    assert result.marker == marker


def test_proportion_trend_refuses_numerator_above_denominator() -> None:
    with pytest.raises(StatisticsInputError, match="between 0 and its denominator"):
        trend_marker_for_proportions([1, 2, 3, 4, 5], [5, 5, 5, 5, 11], [10] * 5)


# --- funnel plots (PHEindicatormethods tests/testthat reference data) --------------------------------------
# Copied from ukhsa-collaboration/PHEindicatormethods at 093fd288d8f8949dbcfbed70049dbbf385b6141d,
# tests/testthat/testdata_funnel_rate_*.csv (the file of each block is named above it).


@pytest.mark.parametrize("events", [1, 3, 9, 10, 57, 400])
@pytest.mark.parametrize("p", [0.025, 0.001])
def test_poisson_funnel_mean_is_the_exact_poisson_limit(events: int, p: float) -> None:
    # P(X <= e | m) = p  <=>  m = gamma quantile 1 - p of shape e + 1;  P(X >= e | m) = p  <=>  gamma quantile p of e
    # (to the package's bisection step: 1e-7 on v, with m = (1 + e) v / (1 - v))
    step = (1 + events) * 2e-7
    assert poisson_funnel_mean(events, p, "high") == pytest.approx(gamma.ppf(1 - p, events + 1), rel=1e-5, abs=step)
    assert poisson_funnel_mean(events, p, "low") == pytest.approx(gamma.ppf(p, events), rel=1e-5, abs=step)



@pytest.mark.parametrize("p", [0.025, 0.001])
def test_poisson_funnel_means_of_many_counts_at_once_are_each_the_exact_poisson_limit(p: float) -> None:
    # the vectorised bisection: each count gets its own limit (gamma quantiles as above), none borrows a neighbour's;
    # 0 events: P(X >= 0) = 1 at every mean, so the low limit is 0
    events = [0, 1, 3, 10, 57, 400, 25_000]
    high = poisson_funnel_means(events, p, "high")
    low = poisson_funnel_means(events, p, "low")
    for e, h, lo in zip(events, high, low, strict=True):
        step = (1 + e) * 2e-7
        assert h == pytest.approx(gamma.ppf(1 - p, e + 1), rel=1e-5, abs=step)
        assert lo == pytest.approx(gamma.ppf(p, e) if e else 0.0, rel=1e-5, abs=step)
    with pytest.raises(StatisticsInputError, match="side must be"):
        poisson_funnel_means(events, p, "middle")

# testdata_funnel_rate_input_funnels.csv: ev, rate (DSR per 100,000), used with years_of_data = 3
FUNNEL_EV = [414, 462, 178, 525, 194, 937, 817, 117, 298, 228, 243, 13, 373, 664, 601, 602, 767, 708, 90, 952, 347,
             648, 988, 354, 839, 25, 518, 425, 648, 765, 210, 931, 589, 592, 554, 870, 372, 843, 142, 543, 489, 620,
             774, 904, 936, 841, 22, 922, 955, 308]
FUNNEL_RATE = [184, 102, 83, 118, 121, 125, 112, 190, 146, 140, 87, 70, 90, 139, 109, 65, 165, 143, 55, 135, 135, 88,
               167, 99, 83, 53, 62, 118, 176, 101, 71, 138, 74, 84, 161, 79, 189, 170, 159, 113, 191, 116, 200, 171,
               128, 134, 185, 100, 123, 155]
# testdata_funnel_rate_outputs.csv (calculate_funnel_limits, rate_type = "dsr"): Events column and some rows
DSR_EVENTS = [*range(1, 29), *range(30, 47, 2), *range(49, 65, 3), *range(68, 85, 4), 89, 94, 99, 104, 110, 116,
              122, 129, 136, 143, 151, 159, 168, 177, 187, 197, 208, 219, 231, 244, 257, 271, 286, 302, 319, 337,
              356, 376, 397, 419, 442, 466, 492, 519, 548, 578, 610, 643, 678, 715, 754, 796, 840, 886, 935, 986,
              1040, 1097, 1158, 1222, 1289, 1360]
DSR_ROWS = {
    1: [1598.675694, 20.85059119, 7.264481402, 4588.535848, 2649.348525, 12.58170943, 0.287087625, 116108.569],
    2: [2072.984403, 32.15975314, 69.49732367, 959.2695538, 3221.906682, 20.69168143, 13.02722321, 5117.48863],
    10: [5276.757672, 63.17010446, 1375.943768, 242.2579623, 6924.776769, 48.13632908, 849.4639547, 392.4043292],
    28: [11611.44963, 80.38043163, 5338.572981, 174.8282428, 13921.71041, 67.04157073, 4143.443861, 225.2554553],
    104: [36157.10817, 95.87787415, 24382.08903, 142.1808715, 40036.31685, 86.58805154, 21608.75072, 160.4288333],
    337: [107590.7057, 104.4080273, 86646.2263, 129.6459617, 114104.792, 98.44751602, 81232.24174, 138.2866346],
    1360: [411529.9259, 110.158048, 369759.5622, 122.6021934, 424043.2424, 106.9073359, 358342.3275, 126.5084525],
}
# testdata_funnel_rate_outputs_2.csv (rate_type = "crude", largest ev replaced by 5)
CRUDE_ROWS = {
    1: [1616.949526, 20.61494982, 7.347518827, 4536.678859, 2679.632184, 12.4395182, 0.290369211, 114796.3768],
    9: [4958.18753, 60.5059809, 1194.324587, 251.1879964, 6575.408478, 45.62454196, 711.7194444, 421.5144076],
    336: [108514.8167, 103.2117119, 87361.94327, 128.2022764, 115094.478, 97.31135842, 81895.02264, 136.7604482],
    1344: [411466.9163, 108.8787415, 369466.4508, 121.2559352, 424051.9679, 105.6474286, 357990.2328, 125.143079],
}
LIMIT_COLUMNS = ["lower_2s_population_1_year", "lower_2s_limit", "upper_2s_population_1_year", "upper_2s_limit",
                 "lower_3s_population_1_year", "lower_3s_limit", "upper_3s_population_1_year", "upper_3s_limit"]


def test_funnel_limits_for_dsrs_match_the_package_reference() -> None:
    table = funnel_limits_for_rates(FUNNEL_EV, FUNNEL_RATE, multiplier=1e5, years_of_data=3, rate_type="dsr")
    assert len(DSR_EVENTS) == 100
    assert table["events"].tolist() == DSR_EVENTS
    assert table["baseline"].iloc[0] == pytest.approx(116.1720835, rel=1e-6)
    for events, expected in DSR_ROWS.items():
        row = table.loc[table["events"] == events, LIMIT_COLUMNS].iloc[0].tolist()
        assert row == pytest.approx(expected, rel=1e-6), events


def test_funnel_limits_for_crude_rates_with_few_events_match_the_package_reference() -> None:
    ev = [5 if e == max(FUNNEL_EV) else e for e in FUNNEL_EV]
    table = funnel_limits_for_rates(ev, FUNNEL_RATE, multiplier=1e5, years_of_data=3, rate_type="crude")
    assert table["events"].iloc[-1] == 1344 and len(table) == 100
    assert table["baseline"].iloc[0] == pytest.approx(114.8591735, rel=1e-6)
    for events, expected in CRUDE_ROWS.items():
        row = table.loc[table["events"] == events, LIMIT_COLUMNS].iloc[0].tolist()
        assert row == pytest.approx(expected, rel=1e-6), events


def test_funnel_limits_are_exact_poisson_limits_around_the_average() -> None:
    # independent: at population N per year the 95% limits are the 2.5% / 97.5% Poisson points of N x average
    table = funnel_limits_for_rates([30, 60, 12], [37.5, 66.7, 60.0], multiplier=1e5)
    average = table["baseline"].iloc[0] / 1e5
    for row in table.itertuples(index=False):
        population = row.lower_2s_population_1_year
        assert gamma.ppf(0.975, row.events + 1) == pytest.approx(population * average, rel=1e-5)
        assert row.lower_2s_limit == pytest.approx(row.events / population * 1e5, rel=1e-12)


# testdata_funnel_rate_dsr_inputs.csv, with the package's expected significance for each way of calling it
FUNNEL_SIGNIFICANCE = """count,rate_dsr,pop,rate_crude_per_100000,dsr_with_0,crude_with_0,crude_without_0
2419,907.6174266,264102,915.9339952,High (0.001),High (0.001),High (0.001)
2337,948.5620216,259711,899.8463677,High (0.001),High (0.001),High (0.001)
2291,799.9690496,289247,792.056616,High (0.001),High (0.001),High (0.001)
2242,852.5637927,265029,845.9451607,High (0.001),High (0.001),High (0.001)
2218,868.5358183,284649,779.2052668,High (0.001),High (0.001),High (0.001)
2159,769.6242217,293578,735.409329,High (0.001),High (0.001),High (0.001)
2130,752.3254955,286718,742.8902266,High (0.025),High (0.001),High (0.001)
2111,710.2689402,307381,686.7698394,Not significant,Not significant,Not significant
2105,815.3530325,274145,767.8418355,High (0.001),High (0.001),High (0.001)
2083,717.7035916,297424,700.3469794,Not significant,High (0.025),Not significant
2078,755.8016993,272628,762.2107781,High (0.001),High (0.001),High (0.001)
2062,825.9742848,269656,764.6779601,High (0.001),High (0.001),High (0.001)
2061,702.2972468,294692,699.3742619,Not significant,High (0.025),Not significant
2033,785.6210132,277710,732.0586223,High (0.001),High (0.001),High (0.025)
2033,743.6763018,259213,784.2970839,High (0.025),High (0.001),High (0.001)
2010,781.8323058,285516,703.9885681,High (0.001),High (0.025),Not significant
2004,772.6781064,269449,743.7400027,High (0.001),High (0.001),High (0.001)
2002,652.3391553,290888,688.2373972,Low (0.001),Not significant,Not significant
1977,648.4969973,287112,688.5814595,Low (0.001),Not significant,Not significant
1944,727.5777428,286492,678.5529788,Not significant,Not significant,Not significant
1932,625.6551186,287012,673.1425864,Low (0.001),Not significant,Not significant
1922,688.5582424,291277,659.8529922,Not significant,Not significant,Not significant
1912,662.4465438,289859,659.631062,Low (0.025),Not significant,Not significant
1881,627.1624732,289653,649.3977276,Low (0.001),Not significant,Low (0.025)
1844,657.1114147,282519,652.6994645,Low (0.025),Not significant,Low (0.025)
1835,724.8456714,274220,669.1707388,Not significant,Not significant,Not significant
1833,659.7820553,280271,654.009869,Low (0.025),Not significant,Low (0.025)
1825,654.7053631,284206,642.1398563,Low (0.001),Not significant,Low (0.025)
1816,624.4435507,274508,661.5472045,Low (0.001),Not significant,Not significant
1809,646.7588823,288384,627.2886152,Low (0.001),Low (0.025),Low (0.001)
1798,703.1689982,287072,626.3237097,Not significant,Low (0.025),Low (0.001)
1754,567.9922764,282744,620.3491498,Low (0.001),Low (0.001),Low (0.001)
1746,617.7750715,289208,603.7177395,Low (0.001),Low (0.001),Low (0.001)
1709,610.8327232,287736,593.9472294,Low (0.001),Low (0.001),Low (0.001)
1694,608.5089462,296175,571.9591458,Low (0.001),Low (0.001),Low (0.001)
1688,662.3775859,303255,556.6272609,Low (0.025),Low (0.001),Low (0.001)
1649,667.6454503,285959,576.6560941,Low (0.025),Low (0.001),Low (0.001)
1553,604.1141693,274661,565.4242867,Low (0.001),Low (0.001),Low (0.001)
1332,469.5645784,281425,473.3054988,Low (0.001),Low (0.001),Low (0.001)
0,,297820,0,Not applicable for events less than 10 for dsrs,Low (0.001),Not significant
"""


def test_funnel_significance_matches_the_package_reference() -> None:
    data = pd.read_csv(io.StringIO(FUNNEL_SIGNIFICANCE))
    counts, pops = data["count"].tolist(), data["pop"].tolist()
    dsrs = [None if pd.isna(r) else r for r in data["rate_dsr"]]
    assert funnel_significance_for_rates(counts, dsrs, 1e5, "dsr", pops) == data["dsr_with_0"].tolist()
    crude = data["rate_crude_per_100000"].tolist()
    assert funnel_significance_for_rates(counts, crude, 1e5, "crude", pops) == data["crude_with_0"].tolist()
    some = data[data["count"] > 0]
    assert funnel_significance_for_rates(some["count"].tolist(), some["rate_crude_per_100000"].tolist(), 1e5,
                                         "crude") == some["crude_without_0"].tolist()


def test_funnel_refusals() -> None:
    with pytest.raises(StatisticsInputError, match="denominator must be supplied"):
        funnel_limits_for_rates([0, 5], [0, 10.0])
    with pytest.raises(StatisticsInputError, match="same length"):
        funnel_significance_for_rates([1, 2], [1.0])
    with pytest.raises(StatisticsInputError, match="0 or more"):
        funnel_significance_for_rates([-1, 2], [1.0, 2.0])
