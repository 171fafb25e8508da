"""data.police.uk monthly archive: force street-level crime CSVs, filtered to the partnership's LSOAs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass

import pandas as pd

from tasks.collect.sources.common import InputFileError, read_csv_strings
from tasks.collect.sources.street_cache import MEMORY_PER_CSV_BYTE, FramesInMemory, StreetParseCache

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
MONTH_OF_ARCHIVE = re.compile(r":(\d{4}-\d{2})$")  # one month taken out of a many-month archive: 'latest.zip:2019-01'
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # a force-month is tens of MB at most: more is a zip bomb or not an archive


@dataclass(frozen=True)
class ForceMonth:
    """One force's street CSV for one month, as found inside an archive zip (or on its own)."""

    member: str
    month: str
    force: str
    frame: pd.DataFrame
    sha256: str | None = None  # of the member's bytes, when read through the parse cache
    guarded: bool = False  # the guards already passed on these bytes (for another partnership of the force)


def period_of_archive(name: str) -> str | None:
    """The YYYY-MM an archive zip or street CSV is for, from its file name (None: the name gives no month)."""
    match = ARCHIVE_NAME.match(name) or MONTH_OF_ARCHIVE.search(name)
    return match.group(1) if match else None


def months_in_archive(data: bytes, name: str, forces: list[str]) -> dict[str, list[str]]:
    """The months a zip holds for the partnership's forces, each with its street members (from member names)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise InputFileError(name, "not a readable zip archive") from exc
    months: dict[str, list[str]] = {}
    for member in sorted(members):
        match = STREET_MEMBER.search(member)
        if match and match.group(2) in forces:
            months.setdefault(match.group(1), []).append(member)
    return months


def month_archive(data: bytes, members: list[str]) -> bytes:
    """One month taken out of a many-month archive: a zip of that month's members, their bytes unchanged, with
    fixed timestamps so the same month always gives the same bytes (and so the same checksum)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for member in members:
            target.writestr(zipfile.ZipInfo(member, date_time=(2000, 1, 1, 0, 0, 0)), source.read(member))
    return buffer.getvalue()


def crime_type_measure(crime_type: str) -> str:
    """'Violence and sexual offences' -> 'violence_and_sexual_offences'."""
    return re.sub(r"[^a-z0-9]+", "_", crime_type.lower()).strip("_")


def read_street_csv(data: bytes, label: str) -> pd.DataFrame:
    """One force-month street CSV as text cells."""
    return read_csv_strings(data, label, STREET_COLUMNS)


def _force_month(data: bytes, label: str, month: str, force: str, cache: StreetParseCache | None) -> ForceMonth:
    if cache is None:
        return ForceMonth(member=label, month=month, force=force, frame=read_street_csv(data, label))
    parsed = cache.get_or_parse(data, label, read_street_csv)
    return ForceMonth(member=label, month=month, force=force, frame=parsed.frame, sha256=parsed.sha256,
                      guarded=parsed.guarded)


def _held_force_month(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, month: str, force: str, cache: StreetParseCache,
    memory: FramesInMemory, archive_sha256: str,
) -> ForceMonth:
    """A force-month from this process's memory (keyed by the archive's sha256 and the member's name, so the same
    bytes only), else read through the cache and held for the force's next partnership."""
    key = (archive_sha256, info.filename)
    held = memory.get(force, key)
    if held is not None:
        frame, sha256 = held
        # a shallow copy: whatever a partnership does to its frame never reaches the next one's
        return ForceMonth(member=label, month=month, force=force, frame=frame.copy(deep=False), sha256=sha256,
                          guarded=cache.is_guarded(sha256))
    parsed = _force_month(archive.read(info), label, month, force, cache)
    if memory.keep(force, key, (parsed.frame, parsed.sha256), MEMORY_PER_CSV_BYTE * info.file_size):
        return dataclasses.replace(parsed, frame=parsed.frame.copy(deep=False))  # the held frame stays as parsed
    return parsed


def parse_archive(
    data: bytes, name: str, forces: list[str], max_member_bytes: int = MAX_MEMBER_BYTES,
    cache: StreetParseCache | None = None, memory: FramesInMemory | None = None,
) -> list[ForceMonth]:
    """Read the street CSVs of the partnership's forces from an archive zip, or a single street CSV. The month in
    the file's name and in its members' names must agree: a file that says one month and holds another is refused.
    With a cache, each force-month's bytes are parsed once whichever partnership meets them first; with memory
    too, the force's next partnership in this process takes the frame without unzipping it again."""
    named = period_of_archive(name)
    if name.lower().endswith(".csv"):
        match = STREET_MEMBER.search(name)
        if not match:
            raise InputFileError(name, "a street CSV must be named YYYY-MM-<force>-street.csv")
        return [_force_month(data, name, match.group(1), match.group(2), cache)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputFileError(name, "not a readable zip archive") from exc
    found, archive_sha256 = [], None
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            match = STREET_MEMBER.search(info.filename)
            if not (match and match.group(2) in forces):
                continue
            if named and match.group(1) != named:
                raise InputFileError(
                    name, f"the file is named for {named} but holds {info.filename} ({match.group(1)}): rename it "
                    "or send the month it says"
                )
            if info.file_size > max_member_bytes:
                raise InputFileError(
                    name, f"{info.filename} would expand to {info.file_size:,} bytes, over the "
                    f"{max_member_bytes:,}-byte limit of one force-month (DUTYCYCLE_MAX_ZIP_MEMBER_BYTES)"
                )
            label = f"{name}:{info.filename}"
            if cache is not None and memory is not None:
                archive_sha256 = archive_sha256 or hashlib.sha256(data).hexdigest()
                found.append(_held_force_month(archive, info, label, match.group(1), match.group(2), cache, memory,
                                               archive_sha256))
            else:
                found.append(_force_month(archive.read(info), label, match.group(1), match.group(2), cache))
    if not found:
        raise InputFileError(name, f"no street CSV for force(s) {', '.join(forces)} in the archive")
    return found


LSOA_NAME_NUMBER = re.compile(r"\s+\d{3}[A-Z]$")  # 'Castle Point 003A' -> 'Castle Point'


def district_of_lsoa_name(name: str) -> str:
    """The district an LSOA's name gives: ONS names every LSOA '<district> NNNX'."""
    return LSOA_NAME_NUMBER.sub("", name.strip())


@dataclass(frozen=True)
class AreaSplit:
    """A force file's rows by where they fall for the partnership."""

    listed: pd.DataFrame  # in one of the partnership's listed (2011) LSOAs
    by_name: pd.DataFrame  # in an LSOA the list lacks whose name is a member authority's (2021 codes), + local_authority
    no_location: pd.DataFrame  # no LSOA at all (data.police.uk's 'No Location'): kept, reported, counted nowhere
    outside: int  # rows in other districts of the force
    unattributable: int = 0  # rows in an unlisted LSOA whose district several members share: reported, not counted

    @property
    def in_area(self) -> int:
        return len(self.listed) + len(self.by_name)


def split_by_area(
    frame: pd.DataFrame,
    lsoa_codes: set[str],
    authority_by_lsoa_name: dict[str, str],
    shared_lsoa_names: frozenset[str] = frozenset(),
) -> AreaSplit:
    """Split a force file into the partnership's rows (by its LSOA list, or by the LSOA's name for codes of the
    2021 set that the 2011 list lacks), rows with no location, and a count of rows elsewhere."""
    lsoa = frame["LSOA code"].str.strip()
    listed = lsoa.isin(lsoa_codes)
    districts = frame["LSOA name"].map(district_of_lsoa_name)
    authority = districts.map(authority_by_lsoa_name)
    by_name = (lsoa != "") & ~listed & authority.notna()
    shared = (lsoa != "") & ~listed & districts.isin(shared_lsoa_names)
    no_location = lsoa == ""
    return AreaSplit(
        listed=frame[listed],
        by_name=frame[by_name].assign(local_authority=authority[by_name]),
        no_location=frame[no_location],
        outside=int((~listed & ~by_name & ~shared & ~no_location).sum()),
        unattributable=int(shared.sum()),
    )


def repeated_crime_ids(frame: pd.DataFrame) -> int:
    """Rows whose Crime ID an earlier row of the file already carries: data.police.uk lists some crimes twice
    (two outcomes or two locations); every row counts, as in data.police.uk's own figures. ASB rows have no ID."""
    ids = frame["Crime ID"].str.strip()
    return int(ids[ids != ""].duplicated().sum())


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
