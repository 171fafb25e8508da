"""OHID Fingertips indicator exports (the API's all_data CSV), e.g. 11201 hospital admissions for violence."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from tasks.collect.sources.common import FIRST_DATA_ROW, InputFileError, read_csv_strings
from tasks.shared.benchmarks import comparison_code
from tasks.shared.geography import ENGLAND, REGIONS

FINGERTIPS_COLUMNS = [
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Compared to Region value or percentiles",
    "Time period Sortable",
    "New data",
    "Compared to goal",
]
# What we keep of each row, and the measure suffix it becomes.
KEPT_FIELDS = {
    "Value": "",
    "Lower CI 95.0 limit": "_lower_ci_95",
    "Upper CI 95.0 limit": "_upper_ci_95",
    "Lower CI 99.8 limit": "_lower_ci_998",
    "Upper CI 99.8 limit": "_upper_ci_998",
    "Count": "_count",
    "Denominator": "_denominator",
}
# Fingertips' own comparisons, kept exactly as published (coded: tasks/shared/benchmarks.py)
COMPARISON_FIELDS = {
    "Compared to England value or percentiles": "_compared_with_england",
    "Compared to Region value or percentiles": "_compared_with_region",
}
POOLED = re.compile(r"^(\d{4})/\d{2} - (\d{2})/(\d{2})$")
SINGLE = re.compile(r"^(\d{4})/(\d{2})$")
CALENDAR = re.compile(r"^(\d{4})$")
AGE_RANGE = re.compile(r"^(\d+)-(\d+) yrs$")
AGE_FROM = re.compile(r"^(\d+)\+ yrs$")


def age_band_of(label: str) -> str:
    """Fingertips age labels -> our bands: 'All ages' -> 'all', '0-9 yrs' -> '0-9', '65+ yrs' -> '65+'."""
    text = label.strip()
    if text == "All ages":
        return "all"
    if match := AGE_RANGE.match(text):
        return f"{match.group(1)}-{match.group(2)}"
    if match := AGE_FROM.match(text):
        return f"{match.group(1)}+"
    raise ValueError(f"unrecognised Fingertips age {label!r}")


def parse_export(data: bytes, name: str) -> pd.DataFrame:
    """Read the export; quoted fields with embedded newlines (a real quirk) are handled by the CSV reader."""
    return read_csv_strings(data, name, FINGERTIPS_COLUMNS)


def period_of(time_period: str) -> tuple[dt.date, str]:
    """'2020/21 - 22/23' -> (2022-04-01, pooled_3_year): pooled periods are filed under their last year;
    '2019/20' is a financial year and '2015' a calendar year."""
    pooled = POOLED.match(time_period.strip())
    if pooled:
        century = int(pooled.group(1)) // 100 * 100
        return dt.date(century + int(pooled.group(2)), 4, 1), "pooled_3_year"
    single = SINGLE.match(time_period.strip())
    if single:
        return dt.date(int(single.group(1)), 4, 1), "financial_year"
    calendar = CALENDAR.match(time_period.strip())
    if calendar:
        return dt.date(int(calendar.group(1)), 1, 1), "calendar_year"
    raise ValueError(f"unrecognised Fingertips time period {time_period!r}")


def regions_of(frame: pd.DataFrame, area_codes: list[str]) -> list[str]:
    """The regions the authorities lie in, by the export's own Parent Code chain (district -> county -> region,
    or unitary -> region): Fingertips compares each area with the region it names as an ancestor."""
    parents = dict(zip(frame["Area Code"], frame["Parent Code"], strict=True))
    found = []
    for code in area_codes:
        seen, current = set(), parents.get(code, "")
        while current and current not in seen and current not in REGIONS and current != ENGLAND:
            seen.add(current)
            current = parents.get(current, "")
        if current in REGIONS and current not in found:
            found.append(current)
    return found


def to_observations(
    frame: pd.DataFrame, area_codes: list[str], indicator_ids: list[int], partnership: str, raw_file_id: int,
    name: str = "",
) -> pd.DataFrame:
    """The published value, CI, count and denominator of each member authority, England and the authorities'
    region, per period, with Fingertips' comparisons with England and the region exactly as published."""
    regions = regions_of(frame, area_codes)
    wanted = frame[
        frame["Area Code"].isin([*area_codes, ENGLAND, *regions])
        & frame["Indicator ID"].isin([str(i) for i in indicator_ids])
        & (frame["Category Type"] == "")
    ]
    coded = wanted.copy()
    for column in COMPARISON_FIELDS:
        codes = []
        for index, text in zip(coded.index, coded[column], strict=True):
            try:
                code = comparison_code(text)
            except ValueError as error:
                raise InputFileError(name, str(error), row=int(index) + FIRST_DATA_ROW, column=column) from error
            codes.append("" if code is None else str(code))
        coded[column] = codes
    fields = {**KEPT_FIELDS, **COMPARISON_FIELDS}
    long = coded.melt(
        id_vars=["Indicator ID", "Area Code", "Time period", "Sex", "Age"], value_vars=list(fields), var_name="field"
    )
    long = long[long["value"].str.strip() != ""]
    periods = [period_of(text) for text in long["Time period"]]
    area_types = {ENGLAND: "country", **dict.fromkeys(regions, "region")}
    return pd.DataFrame(
        {
            "partnership": partnership,
            "dataset": "fingertips",
            "measure": "indicator_" + long["Indicator ID"] + long["field"].map(fields),
            "area_type": [area_types.get(code, "lad") for code in long["Area Code"]],
            "area_code": long["Area Code"],
            "period_start": [start for start, _ in periods],
            "period_type": [kind for _, kind in periods],
            "age_band": [age_band_of(a) for a in long["Age"]],
            "sex": long["Sex"].str.strip().str.lower(),
            "value": pd.to_numeric(long["value"]).astype(float),
            "raw_file_id": raw_file_id,
        }
    )
