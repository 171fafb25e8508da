"""Measures from observations: counts, rates and intervals per authority and partnership, under-25, change."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tasks.compute.metric_values import age_range, compute_metric_values
from tasks.shared.config import load_partnership_config
from tasks.shared.coverage import months_covered
from tasks.shared.periods import financial_year_label, parse_financial_year
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
CP, RO = "E07000069", "E07000075"


def _obs(dataset, measure, area, day, value, age="all", area_type="lad", raw=1, period_type="month", sex="all"):
    return dict(partnership="p", dataset=dataset, measure=measure, area_type=area_type, area_code=area,
                period_start=day, period_type=period_type, age_band=age, sex=sex, value=float(value), raw_file_id=raw)


def _population(year: int, per_age: int) -> list[dict]:
    rows = []
    for area in (CP, RO):
        for age in [*map(str, range(90)), "90+"]:
            rows.append(_obs("population", "population", area, dt.date(year, 6, 30), per_age, age=age,
                             period_type="mid_year", sex="persons", raw=9))
    return rows


@pytest.fixture
def observations() -> pd.DataFrame:
    rows = _population(2021, 100) + _population(2022, 110)
    for month in range(1, 13):  # 2022/23: April 2022 .. March 2023
        day = dt.date(2022 + (month + 2) // 12, (month + 2) % 12 + 1, 1)
        rows += [
            _obs("hospital_sharp_object_admissions", "sharp_object_admissions", CP, day, 1, age="18-24", raw=2),
            _obs("hospital_sharp_object_admissions", "sharp_object_admissions", CP, day, 2, age="25-44", raw=2),
            _obs("hospital_sharp_object_admissions", "sharp_object_admissions", RO, day, 1, age="0-17", raw=3),
        ]
        prior = dt.date(day.year - 1, day.month, 1)
        rows += [_obs("hospital_sharp_object_admissions", "sharp_object_admissions", CP, prior, 2, age="25-44", raw=4)]
    lsoa = CONFIG.partnership.lsoas[0]
    rows.append(_obs("police_street", "robbery", lsoa.code, dt.date(2022, 5, 1), 4, area_type="lsoa", raw=5))
    return pd.DataFrame(rows)


def test_counts_rates_and_under_25_per_area(observations: pd.DataFrame) -> None:
    result = compute_metric_values(observations, CONFIG.partnership, CONFIG.metrics, 2022)
    values = result.values.set_index(["metric_id", "area_code", "period", "age_band"])
    row = values.loc[("hospital_admissions_sharp_object", CP, "2022/23", "all")]
    assert row["numerator"] == 36 and row["denominator"] == 91 * 110
    assert row["value"] == pytest.approx(359.6404, abs=5e-5)  # 36 / 10,010 x 100,000, by hand
    assert row["lower_ci_95"] < row["value"] < row["upper_ci_95"]
    under_25 = values.loc[("hospital_admissions_sharp_object", CP, "2022/23", "under_25")]
    assert under_25["numerator"] == 12 and under_25["denominator"] == 25 * 110
    total = values.loc[("hospital_admissions_sharp_object", "castle-point-rochford", "2022/23", "all")]
    assert total["numerator"] == 48 and total["denominator"] == 2 * 91 * 110
    assert set(row["raw_file_ids"]) == {2, 9}


def test_rate_limits_are_phes_for_the_count_scaled_to_the_population() -> None:
    """65 events among 91 x 110 = 10,010 people: the limits are PHE's Byar limits of a count of 65 (Excel results in
    PHEindicatormethods' testdata_Rate.xlsx, row Area4: 65 per 100 -> 50.1632 to 82.8491 at 95%, 42.8803 to 94.0003
    at 99.8%; tests/fixtures/statistics-reference.json) times 100,000 / 10,010."""
    rows = _population(2022, 110)
    for month in range(12):
        day = dt.date(2022 + (month + 3) // 12, (month + 3) % 12 + 1, 1)
        rows.append(_obs("hospital_sharp_object_admissions", "sharp_object_admissions", CP, day,
                         10 if month == 0 else 5, age="25-44", raw=2))
    values = compute_metric_values(pd.DataFrame(rows), CONFIG.partnership, CONFIG.metrics, 2022).values
    row = values.set_index(["metric_id", "area_code", "period", "age_band"]).loc[
        ("hospital_admissions_sharp_object", CP, "2022/23", "all")]
    assert (row["numerator"], row["denominator"]) == (65, 10_010)
    scale = 100_000 / 10_010
    assert row["value"] == pytest.approx(65 * scale, rel=1e-12)
    assert row["lower_ci_95"] == pytest.approx(50.163187710459454 * scale, rel=1e-6)
    assert row["upper_ci_95"] == pytest.approx(82.84913854593984 * scale, rel=1e-6)
    assert row["lower_ci_998"] == pytest.approx(42.8802614714802 * scale, rel=1e-6)
    assert row["upper_ci_998"] == pytest.approx(94.00029084431802 * scale, rel=1e-6)


def test_year_on_year_change_uses_the_previous_year(observations: pd.DataFrame) -> None:
    values = compute_metric_values(observations, CONFIG.partnership, CONFIG.metrics, 2022).values
    current = values[(values.metric_id == "hospital_admissions_sharp_object") & (values.area_code == CP)
                     & (values.age_band == "all") & (values.period == "2022/23")].iloc[0]
    previous = values[(values.metric_id == "hospital_admissions_sharp_object") & (values.area_code == CP)
                      & (values.age_band == "all") & (values.period == "2021/22")].iloc[0]
    assert previous["numerator"] == 24 and previous["denominator"] == 91 * 100
    # by hand: 36 / 10,010 = 359.6404 against 24 / 9,100 = 263.7363 per 100,000: +95.9041, +36.36%
    assert current["change_on_previous"] == pytest.approx(95.9041, abs=5e-4)
    assert current["change_on_previous_percent"] == pytest.approx(36.3636, abs=5e-4)


NO_FILES = pd.DataFrame(columns=["dataset", "period", "status"])


def test_lsoa_observations_roll_up_to_their_authority(observations: pd.DataFrame) -> None:
    months = months_covered(observations, NO_FILES)
    values = compute_metric_values(observations, CONFIG.partnership, CONFIG.metrics, 2022, months=months).values
    robbery = values[(values.metric_id == "police_robbery") & (values.period == "2022/23")].set_index("area_code")
    owner = CONFIG.partnership.lsoas[0].local_authority
    assert robbery.loc[owner, "numerator"] == 4
    assert robbery.loc["castle-point-rochford", "numerator"] == 4
    # one month of police data: a part-year count, never presented as an annual rate
    assert robbery.loc[owner, "note"] == "1 of 12 months: part-year count, not an annual rate"
    assert robbery.loc[owner, "method"] == "count" and robbery.loc[owner, "value"] == 4
    assert pd.isna(robbery.loc[owner, "lower_ci_95"]) and pd.isna(robbery.loc[owner, "denominator"])


def test_a_month_whose_file_was_loaded_counts_even_with_zero_events(observations: pd.DataFrame) -> None:
    # police_street files for all twelve months of 2022/23 were loaded; only May had a robbery in the area
    files = pd.DataFrame({"dataset": "police_street", "period": [f"{y}-{m:02d}" for y, m in
                          [(2022, m) for m in range(4, 13)] + [(2023, m) for m in range(1, 4)]], "status": "loaded"})
    # a file without a period of its own (an export of every year; NaN as read from the database) covers no month
    files = pd.concat([files, pd.DataFrame([{"dataset": "fingertips", "period": float("nan"), "status": "loaded"}])])
    months = months_covered(observations, files)
    assert len(months[("police_street", 2022)]) == 12
    values = compute_metric_values(observations, CONFIG.partnership, CONFIG.metrics, 2022, months=months).values
    robbery = values[(values.metric_id == "police_robbery") & (values.period == "2022/23")].set_index("area_code")
    total = robbery.loc["castle-point-rochford"]
    assert total["note"] is None and total["method"].startswith("crude rate")
    assert total["numerator"] == 4 and total["denominator"] == 2 * 91 * 110
    # an authority with no robbery at all in a covered year is a zero, not a gap
    other = next(la.code for la in CONFIG.partnership.local_authorities if la.code != CONFIG.partnership.lsoas[0].local_authority)
    assert robbery.loc[other, "numerator"] == 0


def test_every_measure_not_computed_is_listed_with_its_reason(observations: pd.DataFrame) -> None:
    result = compute_metric_values(
        observations, CONFIG.partnership, CONFIG.metrics, 2022, months=months_covered(observations, NO_FILES),
        supplied_datasets={"hospital_sharp_object_admissions", "police_street", "population", "fingertips"},
    )
    reasons = {s["metric_id"]: s["reason"] for s in result.skipped}
    assert reasons["police_knife_crime"] == ("no source supplies dataset police_knife_crime (a partner return: add it "
                                             "with `dutycycle source add`)")
    assert reasons["hospital_admissions_violence_fingertips"] == "no data of dataset fingertips for 2022/23"
    computed = set(result.values.loc[result.values["period"] == "2022/23", "metric_id"])
    in_force = {m.id for m in CONFIG.metrics.in_force(dt.date(2023, 3, 31))}
    assert computed | set(reasons) == in_force and not computed & set(reasons)
    assert next(s for s in result.skipped if s["metric_id"] == "police_knife_crime")["headline"] is True


def test_blocked_dataset_is_skipped_with_reason(observations: pd.DataFrame) -> None:
    result = compute_metric_values(
        observations, CONFIG.partnership, CONFIG.metrics, 2022,
        blocked_datasets=frozenset({"hospital_sharp_object_admissions"}),
    )
    assert "hospital_admissions_sharp_object" not in set(result.values["metric_id"])
    [skipped] = [s for s in result.skipped if s["metric_id"] == "hospital_admissions_sharp_object"]
    assert skipped["reason"] == ("dataset hospital_sharp_object_admissions failed a critical check in 2022/23: its "
                                 "figures (this year's and earlier years') are left out until it is corrected")


def test_missing_population_year_uses_latest_with_a_note(observations: pd.DataFrame) -> None:
    later = observations.copy()
    later["period_start"] = [d.replace(year=d.year + 1) if r == 2 else d
                             for d, r in zip(later["period_start"], later["raw_file_id"])]
    values = compute_metric_values(later, CONFIG.partnership, CONFIG.metrics, 2023).values
    row = values[(values.metric_id == "hospital_admissions_sharp_object") & (values.period == "2023/24")
                 & (values.area_code == CP) & (values.age_band == "all")].iloc[0]
    assert "mid-2023 not available, mid-2022 used" in row["note"]


@pytest.mark.parametrize(("band", "expected"), [("18-24", (18, 24)), ("25+", (25, 200)), ("7", (7, 7)),
                                                ("all", None), ("unknown", None)])
def test_age_range(band: str, expected) -> None:
    assert age_range(band) == expected


def test_financial_year_labels() -> None:
    assert financial_year_label(2022) == "2022/23"
    assert financial_year_label(1999) == "1999/00"
    assert parse_financial_year("2022/23") == parse_financial_year("2022-23") == 2022
    assert parse_financial_year("latest", today=dt.date(2026, 11, 22)) == 2025
    assert parse_financial_year("current", today=dt.date(2026, 3, 31)) == 2025
    with pytest.raises(ValueError, match="consecutive"):
        parse_financial_year("2022/24")


def test_five_years_give_baseline_trend_and_wide_intervals() -> None:
    rows = []
    yearly = {2018: 20, 2019: 24, 2020: 29, 2021: 35, 2022: 48}  # a steady rise
    for year, count in yearly.items():
        rows += _population(year, 100)
        rows.append(_obs("police_knife_crime", "knife_sharp_instrument_offences", CP, dt.date(year, 6, 1), count,
                         age="25+", raw=year))
    values = compute_metric_values(pd.DataFrame(rows), CONFIG.partnership, CONFIG.metrics, 2022).values
    series = values[(values.metric_id == "police_knife_crime") & (values.area_code == CP)
                    & (values.age_band == "all")].set_index("period")
    assert list(series.index) == ["2018/19", "2019/20", "2020/21", "2021/22", "2022/23"]
    row = series.loc["2022/23"]
    # by hand: the baseline is the mean of 24, 29 and 35 per 9,100 = 322.34 per 100,000; 48 against 88 in three
    # times the person-years is 48 of 136 where a quarter (34) is expected, z = 14 / sqrt(136 x 0.1875) = 2.77,
    # two-sided p about 0.006: significantly higher at 95%
    assert row["baseline_value"] == pytest.approx(322.3443, abs=5e-5)
    assert row["compared_with_baseline"] == "Significantly higher"
    # the trend: weighted least squares of the counts on time with Poisson variances (weights 1 / count) gives
    # X2 = 12.8 by hand, above the 99.8% point 9.55, and every step rises, so no point is an outlier
    assert row["trend"] == "Increasing"
    assert row["lower_ci_998"] < row["lower_ci_95"] < row["value"] < row["upper_ci_95"] < row["upper_ci_998"]
    assert pd.isna(series.loc["2019/20", "trend"]) and pd.isna(series.loc["2020/21", "compared_with_baseline"])


def test_lsoa_rates_and_month_and_quarter_counts_for_the_reviewed_year() -> None:
    lsoas = CONFIG.partnership.lsoas
    rows = _population(2022, 100)
    rows += [_obs("population", "population", l.code, dt.date(2015, 6, 30), 1500, area_type="lsoa", sex="persons",
                  period_type="mid_year", raw=7) for l in lsoas]
    rows += [
        _obs("police_street", "violence_and_sexual_offences", lsoas[0].code, dt.date(2022, 4, 1), 30, area_type="lsoa"),
        _obs("police_street", "violence_and_sexual_offences", lsoas[0].code, dt.date(2022, 5, 1), 15, area_type="lsoa"),
        _obs("police_street", "violence_and_sexual_offences", lsoas[-1].code, dt.date(2023, 1, 1), 6, area_type="lsoa"),
    ]
    values = compute_metric_values(pd.DataFrame(rows), CONFIG.partnership, CONFIG.metrics, 2022).values
    violence = values[values.metric_id == "police_violence_and_sexual_offences"]
    by_lsoa = violence[violence.area_type == "lsoa"].set_index("area_code")
    assert len(by_lsoa) == 110  # every LSOA, those with no record at 0
    first = by_lsoa.loc[lsoas[0].code]
    assert (first["numerator"], first["denominator"]) == (45, 1500)
    assert first["value"] == pytest.approx(3000.0, rel=1e-12)  # 45 / 1,500 x 100,000
    assert "mid-2015" in first["note"]
    assert by_lsoa.loc[lsoas[5].code, "numerator"] == 0

    total = violence[violence.area_code == "castle-point-rochford"].set_index("period")["numerator"].to_dict()
    assert total["2022-04"] == 30 and total["2022-05"] == 15 and total["2023-01"] == 6
    assert total["2022/23 Q1"] == 45 and total["2022/23 Q4"] == 6 and total["2022/23"] == 51
    monthly = violence[violence.period == "2022-04"]
    assert monthly["change_on_previous"].isna().all() and (monthly["method"] == "count").all()
