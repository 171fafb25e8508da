"""ONS mid-year population estimates (MYE2 persons, single year of age) for rates and under-25 denominators."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from tasks.collect.sources.common import InputFileError, read_csv_strings

AGE_COLUMNS = [str(age) for age in range(90)] + ["90+"]
MYE2_COLUMNS = ["Code", "Name", "Geography", "All ages", *AGE_COLUMNS]
MID_YEAR = re.compile(r"mid-?(\d{4})", re.IGNORECASE)
# the parse cache's key for parse_mye2's frame: bump it whenever that frame changes (columns, cleaning, dtypes)
MYE2_PARSER = "mye2.v1"


def mid_year_of(name: str) -> int:
    """The estimate's reference year from its file name (``mid-2020-...``)."""
    match = MID_YEAR.search(name)
    if not match:
        raise InputFileError(name, "file name must say which mid-year estimate it is, e.g. 'mid-2021-MYE2-persons.csv'")
    return int(match.group(1))


def parse_mye2(data: bytes, name: str) -> pd.DataFrame:
    """Read an MYE2 persons sheet saved as CSV: text cells, trailing empty columns and blank rows dropped."""
    frame = read_csv_strings(data, name, MYE2_COLUMNS)
    frame = frame[["source_row", *MYE2_COLUMNS]]
    return frame[frame["Code"].str.strip() != ""].reset_index(drop=True)


def to_observations(frame: pd.DataFrame, area_codes: list[str], partnership: str, mid_year: int, raw_file_id: int) -> pd.DataFrame:
    """Population of each member authority by single year of age (ages stored as '0'..'89', '90+')."""
    rows = frame[frame["Code"].isin(area_codes)]
    long = rows.melt(id_vars=["Code"], value_vars=AGE_COLUMNS, var_name="age_band", value_name="text")
    values = pd.to_numeric(long["text"].str.replace(",", "", regex=False), errors="raise")
    return pd.DataFrame(
        {
            "partnership": partnership,
            "dataset": "population",
            "measure": "population",
            "area_type": "lad",
            "area_code": long["Code"],
            # a mid-year estimate describes 30 June; it is the denominator of the financial year starting that April
            "period_start": dt.date(mid_year, 6, 30),
            "period_type": "mid_year",
            "age_band": long["age_band"],
            "sex": "persons",
            "value": values.astype(float),
            "raw_file_id": raw_file_id,
        }
    )


# MHCLG English Indices of Deprivation 2019, File 6: ONS mid-2015 population by LSOA (excluding prisoners)
LSOA_CODE_COLUMN = "LSOA code (2011)"
LSOA_TOTAL_COLUMN = "Total population: mid 2015 (excluding prisoners)"
IOD_COLUMNS = [LSOA_CODE_COLUMN, "LSOA name (2011)", "Local Authority District code (2019)", LSOA_TOTAL_COLUMN]
IOD_MID_YEAR = 2015


def parse_lsoa_denominators(data: bytes, name: str) -> pd.DataFrame:
    """Read the IoD2019 population denominators (text cells, thousands separators kept for the checks)."""
    return read_csv_strings(data, name, IOD_COLUMNS)


def lsoa_observations(frame: pd.DataFrame, lsoa_codes: list[str], partnership: str, raw_file_id: int) -> pd.DataFrame:
    """Population of each of the partnership's LSOAs, all ages, mid-2015 (the denominator of LSOA rates)."""
    rows = frame[frame[LSOA_CODE_COLUMN].isin(lsoa_codes)]
    values = pd.to_numeric(rows[LSOA_TOTAL_COLUMN].str.replace(",", "", regex=False), errors="raise")
    return pd.DataFrame(
        {
            "partnership": partnership,
            "dataset": "population",
            "measure": "population",
            "area_type": "lsoa",
            "area_code": rows[LSOA_CODE_COLUMN].to_numpy(),
            "period_start": dt.date(IOD_MID_YEAR, 6, 30),
            "period_type": "mid_year",
            "age_band": "all",
            "sex": "persons",
            "value": values.astype(float).to_numpy(),
            "raw_file_id": raw_file_id,
        }
    )
