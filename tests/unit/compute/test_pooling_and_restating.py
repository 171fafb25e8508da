"""Pooled small numbers (pool_years) and statistics restated from published counts (disclosure)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tasks.compute.metric_values import compute_metric_values, restate_from_counts
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT
from tests.unit.compute.test_compute import _obs, _population

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
CP, RO = "E07000069", "E07000075"
POOLED = "hospital_admissions_sharp_object_u25_pooled"


def _hospital_years(counts: dict[int, int]) -> pd.DataFrame:
    rows = []
    for year, count in counts.items():
        rows += _population(year, 100)  # 100 a year of age: 2,500 under 25 per authority
        rows.append(_obs("hospital_sharp_object_admissions", "sharp_object_admissions", CP, dt.date(year, 6, 1),
                         count, age="18-24", raw=year))
    return pd.DataFrame(rows)


def test_three_years_pool_into_one_publishable_figure() -> None:
    values = compute_metric_values(_hospital_years({2018: 3, 2019: 4, 2020: 2, 2021: 5, 2022: 1}),
                                   CONFIG.partnership, CONFIG.metrics, 2022).values
    pooled = values[(values.metric_id == POOLED) & (values.area_code == CP)].set_index("period")
    # Fingertips-style labels, one per three-year window ending in each year with three years behind it
    assert list(pooled.index) == ["2018/19-2020/21", "2019/20-2021/22", "2020/21-2022/23"]
    last = pooled.loc["2020/21-2022/23"]
    # 2 + 5 + 1 = 8 admissions over 3 x 2,500 = 7,500 under-25 person-years: 106.7 per 100,000
    assert (last["numerator"], last["denominator"], round(last["value"], 1)) == (8, 7500, 106.7)
    assert last["note"] == "3-year pooled"
    # the headline measure keeps its yearly figures
    yearly = values[(values.metric_id == "hospital_admissions_sharp_object") & (values.area_code == CP)]
    assert "2022/23" in set(yearly.period)


def test_statistics_restated_from_published_counts_skip_a_suppressed_year() -> None:
    """A year whose count is suppressed (NaN once published) takes no part in the baseline or trend, and the other
    years' rates are those of their published counts."""
    values = compute_metric_values(_hospital_years({2018: 12, 2019: 14, 2020: 9, 2021: 16, 2022: 20}),
                                   CONFIG.partnership, CONFIG.metrics, 2022).values
    cp = values[(values.metric_id == "hospital_admissions_sharp_object") & (values.area_code == CP)
                & (values.age_band == "all")].reset_index(drop=True)
    published = cp.assign(numerator=[10.0, 15.0, None, 15.0, 20.0])  # 2020/21 hidden, as if suppressed
    restated = restate_from_counts(published).set_index("period")
    assert pd.isna(restated.loc["2020/21", "value"]) and pd.isna(restated.loc["2022/23", "trend"])
    assert pd.isna(restated.loc["2022/23", "compared_with_baseline"])  # the baseline needs 2019/20..2021/22
    # 91 ages x 100 = 9,100 people: the published 20 gives 219.78 per 100,000 (the exact 20 too: here they agree),
    # and 15 -> 20 on the same population is +33.3%
    assert round(restated.loc["2022/23", "value"], 2) == 219.78
    assert round(restated.loc["2021/22", "value"], 2) == 164.84  # the published 15, not the exact 16 (175.82)
    assert round(restated.loc["2022/23", "change_on_previous_percent"], 1) == 33.3
