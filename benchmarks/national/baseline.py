"""Baseline of the national benchmark: the year's police measures of every partnership with plain pandas.

What an analyst's script would do with the files of a generated national year (benchmarks/national/generate.py),
importing nothing from tasks/ or flows/: read each partnership's partnership.yaml and sources.yaml, each force's
twelve archive zips once for all its partnerships, and the ONS MYE2 file; count the street rows of the year in each
member authority's LSOAs for the police measures of config/metrics.yaml computed from police_street (violence and
sexual offences, robbery, possession of weapons: every row counts, repeated Crime IDs included, as the pipeline's
observations do; rows with no LSOA count nowhere), per authority and for the partnership, with the crude rate per
100,000 of the mid-year population (all ages) and its 95% interval (exact Poisson under 10 events, Byar from 10).
Prints wall time, CPU time and peak memory (resource.getrusage). Run:

    uv run python -m benchmarks.national.baseline --config-dir /tmp/national/config [--financial-year 2022/23]
        [--csv counts.csv]
"""

from __future__ import annotations

import argparse
import math
import re
import resource
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import yaml
from scipy.stats import chi2

# metric id -> data.police.uk crime type: the police_street metrics of config/metrics.yaml
POLICE_METRICS = {
    "police_violence_and_sexual_offences": "Violence and sexual offences",
    "police_robbery": "Robbery",
    "police_possession_of_weapons": "Possession of weapons",
}
AGES = [str(age) for age in range(90)] + ["90+"]


def year_months(financial_year: str) -> list[str]:
    start = int(financial_year[:4])
    return [f"{start + (m < 4)}-{m:02d}" for m in [*range(4, 13), 1, 2, 3]]


def interval(count: int) -> tuple[float, float]:
    """95% limits of a Poisson count: exact (chi-squared) under 10 events, Byar's approximation from 10."""
    if count < 10:
        lower = 0.0 if count == 0 else chi2.ppf(0.025, 2 * count) / 2
        return lower, chi2.ppf(0.975, 2 * (count + 1)) / 2
    z = 1.959963984540054
    lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return lower, upper


def _location(folder: Path, source: dict) -> Path:
    path = Path(source["location"])
    return path if path.is_absolute() else folder / path


def police_counts(config_dir: Path, financial_year: str) -> list[dict]:
    """Per partnership, member authority and police measure: count, population, rate and 95% interval."""
    months = year_months(financial_year)
    mid_year = months[0][:4]
    members, archives, populations = [], {}, set()
    for folder in sorted((Path(config_dir) / "partnerships").iterdir()):
        partnership = yaml.safe_load((folder / "partnership.yaml").read_text(encoding="utf-8"))
        sources = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))["sources"]
        by_kind = {s["kind"]: s for s in sources}
        archives[folder.name] = _location(folder, by_kind["police_archive"])
        populations.add(_location(folder, by_kind["ons_mye2"]))
        members += [{"partnership": folder.name, "lsoa": lsoa["code"], "la": lsoa["local_authority"]}
                    for lsoa in partnership["lsoas"]]
    lsoas = pd.DataFrame(members)

    # every force's archive folder read once, whatever the number of its partnerships
    counts = []
    for folder in sorted(set(archives.values())):
        frames = []
        for path in sorted(folder.glob("*.zip")):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    if name.endswith("-street.csv"):
                        with archive.open(name) as handle:
                            frames.append(pd.read_csv(handle, usecols=["Month", "LSOA code", "Crime type"],
                                                      dtype=str, keep_default_na=False))
        street = pd.concat(frames, ignore_index=True)
        street = street[street["Month"].isin(months) & street["Crime type"].isin(POLICE_METRICS.values())]
        served = lsoas[lsoas["partnership"].map(archives) == folder]
        rows = street.merge(served, left_on="LSOA code", right_on="lsoa")
        counts.append(rows.groupby(["partnership", "la", "Crime type"]).size())
    by_la = pd.concat(counts) if counts else pd.Series(dtype=int)

    [population_folder] = populations  # one national file, shared by every partnership
    [population_file] = sorted(population_folder.glob(f"mid-{mid_year}-*.csv"))
    pop = pd.read_csv(population_file, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    pop = pop[pop["Code"] != ""].set_index("Code")[AGES]
    all_ages = pop.apply(lambda c: c.str.replace(",", "", regex=False).astype(int)).sum(axis=1)

    results = []
    for pid, group in lsoas.groupby("partnership", sort=True):
        authorities = list(dict.fromkeys(group["la"]))
        for metric, crime_type in POLICE_METRICS.items():
            for area, codes in [(code, [code]) for code in authorities] + [(pid, authorities)]:
                count = int(sum(by_la.get((pid, code, crime_type), 0) for code in codes))
                population = int(sum(all_ages[code] for code in codes))
                lower, upper = interval(count)
                results.append({"partnership": pid, "metric": metric, "area": area, "count": count,
                                "denominator": population, "rate": count / population * 100_000,
                                "lower": lower / population * 100_000, "upper": upper / population * 100_000})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-dir", type=Path, required=True, help="the generated year's config/ folder")
    parser.add_argument("--financial-year", default="2022/23")
    parser.add_argument("--csv", type=Path, help="also write every value to this CSV")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d{4}/\d{2}", args.financial_year):
        print(f"error: --financial-year {args.financial_year!r}: write it as 2022/23", file=sys.stderr)
        return 2
    wall, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    results = police_counts(args.config_dir, args.financial_year)
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - wall
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if args.csv:
        pd.DataFrame(results).to_csv(args.csv, index=False)
    partnerships = len({r["partnership"] for r in results})
    total = sum(r["count"] for r in results if r["area"] == r["partnership"])
    process_cpu = after.ru_utime + after.ru_stime
    print(f"baseline: {partnerships} partnerships, {len(results)} values, {total:,} police events counted")
    print(f"baseline: wall {wall:.2f} s, CPU {cpu:.2f} s (reading and counting); whole process CPU {process_cpu:.2f} s "
          f"(imports included); peak memory {after.ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
