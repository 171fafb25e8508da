"""statistic: isr and statistic: proportion in metrics.yaml: computed as PHEindicatormethods computes them (expected
values from its published test data and Newcombe's table), labelled in their own unit, refused where the data cannot
carry them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tasks.compute.metric_values import compute_metric_values, restate_from_counts
from tasks.shared.config import MetricsFile, load_partnership_config, statistic_problem, value_label
from tasks.shared.disclosure import published_table_by_policy
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
CP, RO = "E07000069", "E07000075"

# PHEindicatormethods (ukhsa-collaboration/PHEindicatormethods), tests/testthat/testdata_DSR_ISR.xlsx: sheet refdata
# (reference counts and populations) and sheet testdata_multiarea_isr (the local populations of every test area).
# Its twelfth band is labelled "55-69" in the sheet, a typo for 55-59 (the package matches bands by position).
BANDS = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59",
         "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"]
REF_COUNTS = [10303, 2824, 0, 3615, 3641, 3490, 3789, 3213, 3031, 2771, 3089, 3490, 3595, 4745, 5514, 7125, 5694,
              6210, 5757]
REF_POPS = [50520, 57173, 60213, 54659, 44345, 50128, 62163, 67423, 62899, 55463, 60479, 49974, 44140, 40888, 37239,
            30819, 18136, 15325, 13918]
LOCAL_POPS = [636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153, 123, 207]
# sheet testresults_ISR, "indirectly standardised ratio x 100": observed -> value, 95% and 99.8% limits
PHE_ISR = {
    895: (107.07232939020275, 100.17147712553987, 114.3233287249895, 96.35155619614437, 118.60070415876287),
    91: (10.886683770400502, 8.765040101829404, 13.366576328418912, 7.695425528392111, 14.897920510466744),
    9: (1.0767049882813684, 0.4923380825095776, 2.043921455549973, 0.2933930655068262, 2.710589651469021),
}


def _metrics_with(metric: dict) -> MetricsFile:
    """The demo's metrics.yaml with one more metric (the config fixture a test builds)."""
    data = CONFIG.metrics.model_dump(exclude_unset=True)
    data["metrics"] = [*data["metrics"], metric]
    return MetricsFile.model_validate(data)


ISR_METRIC = dict(
    id="robbery_isr", version=1, valid_from=dt.date(2020, 4, 1), title="Robbery, indirectly standardised",
    numerator={"dataset": "police_street", "measures": ["robbery"]}, denominator={"dataset": "population"},
    statistic="isr",
    reference={"name": "PHEindicatormethods test reference", "source": "PHEindicatormethods testdata_DSR_ISR.xlsx",
               "counts": dict(zip(BANDS, REF_COUNTS, strict=True)),
               "populations": dict(zip(BANDS, REF_POPS, strict=True))},
)


def _obs(dataset, measure, area, day, value, age="all", period_type="month", sex="all"):
    return dict(partnership="p", dataset=dataset, measure=measure, area_type="lad", area_code=area, period_start=day,
                period_type=period_type, age_band=age, sex=sex, value=float(value), raw_file_id=1)


@pytest.mark.parametrize(("observed_cp", "observed_ro"), [(895, 91), (9, 895)])
def test_isr_matches_phe_indicator_methods(observed_cp: int, observed_ro: int) -> None:
    metrics = _metrics_with(ISR_METRIC)
    rows = [_obs("population", "population", area, dt.date(2022, 6, 30), pop, band, "mid_year", "persons")
            for area in (CP, RO) for band, pop in zip(BANDS, LOCAL_POPS, strict=True)]
    rows += [_obs("police_street", "robbery", CP, dt.date(2022, 5, 1), observed_cp),
             _obs("police_street", "robbery", RO, dt.date(2022, 5, 1), observed_ro)]
    values = compute_metric_values(pd.DataFrame(rows), CONFIG.partnership, metrics, 2022, history_years=0).values
    isr = values[values["metric_id"] == "robbery_isr"].set_index("area_code")
    for area, observed in ((CP, observed_cp), (RO, observed_ro)):
        row = isr.loc[area]
        value, low, high, low_998, high_998 = PHE_ISR[observed]
        assert row["denominator"] == pytest.approx(835.8835612311743)  # the package's expected count
        assert (row["value"], row["lower_ci_95"], row["upper_ci_95"]) == pytest.approx((value, low, high), rel=1e-9)
        assert (row["lower_ci_998"], row["upper_ci_998"]) == pytest.approx((low_998, high_998), rel=1e-9)
        assert row["value_unit"] == "ratio (reference = 100)"
    # the published value is restated from the published count: ratio x expected / 100 gives back that count only
    table = published_table_by_policy(values[values["metric_id"] == "robbery_isr"], CONFIG.partnership, metrics,
                                      restate_from_counts)
    cp = table.set_index("area_code").loc[CP]
    # police counts are exact; under 10 events no ratio is shown (min_count_for_rate), as for a rate
    shown = f"{PHE_ISR[observed_cp][0]:.1f}" if observed_cp >= 10 else ""
    assert cp["value_unit"] == "ratio (reference = 100)" and cp["value"] == shown
    assert value_label(cp["value_unit"]) == "Ratio (reference = 100)"


def test_the_demo_proportion_matches_newcombes_wilson_intervals() -> None:
    """Newcombe (1998) Stat Med 17:857-872, table I, Wilson score 95%: 81/263 -> 0.2553 to 0.3662, 15/148 -> 0.0624 to
    0.1605. The demo's share of knife offences with a victim under 25 (police counts: published exact)."""
    rows = []
    for area, under, over in ((CP, 81, 263 - 81 - 10), (RO, 15, 148 - 15)):
        day = dt.date(2022, 4, 1)
        rows += [_obs("police_knife_crime", "knife_sharp_instrument_offences", area, day, under, "0-24"),
                 _obs("police_knife_crime", "knife_sharp_instrument_offences", area, day, over, "25+")]
    rows.append(_obs("police_knife_crime", "knife_sharp_instrument_offences", CP, day, 10, "unknown"))
    months = {("police_knife_crime", 2022): frozenset(f"{m:02d}" for m in range(1, 13))}
    values = compute_metric_values(pd.DataFrame(rows), CONFIG.partnership, CONFIG.metrics, 2022, history_years=0,
                                   months=months).values
    share = values[values["metric_id"] == "police_knife_crime_under_25_share"]
    table = published_table_by_policy(share, CONFIG.partnership, CONFIG.metrics, restate_from_counts)
    by_area = table.set_index("area_code")
    cp, ro = by_area.loc[CP], by_area.loc[RO]
    # the unknown-age offences stay in the denominator: 81 of 263
    assert (cp["count"], cp["denominator"], cp["value"], cp["value_unit"]) == ("81", "263", "30.8", "%")
    assert (cp["lower_ci_95"], cp["upper_ci_95"]) == ("25.5", "36.6")
    assert (ro["count"], ro["denominator"]) == ("15", "148")
    exact = share.set_index("area_code")
    for area, (low, high) in ((CP, (25.53, 36.62)), (RO, (6.24, 16.05))):
        assert (exact.loc[area, "lower_ci_95"], exact.loc[area, "upper_ci_95"]) == pytest.approx((low, high), abs=0.005)
    assert "per 100,000" not in " ".join(table.astype(str).to_numpy().ravel())
    assert cp["statistic"].startswith("percentage: knife_sharp_instrument_offences in the age band shown")
    assert "Wilson" in cp["interval_method"]


@pytest.mark.parametrize(("change", "message"), [
    ({"denominator": {"dataset": "population"}}, "a proportion's numerator must be a subset of its denominator"),
    ({"denominator": {"dataset": "police_street", "measures": ["knife_sharp_instrument_offences"]}},
     "a proportion's numerator must be a subset of its denominator"),
    ({"denominator": {"dataset": "police_knife_crime", "measures": ["other"]}},
     "a proportion's numerator must be a subset of its denominator"),
    ({"denominator": {"dataset": "police_knife_crime", "measures": ["knife_sharp_instrument_offences"],
                      "age_band": "aged_10_17"}}, "age band 'under_25' is wider than the denominator's"),
    ({"multiplier": 1000}, "is always per 100"),
])
def test_config_refuses_a_proportion_the_data_cannot_carry(change: dict, message: str) -> None:
    metric = next(m for m in CONFIG.metrics.model_dump(exclude_unset=True)["metrics"]
                  if m["id"] == "police_knife_crime_under_25_share")
    with pytest.raises(ValueError, match=message) as error:
        _metrics_with({**metric, "id": "bad_share", **change})
    line = next(line for line in str(error.value).splitlines() if message in line)
    assert "bad_share" in line  # one line naming the metric and what is wrong


def test_config_refuses_an_isr_without_reference_or_population_by_age() -> None:
    with pytest.raises(ValueError, match="an isr needs reference rates by age"):
        _metrics_with({**ISR_METRIC, "reference": None})
    with pytest.raises(ValueError, match="must run from age 0 upwards"):
        _metrics_with({**ISR_METRIC, "reference": {**ISR_METRIC["reference"],
                                                   "counts": {"5-9": 1, "10+": 2}, "populations": {"5-9": 9, "10+": 9}}})
    metric = _metrics_with(ISR_METRIC).metrics[-1]
    no_single_year = [s for s in CONFIG.sources if s.kind not in ("ons_mye2", "nomis_population")]
    assert statistic_problem(metric, no_single_year) == (
        "statistic isr needs the population by single year of age (a source of kind ons_mye2 or nomis_population), "
        "and the partnership has none")
    assert statistic_problem(metric, CONFIG.sources) is None  # the demo can carry it


def test_every_statistic_says_its_unit() -> None:
    units = {m.id: m.value_unit for m in CONFIG.metrics.metrics}
    assert units["police_knife_crime_under_25_share"] == "%"
    assert units["police_knife_crime"] == "per 100,000"
    assert units["ae_assault_attendances_dsr"] == "per 100,000"
    assert units["homicide_non_domestic_knife"] == "count"
    assert _metrics_with(ISR_METRIC).metrics[-1].value_unit == "ratio (reference = 100)"
    assert value_label("%") == "Percentage (%)" and value_label("per 100,000") == "Rate per 100,000"
