"""Nomis API, dataset NM_2002_1: ONS mid-year population estimates of local authorities by single year of age.

A guest query returns at most 25,000 rows; longer answers are fetched page by page with ``RecordOffset`` until
``RECORD_COUNT`` rows have arrived. Each page is kept as its own raw file and turned into the same canonical
observations as the MYE2 spreadsheet (``population.to_observations``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pandas as pd
import requests

from tasks.collect.sources.common import InputFileError, decode_text

DATASET = "NM_2002_1"
GUEST_ROW_LIMIT = 25_000
# c_age codes of NM_2002_1: 101 = "Age 0" ... 190 = "Age 89", 191 = "Aged 90+" (200 is "All Ages").
FIRST_AGE_CODE, LAST_AGE_CODE = 101, 191
TOTAL_GENDER = "0"  # gender 0 = Total (persons); 1 = Male, 2 = Female
MEASURE_VALUE = "20100"  # measures 20100 = the value itself (20301 would be a percentage)
SELECT = [
    "date_name",
    "geography_code",
    "geography_name",
    "gender",
    "c_age",
    "c_age_name",
    "measures",
    "obs_value",
    "obs_status",
    "record_offset",
    "record_count",
]
AGE_NAME = re.compile(r"^Age(?:d)? (\d+)(\+?)$")


class NomisApiError(RuntimeError):
    """Nomis did not return a usable page (after retries)."""


@dataclass(frozen=True)
class NomisPage:
    """One page of a Nomis answer exactly as received, with where it sits in the whole result."""

    url: str
    content: bytes = field(repr=False)
    record_offset: int
    rows: int
    record_count: int


def age_band_of_code(code: int) -> str:
    """NM_2002_1 c_age code -> our band: 101 -> '0', 190 -> '89', 191 -> '90+'."""
    if not FIRST_AGE_CODE <= code <= LAST_AGE_CODE:
        raise ValueError(f"c_age {code} is not a single year of age")
    return "90+" if code == LAST_AGE_CODE else str(code - FIRST_AGE_CODE)


def population_query(
    geography: Sequence[str], years: Iterable[int] | str, *, record_offset: int = 0, uid: str | None = None
) -> dict[str, str]:
    """Query parameters of NM_2002_1 for persons by single year of age (geography: GSS codes or Nomis ids/TYPEs)."""
    date = years if isinstance(years, str) else ",".join(str(int(y)) for y in years)
    params = {
        "geography": ",".join(geography),
        "date": date,
        "gender": TOTAL_GENDER,
        "c_age": f"{FIRST_AGE_CODE}...{LAST_AGE_CODE}",
        "measures": MEASURE_VALUE,
        "select": ",".join(SELECT),
    }
    if record_offset:
        params["RecordOffset"] = str(record_offset)
    if uid:
        params["uid"] = uid  # a registered key lifts the page size from 25,000 to 100,000 rows
    return params


def _page_counts(content: bytes, url: str) -> tuple[int, int]:
    """(rows in this page, RECORD_COUNT of the whole result)."""
    try:
        frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, usecols=["RECORD_COUNT"])
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise NomisApiError(f"GET {url}: not a Nomis CSV with RECORD_COUNT ({exc})") from exc
    if frame.empty:
        return 0, 0
    return len(frame), int(frame["RECORD_COUNT"].iloc[0])


def fetch_population_pages(
    session: requests.Session,
    base_url: str,
    geography: Sequence[str],
    years: Iterable[int] | str,
    *,
    uid: str | None = None,
    max_pages: int = 1_000,
) -> list[NomisPage]:
    """Every page of the population query, following RecordOffset until RECORD_COUNT rows are in hand."""
    url = urljoin(base_url if base_url.endswith("/") else base_url + "/", f"dataset/{DATASET}.data.csv")
    years = years if isinstance(years, str) else list(years)
    pages: list[NomisPage] = []
    offset = 0
    for _ in range(max_pages):
        response = session.get(url, params=population_query(geography, years, record_offset=offset, uid=uid))
        if response.status_code != 200:
            raise NomisApiError(f"GET {response.url} answered {response.status_code}")
        rows, count = _page_counts(response.content, response.url)
        pages.append(NomisPage(response.url, response.content, offset, rows, count))
        offset += rows
        # the server decides the page size (25,000 for guests): keep asking until the total arrived
        if rows == 0 or offset >= count:
            if pages and offset != count:
                raise NomisApiError(f"{url}: received {offset} of {count} records")
            return pages
    raise NomisApiError(f"{url}: more than {max_pages} pages")


def to_population_observations(csv_bytes: bytes, partnership: str, raw_file_id: int) -> pd.DataFrame:
    """Canonical population observations of one NM_2002_1 page (same rows as ``population.to_observations``)."""
    name = f"{DATASET} page"
    text = decode_text(csv_bytes, name)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    for column in ("GEOGRAPHY_CODE", "OBS_VALUE"):
        if column not in frame.columns:
            raise InputFileError(name, f"missing column {column!r}", row=1, column=column)
    year_column = next((c for c in ("DATE", "DATE_NAME", "DATE_CODE") if c in frame.columns), None)
    if year_column is None:
        raise InputFileError(name, "missing column 'DATE_NAME'", row=1, column="DATE_NAME")
    if "GENDER" in frame.columns and (frame["GENDER"] != TOTAL_GENDER).any():
        row = int((frame["GENDER"] != TOTAL_GENDER).to_numpy().argmax()) + 2
        raise InputFileError(name, "only persons (gender 0) are expected", row=row, column="GENDER")
    bands = [_band(frame, index, name) for index in range(len(frame))]
    values = pd.to_numeric(frame["OBS_VALUE"], errors="coerce")
    if values.isna().any():
        row = int(values.isna().to_numpy().argmax()) + 2
        value = frame["OBS_VALUE"].iloc[row - 2]
        raise InputFileError(name, f"{value!r} is not a population", row=row, column="OBS_VALUE")
    years = [int(text[:4]) for text in frame[year_column]]
    return pd.DataFrame(
        {
            "partnership": partnership,
            "dataset": "population",
            "measure": "population",
            "area_type": "lad",
            "area_code": frame["GEOGRAPHY_CODE"].str.strip(),
            # a mid-year estimate describes 30 June (as the MYE2 reader files it)
            "period_start": [dt.date(year, 6, 30) for year in years],
            "period_type": "mid_year",
            "age_band": bands,
            "sex": "persons",
            "value": values.astype(float),
            "raw_file_id": raw_file_id,
        }
    )


def _band(frame: pd.DataFrame, index: int, name: str) -> str:
    """The age band of a row, from its c_age code (or, if only names were selected, from 'Age 7' / 'Aged 90+')."""
    row = index + 2
    if "C_AGE" in frame.columns:
        try:
            return age_band_of_code(int(frame["C_AGE"].iloc[index]))
        except ValueError as exc:
            raise InputFileError(name, str(exc), row=row, column="C_AGE") from exc
    if "C_AGE_NAME" in frame.columns:
        match = AGE_NAME.match(frame["C_AGE_NAME"].iloc[index].strip())
        if match and (int(match.group(1)) < 90 and not match.group(2) or match.group(1) == "90" and match.group(2)):
            return match.group(1) + match.group(2)
        label = frame["C_AGE_NAME"].iloc[index]
        raise InputFileError(name, f"{label!r} is not a single year of age", row=row, column="C_AGE_NAME")
    raise InputFileError(name, "missing column 'C_AGE'", row=1, column="C_AGE")
