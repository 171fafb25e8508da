"""A synthetic national year in the real formats: every community safety partnership of the 43 territorial police
forces of England and Wales, their forces' data.police.uk monthly archives, one ONS MYE2 file and the partner returns.

It is the input of the national benchmark (`dutycycle national` against `benchmarks/national/baseline.py`):

    uv run python -m benchmarks.national.generate --out /tmp/national [--financial-year 2022/23] [--scale 1.0]
        [--forces durham,essex] [--seed 1]

writes under OUT:
- ``config/``: a DUTYCYCLE_CONFIG_DIR: the project's metrics.yaml, deadlines.yaml and lookups/, and
  ``partnerships/<slug>/`` for every CSP (2017) of the chosen forces, written by the project's own onboarding code
  (``partnership new --from <CSP code>``, then ``source add`` for five partner returns) with placeholder
  stakeholders; the police and population sources point at the shared folders below (absolute paths);
- ``archives/<force id>/YYYY-MM.zip``: one data.police.uk archive per force-month (member
  ``YYYY-MM/YYYY-MM-<force>-street.csv``, the real header, CRLF), once per force for all its partnerships;
- ``population/mid-YYYY-MYE2-persons.csv``: one national ONS MYE2 persons file (every 2017 district);
- ``MANIFEST.json``: what was written, with per-force and per-partnership street row counts.

Everything is SYNTHETIC except the geography (the ONS lookups of config/lookups) and the shapes copied from real
files: the crime-type mix, the outcomes of each crime type, the share of rows with no location and the street names
come from the real Essex Police file of December 2022 (the demo's 2022-12.zip); the age structure of each district
from the real ONS mid-2020 MYE2 file (the demo's mid-2020-MYE2-persons.csv). Coordinates are invented points
inside the bounds of England and Wales (six anonymisation points per LSOA, as data.police.uk snaps crimes to
points), not the LSOA's real place. Volumes: about 6 million street rows a year at scale 1.0 (England and Wales,
anti-social behaviour included), shared among forces by the mid-2017 population of their LSOAs, and among a
force's LSOAs by population times a fixed log-normal hot-spot factor. Deterministic: every force-month draws from
its own stream ``numpy.random.default_rng([seed, force number, month number])``, so a force's files do not depend on
which other forces are generated.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.shared.onboarding import (
    Lookups,
    PartnerReturn,
    add_partner_return,
    force_id,
    read_lookups,
    write_partnership,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT_CONFIG = ROOT / "config"
DEMO_INPUTS = PROJECT_CONFIG / "partnerships" / "castle-point-rochford" / "inputs"
REAL_STREET_MONTH = DEMO_INPUTS / "police-archive" / "2022-12.zip"  # real: Essex Police, December 2022
REAL_MYE2 = DEMO_INPUTS / "population" / "mid-2020-MYE2-persons.csv"  # real: ONS mid-2020 (2021 geography)
POPULATION_2017 = "Mid-2017 Population Density.csv"
# real: MHCLG IoD2019 File 6, ONS mid-2015 population by LSOA (England only); the demo's LSOA population comes from it
IOD2019 = ROOT.parent / "shared" / "data" / "ons_population" / "IoD2019_Population_Denominators.csv"

NATIONAL_STREET_ROWS = 6_000_000  # England and Wales, a year of data.police.uk street records with ASB
STREET_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                 "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
ASB = "Anti-social behaviour"
POINTS_PER_LSOA = 6
REPEATED_ID_SHARE = 0.0005  # crimes listed twice (two outcomes); the real files have 0.02-0.1%
HOTSPOT_SIGMA = 0.6  # log-normal spread of crime per head between LSOAs of a force
SEASON_AMPLITUDE = 0.08  # summer peak of all crime (July), as in the demo's synthetic months

# data.police.uk's "Reported by" / "Falls within" name of each territorial force, by force id
FORCE_NAMES = {
    "avon-and-somerset": "Avon and Somerset Constabulary", "bedfordshire": "Bedfordshire Police",
    "cambridgeshire": "Cambridgeshire Constabulary", "cheshire": "Cheshire Constabulary",
    "city-of-london": "City of London Police", "cleveland": "Cleveland Police", "cumbria": "Cumbria Constabulary",
    "derbyshire": "Derbyshire Constabulary", "devon-and-cornwall": "Devon & Cornwall Police",
    "dorset": "Dorset Police", "durham": "Durham Constabulary", "dyfed-powys": "Dyfed-Powys Police",
    "essex": "Essex Police", "gloucestershire": "Gloucestershire Constabulary",
    "greater-manchester": "Greater Manchester Police", "gwent": "Gwent Police",
    "hampshire": "Hampshire Constabulary", "hertfordshire": "Hertfordshire Constabulary",
    "humberside": "Humberside Police", "kent": "Kent Police", "lancashire": "Lancashire Constabulary",
    "leicestershire": "Leicestershire Police", "lincolnshire": "Lincolnshire Police",
    "merseyside": "Merseyside Police", "metropolitan": "Metropolitan Police Service",
    "norfolk": "Norfolk Constabulary", "north-wales": "North Wales Police",
    "north-yorkshire": "North Yorkshire Police", "northamptonshire": "Northamptonshire Police",
    "northumbria": "Northumbria Police", "nottinghamshire": "Nottinghamshire Police",
    "south-wales": "South Wales Police", "south-yorkshire": "South Yorkshire Police",
    "staffordshire": "Staffordshire Police", "suffolk": "Suffolk Constabulary", "surrey": "Surrey Police",
    "sussex": "Sussex Police", "thames-valley": "Thames Valley Police", "warwickshire": "Warwickshire Police",
    "west-mercia": "West Mercia Police", "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police", "wiltshire": "Wiltshire Police",
}

# Partner returns: yearly events per 100,000 residents (synthetic, near the national levels of 2022/23)
KNIFE_RATE, KNIFE_AGES = 85.0, {"Under 25": 0.33, "25 and over": 0.62, "Unknown": 0.05}
HOMICIDE_RATE = {"N": 0.75, "Y": 0.25}  # non-domestic, domestic
HOMICIDE_UNDER_25, HOMICIDE_KNIFE = 0.3, 0.4
ADMISSIONS_RATE, ADMISSION_AGES = 6.5, {"0-17": 0.12, "18-24": 0.28, "25-44": 0.38, "45+": 0.22}
AE_RATE, AE_AGES = 320.0, {"Under 25": 0.38, "25+": 0.62}
FTE_RATE = 14.0


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """'Castle Point and Rochford' -> 'castle-point-and-rochford'; '&' is 'and', as force ids write it."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("&", " and ")).strip("-")


def year_months(financial_year: str) -> list[str]:
    """'2022/23' -> ['2022-04', ..., '2023-03']."""
    match = re.fullmatch(r"(\d{4})/(\d{2})", financial_year)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"--financial-year {financial_year!r}: write it as 2022/23")
    start = int(match.group(1))
    return [f"{start + (m < 4)}-{m:02d}" for m in [*range(4, 13), 1, 2, 3]]


def season_weights(months: list[str]) -> np.ndarray:
    """Each month's share of the year, with a summer peak (July)."""
    factors = np.array([1 + SEASON_AMPLITUDE * math.cos(2 * math.pi * (int(m[5:]) - 7) / 12) for m in months])
    return factors / factors.sum()


@dataclass(frozen=True)
class StreetReference:
    """What the synthetic street files copy from a real one: crime-type mix, outcomes, no-location rows, streets."""

    types: list[str]  # alphabetical, as the real files sort them
    type_share: np.ndarray  # of rows with a location
    no_location_share: float
    no_location_type_share: np.ndarray
    outcomes: dict[str, tuple[np.ndarray, np.ndarray]]  # crime type -> (outcome labels, probabilities)
    streets: np.ndarray  # 'On or near ...' labels


def read_reference(path: Path = REAL_STREET_MONTH) -> StreetReference:
    """The shapes of the real Essex Police file of December 2022."""
    with zipfile.ZipFile(path) as archive:
        [member] = [n for n in archive.namelist() if n.endswith("-street.csv")]
        frame = pd.read_csv(io.BytesIO(archive.read(member)), dtype=str, keep_default_na=False)
    types = sorted(frame["Crime type"].unique())
    located = frame[frame["LSOA code"] != ""]
    unlocated = frame[frame["LSOA code"] == ""]
    outcomes = {}
    for crime_type in types:
        counts = frame.loc[frame["Crime type"] == crime_type, "Last outcome category"].value_counts()
        outcomes[crime_type] = (counts.index.to_numpy(dtype=object), (counts / counts.sum()).to_numpy())
    streets = located["Location"]
    return StreetReference(
        types=types,
        type_share=located["Crime type"].value_counts(normalize=True).reindex(types, fill_value=0).to_numpy(),
        no_location_share=len(unlocated) / len(frame),
        no_location_type_share=unlocated["Crime type"].value_counts(normalize=True).reindex(types, fill_value=0)
        .to_numpy(),
        outcomes=outcomes,
        # labels that need no CSV quoting, as all of the real file's do
        streets=np.array(sorted(set(streets[streets.str.startswith("On or near ") & ~streets.str.contains('[,"]')])),
                         dtype=object),
    )


def hex_ids(rng: np.random.Generator, count: int) -> list[str]:
    """Crime IDs as data.police.uk writes them: 64 hexadecimal digits."""
    text = rng.bytes(32 * count).hex()
    return [text[i:i + 64] for i in range(0, 64 * count, 64)]


def anonymisation_points(rng: np.random.Generator, lsoas: pd.DataFrame, reference: StreetReference) -> list[str]:
    """POINTS_PER_LSOA points per LSOA of a force as CSV cells 'lon,lat,Location,LSOA code,LSOA name' (the force's
    for every month, as data.police.uk snaps crimes to fixed points), then the no-location cells (index -1).
    Coordinates are invented inside England and Wales' bounds; the street labels are real ones."""
    n_lsoa = len(lsoas)
    centre = (rng.uniform(-4.5, 1.2), rng.uniform(50.6, 54.8))
    spread = (n_lsoa, POINTS_PER_LSOA)
    lon = np.clip(centre[0] + rng.normal(0, 0.15, n_lsoa)[:, None] + rng.normal(0, 0.004, spread), -6.4, 1.9)
    lat = np.clip(centre[1] + rng.normal(0, 0.1, n_lsoa)[:, None] + rng.normal(0, 0.004, spread), 49.9, 55.9)
    streets = rng.choice(reference.streets, n_lsoa * POINTS_PER_LSOA)
    codes = np.repeat(lsoas["LSOA11CD"].to_numpy(dtype=object), POINTS_PER_LSOA)
    names = np.repeat(lsoas["LSOA11NM"].to_numpy(dtype=object), POINTS_PER_LSOA)
    points = [f"{x:.6f},{y:.6f},{s},{c},{n}" for x, y, s, c, n in zip(lon.ravel(), lat.ravel(), streets, codes, names)]
    return [*points, ",,No Location,,"]


def street_csv(
    rng: np.random.Generator, month: str, force_name: str, lsoas: pd.DataFrame, points: list[str],
    expected_rows: float, reference: StreetReference,
) -> tuple[bytes, int]:
    """One force-month street CSV (bytes, CRLF) and its row count. ``lsoas``: LSOA11CD, LSOA11NM, weight (sums to
    1), sorted by name, in the order of ``points`` (anonymisation_points)."""
    n_lsoa, n_types = len(lsoas), len(reference.types)
    located_mean = expected_rows * (1 - reference.no_location_share)
    cell_means = np.outer(lsoas["weight"].to_numpy() * located_mean, reference.type_share)
    counts = rng.poisson(cell_means).ravel()  # (LSOA, type) in the real files' order: LSOA name, then crime type
    if counts.sum() == 0:  # no force-month is empty on data.police.uk: a small test year gets one crime
        counts[int(np.argmax(cell_means.ravel()))] = 1
    cell = np.repeat(np.arange(n_lsoa * n_types), counts)
    lsoa_of_row, type_of_row = cell // n_types, cell % n_types
    point_of_row = lsoa_of_row * POINTS_PER_LSOA + rng.integers(0, POINTS_PER_LSOA, len(cell))
    no_location = rng.poisson(reference.no_location_type_share * expected_rows * reference.no_location_share)
    if no_location.sum() == 0 and counts.sum() > 0:  # a small test year still shows every feature of the format
        no_location[rng.choice(n_types, p=reference.no_location_type_share)] = 1
    type_of_row = np.concatenate([type_of_row, np.repeat(np.arange(n_types), no_location)])
    point_of_row = np.concatenate([point_of_row, np.full(int(no_location.sum()), -1)])

    outcome = np.empty(len(type_of_row), dtype=object)
    for index, crime_type in enumerate(reference.types):
        rows = np.flatnonzero(type_of_row == index)
        labels, shares = reference.outcomes[crime_type]
        outcome[rows] = rng.choice(labels, len(rows), p=shares)
    asb = np.array([t == ASB for t in reference.types])[type_of_row]
    ids = np.array(hex_ids(rng, len(type_of_row)), dtype=object)
    ids[asb] = ""
    outcome[asb] = ""

    # some crimes listed twice, as data.police.uk does (a second outcome): the copy follows its original; at least
    # one a file, so a small test year has one too
    crimes = np.flatnonzero(~asb)
    repeats = min(len(crimes), max(1 if len(crimes) >= 2 else 0, round(len(crimes) * REPEATED_ID_SHARE)))
    twice = np.sort(rng.choice(crimes, repeats, replace=False)) if repeats else np.array([], dtype=int)
    second_outcome = np.array([rng.choice(reference.outcomes[reference.types[t]][0]) for t in type_of_row[twice]],
                              dtype=object)
    order = np.argsort(np.concatenate([np.arange(len(ids)) * 2, twice * 2 + 1]), kind="stable")
    ids = np.concatenate([ids, ids[twice]])[order]
    point_of_row = np.concatenate([point_of_row, point_of_row[twice]])[order]
    type_of_row = np.concatenate([type_of_row, type_of_row[twice]])[order]
    outcome = np.concatenate([outcome, second_outcome])[order]

    fixed = f"{month},{force_name},{force_name}"
    type_names = reference.types
    body = "\r\n".join(
        f"{crime_id},{fixed},{points[p]},{type_names[t]},{o},"
        for crime_id, p, t, o in zip(ids, point_of_row, type_of_row, outcome)
    )
    text = ",".join(STREET_HEADER) + "\r\n" + (body + "\r\n" if body else "")
    return text.encode("utf-8"), len(ids)


def write_archive(path: Path, month: str, force: str, data: bytes) -> None:
    """A data.police.uk archive zip holding one force-month street file (member YYYY-MM/YYYY-MM-<force>-street.csv)."""
    info = zipfile.ZipInfo(f"{month}/{month}-{force}-street.csv", date_time=(int(month[:4]), int(month[5:]), 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, data, compresslevel=6)


# ---------------------------------------------------------------------------------------------------------------
# Population: one national MYE2 file
# ---------------------------------------------------------------------------------------------------------------

AGE_COLUMNS = [str(age) for age in range(90)] + ["90+"]
MYE2_WIDTH = 256  # the real sheet saved as CSV has 256 columns, trailing ones empty
MIGRATION_DRIFT = 1.004  # every age grows by this a year from the real mid-2020 figures (as the demo's files)


def national_mye2(districts: pd.DataFrame, lsoa_population: pd.Series, lsoa_district: pd.Series,
                  mid_year: int) -> pd.DataFrame:
    """Code, Name, Geography and ages 0..90+ for England, Wales and every 2017 district of ``districts``.

    A district of the real mid-2020 file (2021 geography) keeps its row; a 2017 district merged since (Aylesbury
    Vale, the Northamptonshire districts...) gets its LSOAs' mid-2017 population with England's age structure.
    Then every age is grown by MIGRATION_DRIFT a year to ``mid_year``.
    """
    real = pd.read_csv(REAL_MYE2, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    real = real[real["Code"].str.strip() != ""].set_index("Code")
    ages = real[AGE_COLUMNS].apply(lambda c: pd.to_numeric(c.str.replace(",", "", regex=False)))
    england = ages.loc["E92000001"] / ages.loc["E92000001"].sum()
    rows = [("E92000001", real.loc["E92000001", "Name"], real.loc["E92000001", "Geography"], ages.loc["E92000001"]),
            ("W92000004", real.loc["W92000004", "Name"], real.loc["W92000004", "Geography"], ages.loc["W92000004"])]
    totals = lsoa_population.groupby(lsoa_district).sum()
    for code, name in zip(districts["LAD17CD"], districts["LAD17NM"], strict=True):
        if code in ages.index:
            rows.append((code, real.loc[code, "Name"], real.loc[code, "Geography"], ages.loc[code]))
        else:
            rows.append((code, name, "Non-metropolitan District", england * totals[code]))
    growth = MIGRATION_DRIFT ** (mid_year - 2020)
    frame = pd.DataFrame([(code, name, geography, *np.rint(np.asarray(values, dtype=float) * growth).astype(int))
                          for code, name, geography, values in rows], columns=["Code", "Name", "Geography", *AGE_COLUMNS])
    frame.insert(3, "All ages", frame[AGE_COLUMNS].sum(axis=1))
    return frame


def write_mye2(frame: pd.DataFrame, path: Path) -> None:
    """As ONS's sheet saved as CSV: UTF-8 BOM, CRLF, numbers with thousands separators (quoted), 256 columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = list(frame.columns)
    writer.writerow(header + [""] * (MYE2_WIDTH - len(header)))
    for row in frame.itertuples(index=False):
        cells = [row[0], row[1], row[2]] + [f"{int(v):,}" for v in row[3:]]
        writer.writerow(cells + [""] * (MYE2_WIDTH - len(cells)))
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------------------------------------------------
# Partnerships: `partnership new`, shared sources, placeholder data owners, `source add` and the returns
# ---------------------------------------------------------------------------------------------------------------

DATA_OWNERS = """\
  - id: police-analyst   # TODO: the force's analyst who sends the knife-crime and homicide returns
    name: Police Strategic Analyst
    organisation: {force}
    email: police-analyst@example.invalid
    role: data_owner
    receives: [data_quality_report, data_request]
  - id: icb-intelligence   # TODO: the integrated care board's analyst (hospital admissions, A&E attendances)
    name: ICB Intelligence Analyst
    organisation: Integrated Care Board
    email: icb-intelligence@example.invalid
    role: data_owner
    receives: [data_quality_report, data_request]
  - id: youth-justice   # TODO: the youth justice service's information officer
    name: Youth Justice Information Officer
    organisation: Youth Justice Service
    email: youth-justice@example.invalid
    role: data_owner
    receives: [data_quality_report, data_request]
"""


def partner_returns(force_name: str, members: list[tuple[str, str]]) -> list[PartnerReturn]:
    """The five partner returns of the demo partnership, as `source add` is given them (same columns and maps)."""
    police, icb, yj = "inputs/partner-returns/police", "inputs/partner-returns/icb", "inputs/partner-returns/youth-justice"
    return [
        PartnerReturn(
            id="police-knife-crime", dataset="police_knife_crime", owner="police-analyst", location=police,
            title=f"{force_name} knife and sharp-instrument offences", patterns=["knife-crime-*.csv"],
            cadence="quarter", period_column="Month", period_format="%Y-%m", area_column="Local Authority Code",
            age_band_column="Victim Age Group", age_band_map={"Under 25": "0-24", "25 and over": "25+",
                                                              "Unknown": "unknown"},
            values=[("Knife or Sharp Instrument Offences", "knife_sharp_instrument_offences")],
        ),
        PartnerReturn(
            id="police-homicides", dataset="police_homicides", owner="police-analyst", location=police,
            title=f"{force_name} homicide victims (Homicide Index)", patterns=["homicides-*.csv"],
            cadence="financial_year", period_column="Month", period_format="%Y-%m",
            area_column="Local Authority Code", where={"Domestic": "N"},
            values=[("Victims Under 25", "homicide_non_domestic", "0-24"),
                    ("Victims 25 and Over", "homicide_non_domestic", "25+"),
                    ("Of Which Knife or Sharp Instrument", "homicide_non_domestic_knife", "all")],
        ),
        PartnerReturn(
            id="hospital-sharp-object-admissions", dataset="hospital_sharp_object_admissions",
            owner="icb-intelligence", location=icb,
            title="Hospital admissions for assault by sharp object (HES, ICD-10 X99)",
            patterns=["sharp-object-admissions-*.csv"], cadence="financial_year", period_column="Admission Month",
            period_format="%b-%y", area_column="LAD Code", age_band_column="Age Band", where={"ICD10 Cause": "X99"},
            values=[("Admissions", "sharp_object_admissions")],
        ),
        PartnerReturn(
            id="ae-assault-attendances", dataset="ae_assault_attendances", owner="icb-intelligence", location=icb,
            title="A&E attendances for assault (ISTV minimum data set)", patterns=["ae-assault-attendances-*.csv"],
            cadence="month", period_column="Month", period_format="%Y-%m", area_column="Patient LAD Code",
            age_band_column="Age Group", age_band_map={"Under 25": "0-24", "25+": "25+"},
            values=[("Assault Attendances", "assault_attendances")],
        ),
        PartnerReturn(
            id="yj-first-time-entrants", dataset="yj_first_time_entrants", owner="youth-justice", location=yj,
            title="First-time entrants to the youth justice system", patterns=["first-time-entrants-*.csv"],
            cadence="financial_year", period_column="Quarter", period_format="financial_quarter",
            area_column="Local Authority", area_map={name: code for code, name in members},
            values=[("First Time Entrants (10-17)", "first_time_entrants", "10-17")],
        ),
    ]


def _csv(header: list[str], rows: list[list]) -> bytes:
    """A partner's CSV as the demo's returns are: no BOM, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def return_files(rng: np.random.Generator, financial_year: str, members: list[tuple[str, str]],
                 population: dict[str, int]) -> dict[str, bytes]:
    """The year's partner-return files of a partnership, by path under its folder (synthetic Poisson counts)."""
    months = year_months(financial_year)
    fy = financial_year.replace("/", "-")
    weight = season_weights(months)
    files: dict[str, bytes] = {}

    def draws(rate: float, code: str, share: float, month: int) -> int:
        return int(rng.poisson(rate * population[code] / 100_000 * weight[month] * share))

    knife = [[m, code, name, group, draws(KNIFE_RATE, code, share, i)]
             for i, m in enumerate(months) for code, name in members for group, share in KNIFE_AGES.items()]
    for quarter in range(4):
        files[f"inputs/partner-returns/police/knife-crime-FY{fy}-Q{quarter + 1}.csv"] = _csv(
            ["Month", "Local Authority Code", "Local Authority Name", "Victim Age Group",
             "Knife or Sharp Instrument Offences"], [r for r in knife if r[0] in months[3 * quarter:3 * quarter + 3]])
    homicides = []
    for i, m in enumerate(months):
        for code, _ in members:
            for domestic, rate in HOMICIDE_RATE.items():
                young = draws(rate, code, HOMICIDE_UNDER_25, i)
                older = draws(rate, code, 1 - HOMICIDE_UNDER_25, i)
                homicides.append([m, code, young, older, int(rng.binomial(young + older, HOMICIDE_KNIFE)), domestic])
    files[f"inputs/partner-returns/police/homicides-FY{fy}.csv"] = _csv(
        ["Month", "Local Authority Code", "Victims Under 25", "Victims 25 and Over", "Of Which Knife or Sharp Instrument",
         "Domestic"], homicides)
    month_names = [pd.Timestamp(f"{m}-01").strftime("%b-%y") for m in months]
    files[f"inputs/partner-returns/icb/sharp-object-admissions-FY{fy}.csv"] = _csv(
        ["Admission Month", "LAD Code", "Age Band", "ICD10 Cause", "Admissions"],
        [[month_names[i], code, band, "X99", draws(ADMISSIONS_RATE, code, share, i)]
         for i in range(12) for code, _ in members for band, share in ADMISSION_AGES.items()])
    for i, m in enumerate(months):
        files[f"inputs/partner-returns/icb/ae-assault-attendances-{m}.csv"] = _csv(
            ["Month", "Emergency Department", "Patient LAD Code", "Age Group", "Assault Attendances"],
            [[m, f"{name} Emergency Department", code, group, draws(AE_RATE, code, share, i)]
             for code, name in members for group, share in AE_AGES.items()])
    files[f"inputs/partner-returns/youth-justice/first-time-entrants-FY{fy}.csv"] = _csv(
        ["Quarter", "Local Authority", "First Time Entrants (10-17)"],
        [[f"{financial_year} Q{q + 1}", name, sum(draws(FTE_RATE, code, 1.0, i) for i in range(3 * q, 3 * q + 3))]
         for q in range(4) for code, name in members])
    return files


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_partnership(config_dir: Path, pid: str, csp_code: str, archive_folder: Path, population_folder: Path,
                     financial_year: str, population: dict[str, int], rng: np.random.Generator,
                     lookups: Lookups | None = None, iod_lines: dict[str, bytes] | None = None) -> dict:
    """One partnership as a user makes it: `partnership new --from <CSP>`, the police and population sources pointed
    at the shared folders, placeholder data owners, `source add` for each return, then the year's returns."""
    area = write_partnership(config_dir, pid, [csp_code], lookups=lookups)
    if len(area.forces) != 1:
        raise ValueError(f"{csp_code}: the lookups place it in {len(area.forces)} forces, not one")
    fid, _ = area.forces[0]
    folder = config_dir / "partnerships" / pid
    sources = folder / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    for inbox, shared in (("inputs/police-archive", archive_folder), ("inputs/population", population_folder)):
        line = f"    location: {inbox}\n"
        if text.count(line) != 1:
            raise ValueError(f"{sources}: expected one '{line.strip()}' as `partnership new` writes it")
        text = text.replace(line, f"    location: {_quoted(str(shared))}   # shared by every partnership\n")
        shutil.rmtree(folder / inbox)  # the empty inbox's note would say to drop files where none are read
    sources.write_text(text, encoding="utf-8")
    stakeholders = folder / "stakeholders.yaml"
    stakeholders.write_text(stakeholders.read_text(encoding="utf-8")
                            + DATA_OWNERS.format(force=_quoted(FORCE_NAMES[fid])), encoding="utf-8")
    for source in partner_returns(FORCE_NAMES[fid], area.members):
        add_partner_return(config_dir, pid, source)
    for path, data in return_files(rng, financial_year, area.members, population).items():
        (folder / path).write_bytes(data)
    codes = [code for code, _, _ in area.lsoas]
    lsoa_population = bool(iod_lines) and all(code in iod_lines for code in codes)
    if lsoa_population:  # as the demo's: the header and the partnership's lines, unchanged, in the file's order
        order = {code: index for index, code in enumerate(iod_lines)}
        lines = [iod_lines[""], *(iod_lines[code] for code in sorted(codes, key=order.__getitem__))]
        (folder / "inputs" / "population-lsoa" / f"IoD2019-population-denominators-{pid}.csv").write_bytes(b"".join(lines))
    return {"id": pid, "csp": csp_code, "force": fid, "local_authorities": [c for c, _ in area.members],
            "lsoas": len(area.lsoas), "lsoa_population": lsoa_population}


# ---------------------------------------------------------------------------------------------------------------
# The whole year
# ---------------------------------------------------------------------------------------------------------------


def generate_national(out_dir: Path, financial_year: str = "2022/23", scale: float = 1.0,
                      forces: list[str] | None = None, seed: int = 1) -> dict:
    """Write the synthetic national year under ``out_dir`` (which must not exist or be empty); returns the
    summary also written to MANIFEST.json."""
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty: give a new folder")
    months = year_months(financial_year)
    config_dir = out_dir / "config"
    config_dir.mkdir(parents=True)
    for name in ("metrics.yaml", "deadlines.yaml"):
        shutil.copy2(PROJECT_CONFIG / name, config_dir / name)
    shutil.copytree(PROJECT_CONFIG / "lookups", config_dir / "lookups")

    lookups = read_lookups(config_dir)
    geography = lookups.geography.copy()  # the LSOA -> 2017 district -> force placement `partnership new` uses
    geography["force"] = geography["PFA17NM"].map(force_id)
    density = pd.read_csv(config_dir / "lookups" / POPULATION_2017, dtype=str, encoding="utf-8-sig",
                          keep_default_na=False)
    people = pd.to_numeric(density.set_index("Code")["Mid-2017 population"].str.replace(",", "", regex=False))
    geography["people"] = geography["LSOA11CD"].map(people).fillna(0).to_numpy()
    all_forces = sorted(geography["force"].unique())
    unknown = sorted(set(forces or []) - set(all_forces))
    if unknown:
        raise ValueError(f"--forces: {', '.join(unknown)} not a force of the lookup (e.g. {', '.join(all_forces[:3])})")
    chosen = sorted(forces) if forces else all_forces

    reference = read_reference()
    iod_lines: dict[str, bytes] = {}
    if IOD2019.is_file():  # LSOA code -> its line; "" -> the header
        for index, line in enumerate(IOD2019.read_bytes().splitlines(keepends=True)):
            iod_lines["" if index == 0 else line.split(b",", 1)[0].decode()] = line
    population_folder = out_dir / "population"
    population_folder.mkdir()
    districts = lookups.districts[lookups.districts["PFA17NM"].map(force_id).isin(chosen)]
    mye2 = national_mye2(districts, geography.set_index("LSOA11CD")["people"],
                         geography.set_index("LSOA11CD")["LAD17CD"], int(months[0][:4]))
    write_mye2(mye2, population_folder / f"mid-{months[0][:4]}-MYE2-persons.csv")
    population = dict(zip(mye2["Code"], mye2["All ages"], strict=True))

    national_people = geography["people"].sum()
    weights = season_weights(months)
    per_force: dict[str, dict] = {}
    for fid in chosen:
        number = all_forces.index(fid)
        lsoas = geography[geography["force"] == fid].sort_values("LSOA11NM", kind="stable").reset_index(drop=True)
        hotspot = np.random.default_rng([seed, number, 0]).lognormal(0, HOTSPOT_SIGMA, len(lsoas))
        lsoas["weight"] = lsoas["people"] * hotspot / (lsoas["people"] * hotspot).sum()
        yearly = NATIONAL_STREET_ROWS * scale * lsoas["people"].sum() / national_people
        points = anonymisation_points(np.random.default_rng([seed, number, 13]), lsoas, reference)
        folder = out_dir / "archives" / fid
        folder.mkdir(parents=True)
        rows = {}
        for index, month in enumerate(months):
            rng = np.random.default_rng([seed, number, index + 1])
            data, count = street_csv(rng, month, FORCE_NAMES[fid], lsoas, points, yearly * weights[index],
                                     reference)
            write_archive(folder / f"{month}.zip", month, fid, data)
            rows[month] = count
        per_force[fid] = {"name": FORCE_NAMES[fid], "lsoas": len(lsoas), "street_rows": sum(rows.values()),
                          "street_rows_by_month": rows}

    partnerships = []
    csps = districts.drop_duplicates("CSP17CD").sort_values("CSP17NM")
    taken: set[str] = set()
    for number, (csp_code, csp_name, force_name) in enumerate(
            zip(csps["CSP17CD"], csps["CSP17NM"], csps["PFA17NM"], strict=True)):
        pid = slug(csp_name)
        if pid in taken:
            pid = f"{pid}-{csp_code.lower()}"
        taken.add(pid)
        rng = np.random.default_rng([seed, 1000 + int(csp_code[3:]), 0])
        partnerships.append(make_partnership(config_dir, pid, csp_code, out_dir / "archives" / force_id(force_name),
                                             population_folder, financial_year, population, rng, lookups,
                                             iod_lines))

    total_bytes = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    summary = {
        "financial_year": financial_year, "scale": scale, "seed": seed,
        "forces": len(chosen), "partnerships": len(partnerships),
        "street_rows": sum(f["street_rows"] for f in per_force.values()),
        "bytes": total_bytes, "archive_bytes": sum(p.stat().st_size for p in (out_dir / "archives").rglob("*.zip")),
        "seconds": round(time.perf_counter() - started, 1),
        "config_dir": str(config_dir), "per_force": per_force, "partnership_list": partnerships,
    }
    (out_dir / "MANIFEST.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="a new folder (e.g. /tmp/national)")
    parser.add_argument("--financial-year", default="2022/23")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = about 6 million street rows a year")
    parser.add_argument("--forces", default="", help="data.police.uk force ids, comma-separated (default: all 43)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    forces = [f.strip() for f in args.forces.split(",") if f.strip()] or None
    try:
        summary = generate_national(args.out, args.financial_year, args.scale, forces, args.seed)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{summary['forces']} forces, {summary['partnerships']} partnerships, {summary['street_rows']:,} street rows, "
          f"{summary['bytes']:,} bytes ({summary['archive_bytes']:,} in archives), {summary['seconds']} s")
    print(f"DUTYCYCLE_CONFIG_DIR={summary['config_dir']}; manifest {Path(args.out).resolve() / 'MANIFEST.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
