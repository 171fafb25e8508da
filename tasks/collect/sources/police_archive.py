"""data.police.uk monthly archive: force street-level crime CSVs, filtered to the partnership's LSOAs."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass

import pandas as pd

from tasks.collect.sources.common import InputFileError, read_csv_strings

STREET_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
STREET_MEMBER = re.compile(r"(?:^|/)(\d{4}-\d{2})-([a-z0-9-]+)-street\.csv$")
ARCHIVE_NAME = re.compile(r"^(\d{4}-\d{2})(?:\.zip|-[a-z0-9-]+-street\.csv)$")


@dataclass(frozen=True)
class ForceMonth:
    """One force's street CSV for one month, as found inside an archive zip (or on its own)."""

    member: str
    month: str
    force: str
    frame: pd.DataFrame


def period_of_archive(name: str) -> str | None:
    """The YYYY-MM an archive zip or street CSV is for, from its file name."""
    match = ARCHIVE_NAME.match(name)
    return match.group(1) if match else None


def crime_type_measure(crime_type: str) -> str:
    """'Violence and sexual offences' -> 'violence_and_sexual_offences'."""
    return re.sub(r"[^a-z0-9]+", "_", crime_type.lower()).strip("_")


def parse_archive(data: bytes, name: str, forces: list[str]) -> list[ForceMonth]:
    """Read the street CSVs of the partnership's forces from an archive zip, or a single street CSV."""
    if name.lower().endswith(".csv"):
        match = STREET_MEMBER.search(name)
        if not match:
            raise InputFileError(name, "a street CSV must be named YYYY-MM-<force>-street.csv")
        frame = read_csv_strings(data, name, STREET_COLUMNS)
        return [ForceMonth(member=name, month=match.group(1), force=match.group(2), frame=frame)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputFileError(name, "not a readable zip archive") from exc
    found = []
    with archive:
        for member in sorted(archive.namelist()):
            match = STREET_MEMBER.search(member)
            if match and match.group(2) in forces:
                label = f"{name}:{member}"
                frame = read_csv_strings(archive.read(member), label, STREET_COLUMNS)
                found.append(ForceMonth(member=label, month=match.group(1), force=match.group(2), frame=frame))
    if not found:
        raise InputFileError(name, f"no street CSV for force(s) {', '.join(forces)} in the archive")
    return found


def filter_to_area(frame: pd.DataFrame, lsoa_codes: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split a force file into the partnership's rows, rows with no location (kept, reported) and a count of others."""
    lsoa = frame["LSOA code"].str.strip()
    in_area = frame[lsoa.isin(lsoa_codes)]
    no_location = frame[lsoa == ""]
    outside = len(frame) - len(in_area) - len(no_location)
    return in_area, no_location, outside


def to_observations(
    rows: pd.DataFrame, partnership: str, raw_file_id: int, area_column: str = "LSOA code", area_type: str = "lsoa"
) -> pd.DataFrame:
    """Count crimes by area, month and crime type: the canonical observations of street-level crime (by LSOA
    from the archive; by member authority from the API, which gives no LSOA)."""
    counts = rows.groupby([area_column, "Month", "Crime type"]).size().reset_index(name="value")
    return pd.DataFrame(
        {
            "partnership": partnership,
            "dataset": "police_street",
            "measure": counts["Crime type"].map(crime_type_measure),
            "area_type": area_type,
            "area_code": counts[area_column],
            "period_start": [dt.date.fromisoformat(f"{m}-01") for m in counts["Month"]],
            "period_type": "month",
            "age_band": "all",
            "sex": "all",
            "value": counts["value"].astype(float),
            "raw_file_id": raw_file_id,
        }
    )
