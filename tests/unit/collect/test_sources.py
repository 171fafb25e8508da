"""Each source's parser on real files: exact counts, real quirks, clear errors naming file, row and column."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest

from tasks.collect.sources import (
    fingertips,
    partner_returns,
    police_archive,
    population,
)
from tasks.collect.sources.common import InputFileError, read_csv_strings
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
INPUTS = CONFIG.folder / "inputs"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def test_real_essex_month_counts_match_a_plain_pandas_filter() -> None:
    data = (INPUTS / "police-archive" / "2022-12.zip").read_bytes()
    [month] = police_archive.parse_archive(data, "2022-12.zip", ["essex"])
    assert (month.month, month.force, len(month.frame)) == ("2022-12", "essex", 13_139)
    lsoas = set(CONFIG.partnership.lsoa_codes)
    split = police_archive.split_by_area(month.frame, lsoas, CONFIG.partnership.authority_of_lsoa_name)
    in_area, no_location, outside = split.listed, split.no_location, split.outside
    assert split.by_name.empty  # a 2022 file: every LSOA of the area is in the 2011 list
    observations = police_archive.to_observations(in_area, "p", raw_file_id=1)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        plain = pd.read_csv(archive.open("2022-12/2022-12-essex-street.csv"))
    expected = plain[plain["LSOA code"].isin(lsoas)].groupby("Crime type").size()
    got = observations.groupby("measure")["value"].sum()
    assert {police_archive.crime_type_measure(k): float(v) for k, v in expected.items()} == got.to_dict()
    assert len(in_area) == int(expected.sum()) == 873
    assert len(no_location) == plain["LSOA code"].isna().sum() == 107
    assert len(in_area) + len(no_location) + outside == 13_139


def test_single_street_csv_of_another_force_is_read() -> None:
    name = "2016-07-city-of-london-street.csv"
    [month] = police_archive.parse_archive((FIXTURES / name).read_bytes(), name, ["city-of-london"])
    assert (month.month, month.force, len(month.frame)) == ("2016-07", "city-of-london", 536)
    assert month.frame["source_row"].iloc[0] == 2


def test_archive_without_the_force_is_refused() -> None:
    data = (INPUTS / "police-archive" / "2022-12.zip").read_bytes()
    with pytest.raises(InputFileError, match="no street CSV for force"):
        police_archive.parse_archive(data, "2022-12.zip", ["kent"])


def test_real_fingertips_export_with_embedded_newline() -> None:
    frame = fingertips.parse_export((FIXTURES / "fingertips-93356-CountyUA.csv").read_bytes(), "f.csv")
    assert len(frame) == 852
    assert frame["Indicator Name"].iloc[0] == "Campylobacter incidence rate/100,000\n"
    observations = fingertips.to_observations(frame, ["E06000001"], [93356], "p", 1)
    values = observations[(observations["measure"] == "indicator_93356") & (observations["area_code"] == "E06000001")]
    all_ages = values[values["age_band"] == "all"].sort_values("period_start")
    assert all_ages["value"].round(6).tolist() == [142.713503, 109.893662, 127.131883]  # 2015, 2016, 2017
    assert set(values["age_band"]) == {"all", "0-9"} and set(values["sex"]) == {"persons"}


def test_fingertips_pooled_period_is_filed_under_its_last_year() -> None:
    assert fingertips.period_of("2020/21 - 22/23") == (dt.date(2022, 4, 1), "pooled_3_year")
    assert fingertips.period_of("2019/20") == (dt.date(2019, 4, 1), "financial_year")
    assert fingertips.period_of("2015") == (dt.date(2015, 1, 1), "calendar_year")
    with pytest.raises(ValueError, match="unrecognised"):
        fingertips.period_of("Q3 2015")


def test_real_mye2_population_by_single_year_of_age() -> None:
    path = INPUTS / "population" / "mid-2020-MYE2-persons.csv"
    frame = population.parse_mye2(path.read_bytes(), path.name)
    observations = population.to_observations(frame, ["E07000069"], "p", 2020, 1)
    assert len(observations) == 91
    assert observations["value"].sum() == 90_524  # "All ages" of Castle Point, mid-2020
    assert observations.loc[observations["age_band"] == "0", "value"].iloc[0] == 802


def test_partner_template_maps_long_and_wide_layouts() -> None:
    knife = CONFIG.source("police-knife-crime")
    path = INPUTS / "partner-returns/essex-police/knife-crime-FY2022-23-Q1.csv"
    frame = partner_returns.parse_return(path.read_bytes(), path.name, knife.template)
    observations = partner_returns.to_observations(frame, knife.template, knife.dataset, "p", 1, path.name)
    assert set(observations["age_band"]) == {"0-24", "25+", "unknown"}
    assert observations["value"].sum() == pd.to_numeric(frame["Knife or Sharp Instrument Offences"]).sum()

    homicides = CONFIG.source("police-homicides")
    path = INPUTS / "partner-returns/essex-police/homicides-FY2022-23.csv"
    frame = partner_returns.parse_return(path.read_bytes(), path.name, homicides.template)
    observations = partner_returns.to_observations(frame, homicides.template, homicides.dataset, "p", 1, path.name)
    non_domestic = frame[frame["Domestic"] == "N"]
    under_25 = observations[(observations["measure"] == "homicide_non_domestic") & (observations["age_band"] == "0-24")]
    assert under_25["value"].sum() == pd.to_numeric(non_domestic["Victims Under 25"]).sum()


def test_financial_quarters_and_names_map_to_codes() -> None:
    source = CONFIG.source("yj-first-time-entrants")
    path = INPUTS / "partner-returns/essex-youth-justice/first-time-entrants-FY2021-22.csv"
    frame = partner_returns.parse_return(path.read_bytes(), path.name, source.template)
    observations = partner_returns.to_observations(frame, source.template, source.dataset, "p", 1, path.name)
    assert set(observations["area_code"]) == {"E07000069", "E07000075"}
    assert sorted(set(observations["period_start"])) == [
        dt.date(2021, 4, 1), dt.date(2021, 7, 1), dt.date(2021, 10, 1), dt.date(2022, 1, 1)
    ]


def test_text_in_a_count_names_file_row_and_column() -> None:
    source = CONFIG.source("police-knife-crime")
    text = (
        "Month,Local Authority Code,Local Authority Name,Victim Age Group,Knife or Sharp Instrument Offences\r\n"
        "2022-04,E07000069,Castle Point,Under 25,3\r\n"
        "2022-04,E07000069,Castle Point,25 and over,three\r\n"
    )
    frame = partner_returns.parse_return(text.encode(), "bad.csv", source.template)
    with pytest.raises(InputFileError) as error:
        partner_returns.to_observations(frame, source.template, source.dataset, "p", 1, "bad.csv")
    assert (error.value.file, error.value.row, error.value.column) == (
        "bad.csv", 3, "Knife or Sharp Instrument Offences"
    )
    assert str(error.value).startswith("bad.csv, row 3, column 'Knife or Sharp Instrument Offences'")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        ("Month,Offences\n2022-04,3\n".encode("utf-16"), "not UTF-8"),
        (b"Month,Area\n2022-04,E07000069\n", "missing column"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_csv_strings(data, "partner.csv", ["Month", "Offences"])


def test_period_label_of_a_quarterly_return_runs_to_the_end_of_its_last_quarter() -> None:
    source = CONFIG.source("yj-first-time-entrants")
    path = INPUTS / "partner-returns/essex-youth-justice/first-time-entrants-FY2022-23.csv"
    frame = partner_returns.parse_return(path.read_bytes(), path.name, source.template)
    assert partner_returns.period_label(frame, source.template) == "2022-04/2023-03"


def test_markdown_table_blanks_missing_values() -> None:
    from tasks.shared.markdown import markdown_table

    table = markdown_table(pd.DataFrame({"month": ["2019-07"], "same_month_last_year": [None], "change": [float("nan")]}))
    assert table.splitlines()[-1] == "| 2019-07 |  |  |"
