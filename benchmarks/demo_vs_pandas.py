"""Benchmark: the whole demo cycle against a plain pandas script computing the same 2022/23 measures.

Two whole processes in one run, each timed from outside (wall time; CPU of the process and its children from
``resource.getrusage(RUSAGE_CHILDREN)`` deltas; peak RSS of the largest child):
- the pipeline: ``dutycycle review`` (what ``./run demo`` runs) on a fresh temporary DUTYCYCLE_DATA_DIR and
  PREFECT_HOME, start-up and the ephemeral Prefect API included;
- the baseline: this file with ``--baseline``, a plain pandas script as an analyst would write it. It reads the
  same demo input files (all police street archives, partner returns, ONS MYE2 populations) and computes the yearly
  counts, crude rates per 100,000 and 95% intervals (exact Poisson under 10 events, Byar otherwise) written out
  here with ``scipy.stats.chi2`` and ``math``; it imports nothing from tasks/ or flows/.

- the required floor: ``benchmarks/required_floor.py`` after the pipeline, no project code: importing the
  libraries the cycle must use and printing the board report the pipeline wrote (the same PDF bytes), the least
  any implementation adds to the baseline; printed item by item, with the pipeline's ratio to baseline + floor.

Every baseline value is then compared with the pipeline's internal exact value (its ``metric_values`` table):
counts exactly, rates and intervals to 1e-6. The script exits non-zero when a value differs or is missing. Run:
    nice -n 5 uv run python benchmarks/demo_vs_pandas.py [--keep DIR]
(--keep DIR keeps the pipeline's data directory, to compare its outputs before and after a change.)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.required_floor import floor_command, floor_lines, floor_result  # noqa: E402  (no project code)

PARTNERSHIP = "castle-point-rochford"
INPUTS = ROOT / "config" / "partnerships" / PARTNERSHIP / "inputs"
YEAR, MID_YEAR, MONTHS = "2022/23", 2022, [f"2022-{m:02d}" for m in range(4, 13)] + [f"2023-{m:02d}" for m in (1, 2, 3)]
TOLERANCE = 1e-6


# ---------------------------------------------------------------------------------------------------------------
# The baseline: what an analyst's pandas script would do (no project code)
# ---------------------------------------------------------------------------------------------------------------

def baseline() -> list[dict]:
    """The 2022/23 measures of the demo partnership computed with plain pandas from its input files."""
    import math
    import zipfile

    import pandas as pd
    import yaml
    from scipy.stats import chi2

    partnership = yaml.safe_load((INPUTS.parent / "partnership.yaml").read_text())
    authorities = [la["code"] for la in partnership["local_authorities"]]
    lsoas = {lsoa["code"] for lsoa in partnership["lsoas"]}

    def interval(count):
        # exact Poisson (chi-squared) under 10 events, Byar's approximation from 10 (PHE Technical Guide)
        if count < 10:
            lower = 0.0 if count == 0 else chi2.ppf(0.025, 2 * count) / 2
            return lower, chi2.ppf(0.975, 2 * (count + 1)) / 2
        z = 1.959963984540054
        lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
        upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
        return lower, upper

    # ONS mid-2022 estimates (the denominator of 2022/23): thousands separators, single years of age 0..90+
    pop = pd.read_csv(INPUTS / "population" / f"mid-{MID_YEAR}-MYE2-persons.csv", encoding="utf-8-sig", dtype=str)
    pop = pop[pop["Code"].isin(authorities)].set_index("Code")
    ages = [str(a) for a in range(90)] + ["90+"]
    pop = pop[ages].apply(lambda c: c.str.replace(",", "").astype(int))
    denominators = {
        "all": pop.sum(axis=1),
        "under_25": pop[[str(a) for a in range(25)]].sum(axis=1),
        "aged_10_17": pop[[str(a) for a in range(10, 18)]].sum(axis=1),
    }

    results = []

    def add(metric, band, counts_by_la, denominator_band=None):
        # one row per local authority and one for the partnership (the sum of its authorities)
        denominator = denominators[denominator_band or band]
        for area, codes in [(code, [code]) for code in authorities] + [(PARTNERSHIP, authorities)]:
            count = int(sum(counts_by_la.get(code, 0) for code in codes))
            population = int(sum(denominator[code] for code in codes))
            lower, upper = interval(count)
            results.append({"metric": metric, "area": area, "age_band": band, "count": count,
                            "denominator": population, "rate": count / population * 100_000,
                            "lower": lower / population * 100_000, "upper": upper / population * 100_000})

    # data.police.uk street archives: the year's 12 force-months, rows in the partnership's LSOAs, by crime type
    # every archive is read, as the pipeline collects every file of the series, and the year kept
    street = []
    for path in sorted((INPUTS / "police-archive").glob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith("-street.csv"):
                    with archive.open(name) as handle:
                        street.append(pd.read_csv(handle, usecols=["Month", "LSOA code", "Crime type"], dtype=str))
    street = pd.concat(street)
    street = street[street["LSOA code"].isin(lsoas) & street["Month"].isin(MONTHS)]
    lsoa_authority = {lsoa["code"]: lsoa["local_authority"] for lsoa in partnership["lsoas"]}
    street["la"] = street["LSOA code"].map(lsoa_authority)
    by_type = street.groupby(["Crime type", "la"]).size()
    for metric, crime_type in [("police_violence_and_sexual_offences", "Violence and sexual offences"),
                               ("police_robbery", "Robbery"), ("police_possession_of_weapons", "Possession of weapons")]:
        add(metric, "all", by_type.get(crime_type, pd.Series(dtype=int)).to_dict())

    def returns(pattern, month_column, month_format):
        frames = [pd.read_csv(path) for path in sorted((INPUTS / "partner-returns").glob(pattern))]
        frame = pd.concat(frames)
        frame["month"] = pd.to_datetime(frame[month_column], format=month_format).dt.strftime("%Y-%m")
        return frame[frame["month"].isin(MONTHS)]

    knife = returns("essex-police/knife-crime-*.csv", "Month", "%Y-%m")
    col = "Knife or Sharp Instrument Offences"
    add("police_knife_crime", "all", knife.groupby("Local Authority Code")[col].sum().to_dict())
    add("police_knife_crime", "under_25",
        knife[knife["Victim Age Group"] == "Under 25"].groupby("Local Authority Code")[col].sum().to_dict())

    homicides = returns("essex-police/homicides-*.csv", "Month", "%Y-%m")
    homicides = homicides[homicides["Domestic"] == "N"]
    homicides["all"] = homicides["Victims Under 25"] + homicides["Victims 25 and Over"]
    add("homicide_non_domestic", "all", homicides.groupby("Local Authority Code")["all"].sum().to_dict())
    add("homicide_non_domestic", "under_25",
        homicides.groupby("Local Authority Code")["Victims Under 25"].sum().to_dict())

    admissions = returns("mse-icb/sharp-object-admissions-*.csv", "Admission Month", "%b-%y")
    admissions = admissions[admissions["ICD10 Cause"] == "X99"]
    add("hospital_admissions_sharp_object", "all", admissions.groupby("LAD Code")["Admissions"].sum().to_dict())
    young = admissions[admissions["Age Band"].isin(["0-17", "18-24"])]
    add("hospital_admissions_sharp_object", "under_25", young.groupby("LAD Code")["Admissions"].sum().to_dict())

    ae = returns("mse-icb/ae-assault-attendances-*.csv", "Month", "%Y-%m")
    add("ae_assault_attendances", "all", ae.groupby("Patient LAD Code")["Assault Attendances"].sum().to_dict())
    add("ae_assault_attendances", "under_25",
        ae[ae["Age Group"] == "Under 25"].groupby("Patient LAD Code")["Assault Attendances"].sum().to_dict())

    fte = pd.read_csv(INPUTS / "partner-returns" / "essex-youth-justice" / "first-time-entrants-FY2022-23.csv")
    fte = fte[fte["Quarter"].str.startswith(YEAR)]
    names = {la["name"]: la["code"] for la in partnership["local_authorities"]}
    fte["code"] = fte["Local Authority"].map(names)
    # stored under the age band "all", over the population aged 10-17 (the metric's denominator)
    add("youth_justice_first_time_entrants", "all",
        fte.groupby("code")["First Time Entrants (10-17)"].sum().to_dict(), denominator_band="aged_10_17")
    return results


# ---------------------------------------------------------------------------------------------------------------
# The harness: both as whole processes, then value by value
# ---------------------------------------------------------------------------------------------------------------

def measure(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run a command as a whole process; its wall time, CPU (with its children) and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, its reaped descendants included
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}; its output: {log}")
    return {"wall": wall, "user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_mib": usage.ru_maxrss / 1024}


def pipeline_values(database: Path) -> dict[tuple, tuple]:
    """The pipeline's exact 2022/23 values (metric_values), keyed as the baseline keys its rows."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT metric_id, area_code, age_band, numerator, denominator, value, lower_ci_95,"
                          " upper_ci_95 FROM metric_values WHERE partnership = ? AND period = ?"
                          " AND area_type IN ('lad', 'csp')", (PARTNERSHIP, YEAR)).fetchall()
    return {row[:3]: row[3:] for row in rows}


def compare(baseline_rows: list[dict], pipeline: dict[tuple, tuple]) -> list[str]:
    """Every difference between a baseline value and the pipeline's (counts exact, the rest to 1e-6)."""
    problems = []
    for row in baseline_rows:
        key = (row["metric"], row["area"], row["age_band"])
        if key not in pipeline:
            problems.append(f"{key}: computed by the baseline, absent from the pipeline's metric_values")
            continue
        count, denominator, rate, lower, upper = pipeline[key]
        if count is None or int(count) != count or int(count) != row["count"]:
            problems.append(f"{key}: count {row['count']} (baseline) != {count} (pipeline)")
        if denominator != row["denominator"]:
            problems.append(f"{key}: denominator {row['denominator']} (baseline) != {denominator} (pipeline)")
        for name, ours in (("rate", rate), ("lower", lower), ("upper", upper)):
            if ours is None or abs(ours - row[name]) > TOLERANCE:
                problems.append(f"{key}: {name} {row[name]!r} (baseline) != {ours!r} (pipeline)")
    return problems


def main() -> None:
    if sys.argv[1:] == ["--baseline"]:
        json.dump(baseline(), sys.stdout)
        return
    # --keep DIR: keep the pipeline's data directory there, to compare a change's outputs with the last run's
    keep = Path(sys.argv[sys.argv.index("--keep") + 1]) if "--keep" in sys.argv else None
    work = Path(tempfile.mkdtemp(prefix="demo-vs-pandas-"))
    try:
        env = {**os.environ, "DUTYCYCLE_DATA_DIR": str(work / "data"), "PREFECT_HOME": str(work / "prefect-home")}
        env.pop("PREFECT_API_URL", None)  # the demo's own ephemeral API: start-up is part of what is measured
        dutycycle = shutil.which("dutycycle", path=str(Path(sys.executable).parent)) or "dutycycle"
        load = os.getloadavg()
        base = measure([sys.executable, __file__, "--baseline"], env, work / "baseline.json")
        pipe = measure([dutycycle, "review"], env, work / "pipeline.log")
        command = floor_command(work / "data")
        if command is None:
            raise SystemExit(f"dutycycle review wrote no report.html; its output: {work / 'pipeline.log'}")
        floor_run = measure(command, env, work / "floor.json")
        floor = floor_result(work / "floor.json")
        load_after = os.getloadavg()
        rows = json.loads((work / "baseline.json").read_text())
        problems = compare(rows, pipeline_values(work / "data" / "dutycycle.db"))

        print(f"demo cycle {YEAR} ({PARTNERSHIP}): load average {load[0]:.2f} before, {load_after[0]:.2f} after")
        print(f"{'process':<30}{'wall s':>9}{'CPU s':>9}{'user s':>9}{'sys s':>9}{'peak MiB':>10}")
        for name, figures in (("plain pandas baseline", base), ("dutycycle review (pipeline)", pipe)):
            print(f"{name:<30}{figures['wall']:>9.2f}{figures['cpu']:>9.2f}{figures['user']:>9.2f}"
                  f"{figures['sys']:>9.2f}{figures['peak_mib']:>10.0f}")
        print(f"ratio pipeline/baseline: wall {pipe['wall'] / base['wall']:.2f}x, CPU {pipe['cpu'] / base['cpu']:.2f}x"
              " (target: at most 3x, start-up included)")
        print(*floor_lines(base["cpu"], floor, floor_run["cpu"], pipe["cpu"], target=3), sep="\n")
        measures = sorted({(r["metric"], r["age_band"]) for r in rows})
        print(f"values compared: {len(rows)} rows x (count, denominator, rate, lower, upper) over {len(measures)}"
              " measures, local authorities and the partnership:")
        for metric, band in measures:
            print(f"  {metric} [{band}]")
        if problems:
            print(f"{len(problems)} values differ:", *problems, sep="\n  ")
            raise SystemExit(1)
        print("every baseline value equals the pipeline's")
    finally:
        if keep is not None and (work / "data").exists():
            shutil.rmtree(keep, ignore_errors=True)
            shutil.move(work / "data", keep)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
