"""Generate the bundled demo input data for the "Castle Point and Rochford" partnership.

Writes everything under ``config/partnerships/castle-point-rochford/inputs/``.

The demo covers five financial years, 2018/19 .. 2022/23 (months 2018-04 .. 2023-03).

What is REAL (copied byte-for-byte from ``--shared-data``, Open Government Licence v3.0):

* ``police-archive/2022-12.zip``: its single member is the real data.police.uk archive file
  ``2022-12-essex-street.csv`` (whole Essex force, 13,139 rows).
* ``population/mid-2020-MYE2-persons.csv``: the real ONS mid-2020 MYE2 "Persons" sheet
  (as saved to CSV by the source repository's author).
* ``population-lsoa/IoD2019-population-denominators-castle-point-rochford.csv``: the header line and
  the lines of the 110 partnership LSOAs of MHCLG's IoD2019 File 6 (ONS mid-2015 population by LSOA),
  each line copied unchanged; all other lines dropped.

What is SYNTHETIC (made up here, modelled on the real files, so the demo tells a plausible story):

* ``police-archive/YYYY-MM.zip`` for the other 59 months 2018-04 .. 2023-03. Per (LSOA, crime type)
  the real December 2022 count, shrunk a quarter of the way toward the crime-type average across the
  110 partnership LSOAs, is the mean for December; other months multiply it by a seasonal factor,
  a yearly trend and a COVID-19 factor (2020/21 only) and draw Poisson counts. Covers the 110
  partnership LSOAs, the 25 Southend-on-Sea and Basildon LSOAs nearest to them (so LSOA filtering is
  exercised), and ~0.8% "No Location" rows without an LSOA. Coordinates, street names, LSOA names and
  outcomes are sampled from real rows.
* ``population/mid-2018-...``, ``mid-2019-...``, ``mid-2021-...`` and ``mid-2022-MYE2-persons.csv``:
  England, Essex and the two districts only, obtained by ageing the mid-2020 cohorts one year at a
  time, forwards (2021, 2022) or backwards (2019, 2018).
* ``fingertips/indicator-11201-hospital-admissions-for-violence.csv``: a made-up Fingertips export
  for indicator 11201 in the real export's exact layout.
* ``partner-returns/**``: made-up partner returns (Essex Police, Mid and South Essex ICB,
  Essex Youth Justice) at rates typical for an area of ~178,000 people.

The script is deterministic: ``numpy.random.SeedSequence(20230131).spawn(6)`` gives one random
stream per synthetic dataset, each consumed in a fixed order, sorted iteration everywhere and zip members with fixed timestamps/attributes, so running it twice
produces byte-identical files.

Usage (from the repository root)::

    uv run python scripts/generate_demo_data.py [--shared-data ../shared/data] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20230131
REPO_ROOT = Path(__file__).resolve().parents[1]
PARTNERSHIP_DIR = REPO_ROOT / "config" / "partnerships" / "castle-point-rochford"
DEFAULT_OUT = PARTNERSHIP_DIR / "inputs"
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"

REAL_POLICE_FILE = "police_street/2022-12-essex-street.csv"
REAL_POP_FILE = "ons_population/ukpopestimatesmid2020on2021geography_MYE2-Persons.csv"
REAL_FINGERTIPS_FILE = "fingertips/indicators-CountyUA.data.csv"
REAL_IOD_POP_FILE = "ons_population/IoD2019_Population_Denominators.csv"
IOD_POP_OUT = "population-lsoa/IoD2019-population-denominators-castle-point-rochford.csv"

FORCE_ID = "essex"
FORCE_NAME = "Essex Police"
REAL_MONTH = "2022-12"
LOCAL_AUTHORITIES = [("E07000069", "Castle Point"), ("E07000075", "Rochford")]
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

POLICE_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
    "LSOA code,LSOA name,Crime type,Last outcome category,Context"
)
ASB = "Anti-social behaviour"
N_NEIGHBOURS = 25
NEIGHBOUR_DISTRICTS = ("Southend-on-Sea", "Basildon")
SHRINK = 0.25  # weight of the partnership crime-type average in each cell's base mean
NO_LOCATION_SHARE = 0.0082  # share of rows without an LSOA (107 / 13,139 in the real file)
# Seasonal amplitude (peak in July) and yearly trend per crime type. Others: none.
SEASON_AMPLITUDE = {
    "Violence and sexual offences": 0.12,
    ASB: 0.25,
    "Public order": 0.08,
    "Bicycle theft": 0.25,
    "Criminal damage and arson": 0.05,
}
YEAR_TREND = {
    "Violence and sexual offences": -0.03,
    "Robbery": 0.05,
    "Possession of weapons": 0.04,
    "Shoplifting": 0.03,
    "Public order": -0.02,
}

# COVID-19 restrictions (2020/21): lockdown from 23 March 2020 easing through June, the November 2020
# lockdown and the January-March 2021 lockdown. Multiplies the mean of every street crime type and of the
# monthly violence partner returns (knife crime, sharp-object admissions, A&E assault attendances).
COVID_FACTOR = {
    "2020-04": 0.65, "2020-05": 0.75, "2020-06": 0.85, "2020-07": 0.95,
    "2020-11": 0.90, "2020-12": 0.97, "2021-01": 0.85, "2021-02": 0.88, "2021-03": 0.93,
}

ZIP_DATE_TIME = (2023, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- helpers


FINANCIAL_YEARS = [2018, 2019, 2020, 2021, 2022]  # start years: 2018/19 .. 2022/23


def demo_months() -> list[str]:
    """Months 2018-04 .. 2023-03 as YYYY-MM."""
    out = []
    for fy in FINANCIAL_YEARS:
        for i in range(12):
            m = 4 + i
            y = fy + (m - 1) // 12
            out.append(f"{y}-{(m - 1) % 12 + 1:02d}")
    return out


MONTHS = demo_months()
# The partner-return trends are centred on the middle of 2021/22 (between September and October 2021).
TREND_CENTRE = MONTHS.index("2021-10") - 0.5


def fy_label(fy: int) -> str:
    """2020 -> 'FY2020-21'."""
    return f"FY{fy}-{(fy + 1) % 100:02d}"


def fy_months(fy: int) -> list[str]:
    first = (fy - FINANCIAL_YEARS[0]) * 12
    return MONTHS[first : first + 12]


def covid(month: str) -> float:
    return COVID_FACTOR.get(month, 1.0)


def month_number(month: str) -> int:
    return int(month[5:7])


def read_partnership(path: Path) -> list[dict]:
    """The LSOAs of the partnership from partnership.yaml (a plain regex; no YAML dependency)."""
    text = path.read_text(encoding="utf-8")
    pattern = r'\{code: (E01\d{6}), name: "([^"]+)", local_authority: (E0\d{7})\}'
    lsoas = [{"code": c, "name": n, "la": la} for c, n, la in re.findall(pattern, text)]
    if len(lsoas) != 110:
        raise SystemExit(f"expected 110 LSOAs in {path}, found {len(lsoas)}")
    return lsoas


def csv_bytes(header: list[str], rows: list[list], bom: bool = False) -> bytes:
    """CSV with CRLF record endings, minimal quoting, UTF-8 (optionally with BOM)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode("utf-8") + buf.getvalue().encode("utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_zip(path: Path, member: str, data: bytes) -> None:
    """A one-member zip with a fixed timestamp, attributes and compression."""
    info = zipfile.ZipInfo(member, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    write_bytes(path, buf.getvalue())


def seasonal(month: int, amplitude: float) -> float:
    """1 + amplitude * cos(...), peaking in July and lowest in January."""
    return 1.0 + amplitude * math.cos(2 * math.pi * (month - 7) / 12)


def population_shares(pop: dict[str, int]) -> dict[str, float]:
    total = sum(pop[code] for code, _ in LOCAL_AUTHORITIES)
    return {code: pop[code] / total for code, _ in LOCAL_AUTHORITIES}


# --------------------------------------------------------------------------- A. police archive


def police_archive(shared: Path, out: Path, rng: np.random.Generator, lsoas: list[dict]) -> None:
    """police-archive/YYYY-MM.zip: the real 2022-12 Essex file plus 59 synthetic months."""
    real_path = shared / REAL_POLICE_FILE
    real = pd.read_csv(real_path, dtype=str, keep_default_na=False)
    located = real[real["LSOA code"] != ""]
    no_location = real[real["LSOA code"] == ""]

    partnership = [x["code"] for x in lsoas]
    names = {x["code"]: x["name"] for x in lsoas}
    names.update(dict(zip(located["LSOA code"], located["LSOA name"])))

    # The 25 Southend-on-Sea / Basildon LSOAs nearest to the partnership (by centroid of real points).
    pts = located.assign(lon=located["Longitude"].astype(float), lat=located["Latitude"].astype(float))
    centroid = pts.groupby("LSOA code")[["lon", "lat"]].mean().sort_index()
    part_xy = centroid.loc[centroid.index.isin(partnership)].to_numpy()
    district = pd.Series({c: names[c].rsplit(" ", 1)[0] for c in centroid.index})
    candidates = centroid[district.isin(NEIGHBOUR_DISTRICTS).to_numpy()]
    cos_lat = math.cos(math.radians(51.57))
    dist = {
        code: float(np.min(np.hypot((part_xy[:, 0] - lon) * cos_lat, part_xy[:, 1] - lat)))
        for code, (lon, lat) in candidates.iterrows()
    }
    neighbours = sorted(sorted(dist, key=lambda c: (dist[c], c))[:N_NEIGHBOURS])
    areas = partnership + neighbours

    # Location pools: (Longitude, Latitude, Location) of real rows of the same LSOA. An LSOA with
    # no row in the real month borrows the points of its sibling LSOAs (same MSOA, e.g. "Rochford 005").
    pools = {
        code: list(zip(g["Longitude"], g["Latitude"], g["Location"]))
        for code, g in located.groupby("LSOA code", sort=True)
    }
    for code in areas:
        if code not in pools:
            msoa = names[code][:-1]
            siblings = sorted(c for c in partnership if names[c][:-1] == msoa and c in pools)
            pools[code] = [p for c in siblings for p in pools[c]]

    crime_types = sorted(real["Crime type"].unique())
    counts = (
        located.groupby(["LSOA code", "Crime type"]).size().unstack(fill_value=0)
        .reindex(index=areas, columns=crime_types, fill_value=0).astype(float)
    )
    type_average = counts.loc[partnership].mean()
    base = (1 - SHRINK) * counts + SHRINK * type_average  # December mean per (LSOA, type)

    outcomes = {}
    for ctype, g in real.groupby("Crime type", sort=True):
        vc = g["Last outcome category"].value_counts().sort_index()
        outcomes[ctype] = (vc.index.to_list(), (vc / vc.sum()).to_numpy())
    nl_vc = no_location["Crime type"].value_counts().sort_index()
    nl_types, nl_p = nl_vc.index.to_list(), (nl_vc / nl_vc.sum()).to_numpy()

    real_index = MONTHS.index(REAL_MONTH)
    for mi, month in enumerate(MONTHS):
        member = f"{month}/{month}-{FORCE_ID}-street.csv"
        if month == REAL_MONTH:
            write_zip(out / "police-archive" / f"{month}.zip", member, real_path.read_bytes())
            continue
        m = month_number(month)
        years_from_real = (mi - real_index) / 12
        factor = np.array([
            seasonal(m, SEASON_AMPLITUDE.get(t, 0.0)) / seasonal(12, SEASON_AMPLITUDE.get(t, 0.0))
            * (1 + YEAR_TREND.get(t, 0.0)) ** years_from_real
            * covid(month)
            for t in crime_types
        ])
        draws = rng.poisson(base.to_numpy() * factor)  # rows: areas, columns: crime types

        def make_rows(code, name, ctype, k, located_row):
            rows = []
            if located_row:
                pool = pools[code]
                picks = rng.integers(0, len(pool), size=k)
            labels, p = outcomes[ctype]
            outs = rng.choice(len(labels), size=k, p=p)
            for i in range(k):
                lon, lat, loc = pool[picks[i]] if located_row else ("", "", "No Location")
                seq = len(rows)
                if ctype == ASB:
                    crime_id = ""
                else:
                    key = f"dutycycle-demo|{FORCE_ID}|{month}|{code or 'no-location'}|{ctype}|{seq}"
                    crime_id = hashlib.sha256(key.encode()).hexdigest()
                rows.append([crime_id, month, FORCE_NAME, FORCE_NAME, lon, lat, loc,
                             code, name, ctype, labels[outs[i]], ""])
            return rows

        rows = []
        for ai, code in enumerate(areas):
            for ti, ctype in enumerate(crime_types):
                if draws[ai, ti]:
                    rows += make_rows(code, names[code], ctype, int(draws[ai, ti]), True)
        n_missing = int(rng.poisson(len(rows) * NO_LOCATION_SHARE / (1 - NO_LOCATION_SHARE)))
        missing_types = np.bincount(rng.choice(len(nl_types), size=n_missing, p=nl_p), minlength=len(nl_types))
        nl_rows = []
        for ti, ctype in enumerate(nl_types):
            nl_rows += make_rows("", "", ctype, int(missing_types[ti]), False)
        # Real file order: by LSOA name then crime type; "No Location" rows last, by crime type.
        rows.sort(key=lambda r: (r[8], r[9]))
        lines = [POLICE_HEADER]
        for r in rows + nl_rows:
            if any("," in f or '"' in f for f in r):
                raise ValueError(f"field needs quoting, which the real file never does: {r}")
            lines.append(",".join(r))
        data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
        write_zip(out / "police-archive" / f"{month}.zip", member, data)


# --------------------------------------------------------------------------- B. population


POP_DRIFT = 1.004  # net migration, per year
SURVIVAL_89 = 0.9  # age 89 -> 90+
SURVIVAL_90_PLUS = 0.75  # 90+ -> 90+ (about the real one-year survival at 90 and over)


def _survival(age: int) -> float:
    """Rough one-year survival from age ``age`` (0..88)."""
    if age < 50:
        return 1.0
    if age < 65:
        return 0.997
    if age < 80:
        return 0.985
    return 0.94


def _age_one_year(ages: list[float]) -> list[float]:
    """Age single-year cohorts 0..89, 90+ by one year; survival is rough, +0.4% net migration drift."""
    new = [ages[0] * 0.99 * POP_DRIFT]
    new += [ages[a - 1] * _survival(a - 1) * POP_DRIFT for a in range(1, 90)]
    new.append((ages[90] * SURVIVAL_90_PLUS + ages[89] * SURVIVAL_89) * POP_DRIFT)
    return new


def _unage_one_year(ages: list[float]) -> list[float]:
    """The previous year's cohorts: the inverse of ``_age_one_year`` (the youngest cohort is dropped).

    Age a (0..88) = later age a+1 / survival(a) / drift. Age 89 cannot be recovered from the 90+ band
    alone: it is taken as the later age 89 / drift. Then 90+ = (later 90+ / drift - 0.9 x age 89) / 0.75.
    """
    old = [ages[a + 1] / _survival(a) / POP_DRIFT for a in range(89)]
    old.append(ages[89] / POP_DRIFT)
    old.append((ages[90] / POP_DRIFT - old[89] * SURVIVAL_89) / SURVIVAL_90_PLUS)
    if min(old) < 0:
        raise ValueError("reverse ageing gave a negative cohort")
    return old


def _fmt_number(n: int) -> str:
    """Excel-style: thousands separators; csv quoting then adds quotes when a comma is present."""
    return f"{n:,}"


def population(shared: Path, out: Path) -> dict[int, dict[str, int]]:
    """population/mid-20XX-MYE2-persons.csv, 2018 .. 2022; returns {year: {code: all-ages total}}."""
    real_path = shared / REAL_POP_FILE
    raw = real_path.read_bytes()
    write_bytes(out / "population" / "mid-2020-MYE2-persons.csv", raw)

    text = raw.decode("utf-8-sig")
    lines = text.split("\r\n")
    header = next(csv.reader([lines[0]]))
    n_cols = len(header)
    records = list(csv.reader(lines[1:]))
    data_lines = [i + 1 for i, r in enumerate(records) if any(r)]
    trailing = lines[data_lines[-1] + 1 :]  # blank rows of commas kept as in the real file

    wanted = ["E92000001", "E10000012", "E07000069", "E07000075"]
    real = {}
    for r in records:
        if r and r[0] in wanted:
            real[r[0]] = (r[1], r[2], [float(v.replace(",", "")) for v in r[4:95]])
    totals = {2020: {code: int(sum(real[code][2])) for code in wanted}}

    # Forwards 2020 -> 2021 -> 2022, then backwards 2020 -> 2019 -> 2018, each from the previous step's
    # unrounded cohorts.
    steps = [(2021, _age_one_year), (2022, _age_one_year), (2019, _unage_one_year), (2018, _unage_one_year)]
    current = dict(real)
    for year, step in steps:
        if year == 2019:
            current = dict(real)
        out_lines = [lines[0]]
        totals[year] = {}
        for code in wanted:
            name, geography, ages = current[code]
            ages = step(ages)
            current[code] = (name, geography, ages)
            ints = [int(round(v)) for v in ages]
            totals[year][code] = sum(ints)
            row = [code, name, geography, _fmt_number(sum(ints))] + [_fmt_number(v) for v in ints]
            row += [""] * (n_cols - len(row))
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(row)
            out_lines.append(buf.getvalue())
        data = "\ufeff" + "\r\n".join(out_lines + trailing)
        write_bytes(out / "population" / f"mid-{year}-MYE2-persons.csv", data.encode("utf-8"))
    return {year: totals[year] for year in sorted(totals)}


def lsoa_population(shared: Path, out: Path, lsoas: list[dict]) -> None:
    """population-lsoa/IoD2019-...-castle-point-rochford.csv: the real header line and the real lines of the
    partnership's LSOAs, each copied byte-for-byte (line ending included), in the original order."""
    raw = (shared / REAL_IOD_POP_FILE).read_bytes()
    lines = raw.splitlines(keepends=True)
    codes = {x["code"].encode() for x in lsoas}
    kept = [line for line in lines[1:] if line.split(b",", 1)[0] in codes]
    found = {line.split(b",", 1)[0] for line in kept}
    if len(kept) != len(codes) or found != codes:
        raise SystemExit(f"{REAL_IOD_POP_FILE}: expected one line per partnership LSOA, found {len(kept)}")
    write_bytes(out / IOD_POP_OUT, lines[0] + b"".join(kept))


# --------------------------------------------------------------------------- C. fingertips


def _byar(count: float, z: float) -> tuple[float, float]:
    lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    c1 = count + 1
    upper = c1 * (1 - 1 / (9 * c1) + z / (3 * math.sqrt(c1))) ** 3
    return lower, upper


def _compare(lo95, hi95, lo998, hi998, ref) -> str:
    """Fingertips words; for admissions for violence lower is better."""
    if hi998 < ref:
        return "Better 99.8%"
    if hi95 < ref:
        return "Better 95%"
    if lo998 > ref:
        return "Worse 99.8%"
    if lo95 > ref:
        return "Worse 95%"
    return "Similar"


def fingertips(shared: Path, out: Path, totals: dict[int, dict[str, int]]) -> None:
    """fingertips/indicator-11201-hospital-admissions-for-violence.csv (synthetic, real layout)."""
    real_text = (shared / REAL_FINGERTIPS_FILE).read_bytes().decode("utf-8")
    header = next(csv.reader([real_text.split("\r\n", 1)[0]]))
    assert len(header) == 26

    name = "Hospital admissions for violence (including sexual violence)\n"
    periods = ["2015/16 - 17/18", "2016/17 - 18/19", "2017/18 - 19/20", "2018/19 - 20/21", "2019/20 - 21/22",
               "2020/21 - 22/23"]
    # (code, name, area type, parent code, parent name, population mid-2020, DSR targets, DSR/crude)
    east_2020 = 6_269_161  # ONS mid-2020, East region (real MYE2 row E12000006)
    areas = [
        ("E92000001", "England", "England", "", "", None, [45.1, 44.7, 44.2, 41.6, 39.3, 40.1], 1.0),
        ("E12000006", "East of England region", "Region", "E92000001", "England", east_2020,
         [34.8, 34.4, 33.9, 31.8, 30.4, 31.2], 1.0),
        ("E10000012", "Essex", "County & UA", "E12000006", "East of England region", None,
         [33.4, 33.0, 32.6, 30.9, 29.5, 30.3], 1.01),
        ("E07000069", "Castle Point", "Districts & UAs (2021/22-2022/23)", "E10000012", "Essex", None,
         [37.0, 37.8, 38.4, 36.1, 33.8, 35.2], 1.06),
        ("E07000075", "Rochford", "Districts & UAs (2021/22-2022/23)", "E10000012", "Essex", None,
         [28.5, 29.1, 29.7, 27.9, 26.2, 27.4], 1.06),
    ]

    def pop(code: str, pop2020: int | None, year: int) -> float:
        if year in totals and code in totals[year]:
            return totals[year][code]
        if pop2020 is not None:  # the region: only its real mid-2020 figure is used
            return pop2020 * POP_DRIFT ** (year - 2020)
        nearest = min(totals, key=lambda y: (abs(y - year), y))  # before mid-2018: mid-2018 drifted back
        return totals[nearest][code] * POP_DRIFT ** (year - nearest)

    z95, z998 = 1.959963984540054, 3.090232306167813
    computed = {}
    for pi, period in enumerate(periods):
        middle = int(period[:4]) + 1
        for code, aname, atype, pcode, pname, p2020, targets, adj in areas:
            denominator = int(round(3 * pop(code, p2020, middle)))
            count = int(round(targets[pi] / adj * denominator / 1e5))
            value = count / denominator * 1e5 * adj
            lo95, hi95 = (v / count * value for v in _byar(count, z95))
            lo998, hi998 = (v / count * value for v in _byar(count, z998))
            computed[(period, code)] = (count, denominator, value, lo95, hi95, lo998, hi998)

    def g(x: float) -> str:
        return f"{x:.15g}"

    rows = []
    for pi, period in enumerate(periods):
        latest = pi == len(periods) - 1
        england = computed[(period, "E92000001")][2]
        region = computed[(period, "E12000006")][2]
        for code, aname, atype, pcode, pname, _, _, _ in areas:
            count, denominator, value, lo95, hi95, lo998, hi998 = computed[(period, code)]
            aggregate = atype == "Region"  # aggregated from lower geographies: no CIs, as in the real file
            if atype in ("England", "Region"):
                vs_england = vs_region = "Not compared"
            else:
                vs_england = _compare(lo95, hi95, lo998, hi998, england)
                vs_region = _compare(lo95, hi95, lo998, hi998, region)
            ci = ["", "", "", ""] if aggregate else [g(lo95), g(hi95), g(lo998), g(hi998)]
            row = [
                "11201", name, pcode, pname, code, aname, atype, "Persons", "All ages", "", "",
                period, g(value), *ci, str(count), str(denominator), "",
                "No significant change" if latest else "", vs_england, vs_region,
                f"{period[:4]}0000", "New data" if latest else "",
            ]
            # The real export writes 25 fields per record: the last column (Compared to goal) is
            # missing entirely, not just empty.
            assert len(row) == 25
            rows.append(row)
    write_bytes(out / "fingertips" / "indicator-11201-hospital-admissions-for-violence.csv",
                csv_bytes(header, rows))


# --------------------------------------------------------------------------- D. partner returns


def _trend(month_index: int, rate: float) -> float:
    """Yearly trend centred on the middle of 2021/22."""
    return (1 + rate) ** ((month_index - TREND_CENTRE) / 12)


def knife_crime(out: Path, rng: np.random.Generator, shares: dict[str, float]) -> None:
    """essex-police/knife-crime-FY20XX-YY-Qn.csv, one per financial quarter."""
    header = ["Month", "Local Authority Code", "Local Authority Name", "Victim Age Group",
              "Knife or Sharp Instrument Offences"]
    for fy in FINANCIAL_YEARS:
        for q in range(4):
            rows = []
            for month in fy_months(fy)[q * 3 : q * 3 + 3]:
                mi = MONTHS.index(month)
                total = 180 / 12 * seasonal(month_number(month), 0.10) * _trend(mi, 0.04) * covid(month)
                under25 = 0.33 + 0.02 * (fy - 2020)  # slowly rising share of young victims
                split = {"Under 25": under25, "25 and over": 0.95 - under25, "Unknown": 0.05}
                for code, la_name in LOCAL_AUTHORITIES:
                    for group, share in split.items():
                        n = int(rng.poisson(total * shares[code] * share))
                        rows.append([month, code, la_name, group, n])
            write_bytes(out / "partner-returns" / "essex-police" / f"knife-crime-{fy_label(fy)}-Q{q + 1}.csv",
                        csv_bytes(header, rows))


def homicides(out: Path, rng: np.random.Generator) -> None:
    """essex-police/homicides-FY20XX-YY.csv: fixed victims per year, placed at random months/LAs."""
    header = ["Month", "Local Authority Code", "Victims Under 25", "Victims 25 and Over",
              "Of Which Knife or Sharp Instrument", "Domestic"]
    # (financial year, local authority, domestic, under 25, knife or sharp instrument); the month is drawn.
    victims = [
        (2018, "E07000075", "N", False, False), (2018, "E07000069", "Y", False, True),
        (2019, "E07000069", "N", True, True), (2019, "E07000075", "N", False, True),
        (2020, "E07000069", "N", False, True), (2020, "E07000075", "Y", False, False),
        (2021, "E07000075", "N", True, True), (2021, "E07000069", "N", False, False),
        (2022, "E07000069", "N", True, True),
    ]
    codes = [code for code, _ in LOCAL_AUTHORITIES]
    cells: dict[tuple, list[int]] = {}
    for fy, code, domestic, under25, knife in victims:
        month = fy_months(fy)[int(rng.integers(0, 12))]
        cell = cells.setdefault((month, code, domestic), [0, 0, 0])
        cell[0 if under25 else 1] += 1
        cell[2] += int(knife)
    for fy in FINANCIAL_YEARS:
        rows = []
        for month in fy_months(fy):
            for code in codes:
                for domestic in ("N", "Y"):
                    u25, o25, knife = cells.get((month, code, domestic), [0, 0, 0])
                    rows.append([month, code, u25, o25, knife, domestic])
        write_bytes(out / "partner-returns" / "essex-police" / f"homicides-{fy_label(fy)}.csv",
                    csv_bytes(header, rows))


def sharp_object_admissions(out: Path, rng: np.random.Generator, shares: dict[str, float]) -> None:
    """mse-icb/sharp-object-admissions-FY20XX-YY.csv: HES X99 admissions by month, LAD and age band."""
    header = ["Admission Month", "LAD Code", "Age Band", "ICD10 Cause", "Admissions"]
    bands = {"0-17": 0.12, "18-24": 0.28, "25-44": 0.38, "45+": 0.22}
    for fy in FINANCIAL_YEARS:
        rows = []
        for month in fy_months(fy):
            mi = MONTHS.index(month)
            total = 12 / 12 * _trend(mi, 0.05) * covid(month)
            label = f"{MONTH_ABBR[month_number(month) - 1]}-{month[2:4]}"  # %b-%y, locale-free
            for code, _ in LOCAL_AUTHORITIES:
                for band, share in bands.items():
                    rows.append([label, code, band, "X99", int(rng.poisson(total * shares[code] * share))])
        write_bytes(out / "partner-returns" / "mse-icb" / f"sharp-object-admissions-{fy_label(fy)}.csv",
                    csv_bytes(header, rows))


def ae_assault_attendances(out: Path, rng: np.random.Generator, shares: dict[str, float]) -> None:
    """mse-icb/ae-assault-attendances-YYYY-MM.csv: ISTV-style monthly A&E assault attendances."""
    header = ["Month", "Emergency Department", "Patient LAD Code", "Age Group", "Assault Attendances"]
    # Share of each district's attendances going to each ED (Castle Point lies nearer Basildon).
    ed_share = {
        "E07000069": {"Southend University Hospital": 0.70, "Basildon University Hospital": 0.30},
        "E07000075": {"Southend University Hospital": 0.92, "Basildon University Hospital": 0.08},
    }
    ages = {"Under 25": 0.38, "25+": 0.62}
    for mi, month in enumerate(MONTHS):
        total = 550 / 12 * seasonal(month_number(month), 0.12) * _trend(mi, -0.02) * covid(month)
        rows = []
        for ed in ("Southend University Hospital", "Basildon University Hospital"):
            for code, _ in LOCAL_AUTHORITIES:
                for group, share in ages.items():
                    mean = total * shares[code] * ed_share[code][ed] * share
                    rows.append([month, ed, code, group, int(rng.poisson(mean))])
        write_bytes(out / "partner-returns" / "mse-icb" / f"ae-assault-attendances-{month}.csv",
                    csv_bytes(header, rows))


def first_time_entrants(out: Path, rng: np.random.Generator, shares: dict[str, float]) -> None:
    """essex-youth-justice/first-time-entrants-FY20XX-YY.csv: quarterly FTEs aged 10-17, by LA name."""
    header = ["Quarter", "Local Authority", "First Time Entrants (10-17)"]
    for fy in FINANCIAL_YEARS:
        rows = []
        for q in range(4):
            mean = 28 / 4 * 0.95 ** (fy - 2021)  # gently falling, as nationally
            for code, la_name in LOCAL_AUTHORITIES:
                rows.append([f"{fy}/{(fy + 1) % 100:02d} Q{q + 1}", la_name,
                             int(rng.poisson(mean * shares[code]))])
        write_bytes(out / "partner-returns" / "essex-youth-justice" / f"first-time-entrants-{fy_label(fy)}.csv",
                    csv_bytes(header, rows))


# --------------------------------------------------------------------------- summary


def summary(out: Path, lsoas: list[dict]) -> None:
    print(f"{'file':78s} {'rows':>7s} {'bytes':>10s}")
    total = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        size = path.stat().st_size
        total += size
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                text = zf.read(zf.namelist()[0]).decode("utf-8")
            rows = text.count("\r\n") - 1
        elif path.suffix == ".csv" and "fingertips" in path.parts:
            rows = path.read_bytes().count(b"\r\n") - 1
        elif path.suffix == ".csv" and "population-lsoa" in path.parts:
            rows = path.read_bytes().count(b"\n")  # LF line endings; the last line keeps its own ending
        elif path.suffix == ".csv" and "population" in path.parts:
            rows = sum(1 for r in csv.reader(io.StringIO(path.read_text("utf-8-sig"))) if any(r)) - 1
        elif path.suffix == ".csv":
            rows = path.read_bytes().count(b"\r\n") - 1
        else:
            rows = 0
        print(f"{str(path.relative_to(out)):78s} {rows:7d} {size:10,d}")
    print(f"{'TOTAL':78s} {'':7s} {total:10,d}")

    with zipfile.ZipFile(out / "police-archive" / f"{REAL_MONTH}.zip") as zf:
        df = pd.read_csv(zf.open(f"{REAL_MONTH}/{REAL_MONTH}-{FORCE_ID}-street.csv"), dtype=str,
                         keep_default_na=False)
    codes = {x["code"] for x in lsoas}
    part = df[df["LSOA code"].isin(codes)]
    print(f"\n{REAL_MONTH}: {len(part)} rows in the {len(codes)} partnership LSOAs, by crime type:")
    print(part["Crime type"].value_counts().sort_index().to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED,
                        help="folder with the real public data (default: ../shared/data from the repo root)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args()
    shared, out = args.shared_data.resolve(), args.out.resolve()

    # One independent random stream per synthetic dataset (spawned in this fixed order), so changing one
    # dataset's generation does not reshuffle the draws of the others.
    police_rng, knife_rng, homicide_rng, sharp_rng, ae_rng, fte_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(SEED).spawn(6)
    )
    lsoas = read_partnership(PARTNERSHIP_DIR / "partnership.yaml")
    police_archive(shared, out, police_rng, lsoas)
    totals = population(shared, out)
    lsoa_population(shared, out, lsoas)
    fingertips(shared, out, totals)
    shares = population_shares(totals[2020])
    knife_crime(out, knife_rng, shares)
    homicides(out, homicide_rng)
    sharp_object_admissions(out, sharp_rng, shares)
    ae_assault_attendances(out, ae_rng, shares)
    first_time_entrants(out, fte_rng, shares)
    summary(out, lsoas)


if __name__ == "__main__":
    main()
