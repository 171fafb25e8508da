"""A reader with the published table, the public ESP2013 weights and ONS populations recovers no band count or total
from a directly standardised rate (tests/unit/shared/disclosure_attack.py, dsr_attack, is that reader)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tasks.compute.metric_values import compute_metric_values, esp2013_weights, restate_from_counts
from tasks.compute.statistics import directly_standardised_rate
from tasks.shared.config import load_partnership_config
from tasks.shared.disclosure import published_table_by_policy
from tasks.shared.settings import PROJECT_ROOT
from tests.unit.shared.disclosure_attack import _shown_range, dsr_attack

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
CP, RO, DEMO = "E07000069", "E07000075", "castle-point-rochford"
POLICY = CONFIG.metrics.policy_for("ae_assault_attendances_dsr")  # NHS rules: 1-7 hidden, others rounded to 5
BANDS = ["0-24", "25+"]
POPULATIONS = {"0-24": 25 * 110.0, "25+": 66 * 110.0}  # 110 people at every age: the public estimates of the test
WEIGHTS = esp2013_weights(BANDS)
# Castle Point: 13 under 25 and 8 aged 25+, the counts whose independently rounded parts (15, 10) beside the rounded
# total (20) would pin them to 13-14 and 8-9; Rochford: 23 and 64
EXACT = {CP: {"0-24": 13, "25+": 8}, RO: {"0-24": 23, "25+": 64}}


def _observations() -> pd.DataFrame:
    def obs(dataset, measure, area, day, value, age, raw, period_type="month", sex="all"):
        return dict(partnership="p", dataset=dataset, measure=measure, area_type="lad", area_code=area,
                    period_start=day, period_type=period_type, age_band=age, sex=sex, value=float(value),
                    raw_file_id=raw)
    rows = [obs("population", "population", area, dt.date(2022, 6, 30), 110, age, 9, "mid_year", "persons")
            for area in (CP, RO) for age in [*map(str, range(90)), "90+"]]
    for month in range(12):
        day = dt.date(2022 + (month + 3) // 12, (month + 3) % 12 + 1, 1)
        rows += [obs("ae_assault_attendances", "assault_attendances", area, day, count if month == 0 else 0, age, 2)
                 for area, bands in EXACT.items() for age, count in bands.items()]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def published() -> dict[tuple[str, str, str], dict[str, str]]:
    """The year's published rows of the demo's two A&E measures (crude, all ages and under 25; DSR), keyed by
    (measure, area, age band), as compute and the disclosure policy make them."""
    values = compute_metric_values(_observations(), CONFIG.partnership, CONFIG.metrics, 2022).values
    values = values[values["metric_id"].isin(["ae_assault_attendances", "ae_assault_attendances_dsr"])
                    & (values["period"] == "2022/23")]
    table = published_table_by_policy(values, CONFIG.partnership, CONFIG.metrics, restate_from_counts)
    return {(r["measure"], r["area_code"], r["age_band"]): r for r in table.to_dict("records")}


def _known(published, area: str) -> tuple[dict[str, set[int]], set[int]]:
    """What the rest of the table tells the reader: the crude measure's under-25 and all-ages counts."""
    under_25 = _shown_range(int(published[("ae_assault_attendances", area, "under_25")]["count"]), POLICY)
    total = _shown_range(int(published[("ae_assault_attendances", area, "all")]["count"]), POLICY)
    return {"0-24": under_25, "25+": set(range(0, 200))}, total


def test_the_reader_pins_the_counts_of_a_dsr_computed_from_exact_band_counts(published) -> None:
    """The attack is real: the same table with the DSR computed from the exact band counts gives them back."""
    bands, total = _known(published, CP)
    exact = directly_standardised_rate(EXACT[CP], POPULATIONS, WEIGHTS)
    naive = {"value": f"{exact.value:.1f}", "lower_ci_95": f"{exact.lower:.1f}",
             "upper_ci_95": f"{exact.upper:.1f}"}
    totals, by_band = dsr_attack(naive, POPULATIONS, WEIGHTS, bands, total, POLICY, rests_on="exact")
    # the total published as "20" is pinned to its exact 21 (with these near-equal weights per person the split
    # between the bands stays open; unequal ones would pin it too)
    assert totals == {21} and 13 in by_band["0-24"] and 8 in by_band["25+"]


@pytest.mark.parametrize("area", [CP, RO])
def test_the_reader_recovers_nothing_from_the_dsr_as_published(published, area: str) -> None:
    row = published[("ae_assault_attendances_dsr", area, "all")]
    assert row["value"], row  # the DSR is shown: it is what is attacked
    bands, total = _known(published, area)
    totals, by_band = dsr_attack(row, POPULATIONS, WEIGHTS, bands, total, POLICY)
    true_total = sum(EXACT[area].values())
    # every count the rounding allows stays possible: the DSR adds nothing to the published counts
    assert totals == total and true_total in totals and len(totals) == 5
    assert by_band["0-24"] == bands["0-24"] and EXACT[area]["0-24"] in by_band["0-24"]
    assert len(by_band["25+"]) >= 5 and EXACT[area]["25+"] in by_band["25+"]


def test_the_dsr_row_publishes_the_count_the_crude_measure_publishes(published) -> None:
    for area in (CP, RO, DEMO):
        dsr = published[("ae_assault_attendances_dsr", area, "all")]
        crude = published[("ae_assault_attendances", area, "all")]
        assert (dsr["count"], dsr["count_flag"]) == (crude["count"], crude["count_flag"])
    assert published[("ae_assault_attendances_dsr", CP, "all")]["count"] == "20"
    # the published table says which statistic and interval each row is, as metrics.yaml defines them
    dsr = published[("ae_assault_attendances_dsr", CP, "all")]
    assert dsr["statistic"].startswith("directly age-standardised rate per 100,000 (2013 European Standard")
    assert "Dobson" in dsr["interval_method"]
    assert published[("ae_assault_attendances", CP, "all")]["statistic"] == "crude rate per 100,000 population"
