"""A metric whose statistic is `dsr`: the directly standardised rate over the demo's A&E age bands, computed from the
band counts as published, and the config check that refuses a dsr the data cannot carry."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tasks.compute.metric_values import DSR_SUPPRESSED_NOTE, compute_metric_values, esp2013_weights
from tasks.shared.config import ConfigError, load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
CP, RO, DEMO = "E07000069", "E07000075", "castle-point-rochford"
METRIC = "ae_assault_attendances_dsr"


def _obs(dataset, measure, area, day, value, age, raw, period_type="month", sex="all"):
    return dict(partnership="p", dataset=dataset, measure=measure, area_type="lad", area_code=area, period_start=day,
                period_type=period_type, age_band=age, sex=sex, value=float(value), raw_file_id=raw)


def _observations(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """110 people at every single year of age in both districts (mid-2022), and the year's A&E attendances of each
    district and age band, all in one month (the other eleven months hold zeros, so the year is complete)."""
    rows = [_obs("population", "population", area, dt.date(2022, 6, 30), 110, age, 9, "mid_year", "persons")
            for area in (CP, RO) for age in [*map(str, range(90)), "90+"]]
    for month in range(12):
        day = dt.date(2022 + (month + 3) // 12, (month + 3) % 12 + 1, 1)
        for area, bands in counts.items():
            for age, count in bands.items():
                rows.append(_obs("ae_assault_attendances", "assault_attendances", area, day,
                                 count if month == 0 else 0, age, 2))
    return pd.DataFrame(rows)


def _dsr_rows(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    values = compute_metric_values(_observations(counts), CONFIG.partnership, CONFIG.metrics, 2022).values
    return values[(values["metric_id"] == METRIC) & (values["period"] == "2022/23")].set_index("area_code")


def test_esp2013_weights_summed_into_the_demos_bands() -> None:
    # ESP2013 (Eurostat 2013, Table 1): ages 0-4 5,000; 5-9, 10-14, 15-19 5,500 each; 20-24 6,000 -> 27,500 under 25
    assert esp2013_weights(["0-24", "25+"]) == {"0-24": 27_500, "25+": 72_500}


def test_a_dsr_rests_on_the_band_counts_as_published() -> None:
    rows = _dsr_rows({CP: {"0-24": 55, "25+": 121}, RO: {"0-24": 23, "25+": 64}})
    cp = rows.loc[CP]
    # worked by hand: populations 25 x 110 = 2,750 under 25 and 66 x 110 = 7,260 aged 25+. NHS rules publish the
    # under-25 count 55 as 55 and the total 176 as 175, so the bands the DSR rests on are 55 and 175 - 55 = 120:
    # DSR = (55 / 2,750 x 27,500 + 120 / 7,260 x 72,500) / 100,000 x 100,000 = 550 + 1,198.35 = 1,748.35 per
    # 100,000 (from the exact 121 it would be 1,758.33, and the published rate would give 121 back)
    assert cp["value"] == pytest.approx(1748.35, abs=0.005)
    assert cp["numerator"] == 176 and cp["denominator"] == 91 * 110  # internal values keep the exact count
    assert cp["lower_ci_95"] < cp["value"] < cp["upper_ci_95"]
    assert cp["lower_ci_998"] < cp["lower_ci_95"] and cp["upper_ci_95"] < cp["upper_ci_998"]
    assert cp["method"] == "DSR (ESP2013), Dobson 95.0% CI"
    # Rochford publishes 25 under 25 and 85 in all (87), so 25 and 60; the partnership's bands are the sums of its
    # members': 80 and 180, DSR = (80 / 5,500 x 27,500 + 180 / 14,520 x 72,500) / 100,000 x 100,000
    # = 400 + 898.76 = 1,298.76
    total = rows.loc[DEMO]
    assert total["numerator"] == 176 + 87
    assert total["value"] == pytest.approx(1298.76, abs=0.005)


def test_a_suppressed_band_hides_the_dsr_of_its_area_and_of_the_partnership() -> None:
    rows = _dsr_rows({CP: {"0-24": 55, "25+": 121}, RO: {"0-24": 6, "25+": 64}})
    assert pd.isna(rows.loc[RO, "value"]) and rows.loc[RO, "note"] == DSR_SUPPRESSED_NOTE
    assert rows.loc[RO, "numerator"] == 70  # the count stays, published under its own policy
    assert pd.isna(rows.loc[DEMO, "value"]) and rows.loc[DEMO, "note"] == DSR_SUPPRESSED_NOTE
    assert rows.loc[CP, "value"] == pytest.approx(1748.35, abs=0.005)


def test_records_of_unknown_age_stop_the_dsr_and_say_so() -> None:
    rows = _dsr_rows({CP: {"0-24": 55, "25+": 121, "unknown": 3}, RO: {"0-24": 23, "25+": 64}})
    assert pd.isna(rows.loc[CP, "value"]) and "3 record(s) of unknown age" in rows.loc[CP, "note"]
    assert rows.loc[CP, "numerator"] == 179


def test_fewer_than_ten_events_give_no_dsr() -> None:
    # PHEindicatormethods: "When the total count is < 10 DSRs are not reliable and will not be calculated"
    rows = _dsr_rows({CP: {"0-24": 0, "25+": 0}, RO: {"0-24": 0, "25+": 0}})
    assert pd.isna(rows.loc[CP, "value"]) and "under 10" in rows.loc[CP, "note"]


# ---------------------------------------------------------------- the config check


def _config_with(tmp_path: Path, replace: tuple[str, str]) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", folder, ignore=shutil.ignore_patterns("inputs"))
    metrics = folder / "metrics.yaml"
    text = metrics.read_text(encoding="utf-8")
    assert replace[0] in text
    metrics.write_text(text.replace(replace[0], replace[1], 1), encoding="utf-8")
    return folder


ROBBERY = """    numerator: {dataset: police_street, measures: [robbery]}
    denominator: {dataset: population}
    statistic: crude_rate"""


def test_a_dsr_on_data_without_ages_is_refused_naming_the_metric(tmp_path: Path) -> None:
    folder = _config_with(tmp_path, (ROBBERY, ROBBERY.replace("crude_rate", "dsr")))
    with pytest.raises(ConfigError) as refused:
        load_partnership_config(folder, DEMO)
    message = str(refused.value)
    assert "\n" not in message
    assert "metrics[" in message and "police_robbery: statistic dsr needs age-banded numerators" in message
    assert "source(s) police-street-archive of dataset police_street carry no age band" in message


def test_a_standard_band_that_cuts_an_esp2013_band_is_refused(tmp_path: Path) -> None:
    folder = _config_with(tmp_path, ('standard_bands: ["0-24", "25+"]', 'standard_bands: ["0-17", "18+"]'))
    with pytest.raises(ConfigError, match="ae_assault_attendances_dsr: standard band '0-17' cuts an ESP2013") as refused:
        load_partnership_config(folder, DEMO)
    assert "\n" not in str(refused.value)


def test_an_age_band_that_cuts_a_standard_band_is_refused(tmp_path: Path) -> None:
    folder = _config_with(tmp_path, ('    statistic: dsr\n', '    statistic: dsr\n    age_bands: [all, aged_10_17]\n'))
    with pytest.raises(ConfigError, match="age band 'aged_10_17' cuts a standard band of the dsr"):
        load_partnership_config(folder, DEMO)


def test_the_report_prints_the_statistic_and_interval_method_from_config() -> None:
    from tasks.compute.board_report import ReportFacts, definitions_table

    definition = [m for m in CONFIG.metrics.metrics if m.id == METRIC]
    row = definitions_table(definition, CONFIG.metrics, ReportFacts(produced=dt.date(2023, 5, 3),
                                                                     software_version="0"))[0]
    assert row["statistic"] == ("Directly age-standardised rate per 100,000 (2013 European Standard Population, age "
                                "bands 0-24, 25+), from the age-band counts as published.")
    assert row["interval"].startswith("95% and 99.8% confidence intervals by Dobson's method")
    assert "standard bands 0-24, 25+" in row["denominator"]
