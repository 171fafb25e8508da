"""Benchmark: `dutycycle national` against the plain pandas baseline on a generated national year, side by side.

Two whole processes in one run, each timed from outside: wall time; CPU of the process and all its descendants
(``resource.getrusage(RUSAGE_CHILDREN)`` deltas: Dask workers, the Prefect server and pool workers included, as
they are reaped); peak memory as the largest single process (``ru_maxrss`` of the process and its reaped
descendants) and as the largest sum of the RSS of the whole process tree, sampled from /proc every 0.5 s (what the
4 GB target is about when several workers run at once).
- the baseline: ``benchmarks/national/baseline.py`` (plain pandas, no project code) on the chosen partnerships;
- the pipeline: ``dutycycle national --runner serial|dask|process`` on a fresh DUTYCYCLE_DATA_DIR and PREFECT_HOME;
- the required floor: ``benchmarks/required_floor.py`` after the pipeline (no project code): importing the libraries
  the cycle must use and printing every partnership's board report the pipeline wrote (the same PDF bytes), the
  least any implementation adds to the baseline; printed item by item, with the pipeline's ratio to the floor.

The chosen partnerships (``--forces``, whole forces; default every one of the year) are copied with the year's
metrics, deadlines and lookups into a temporary config folder, so neither run writes into the generated year.
Every police value of the baseline (count, population, rate and 95% limits of the three police_street measures, per
member authority and partnership) is compared with the pipeline's ``metric_values``: counts and denominators
exactly, the rest to 1e-6; the script exits 1 on any difference, missing value or failed partnership. Run:

    nice -n 5 uv run python benchmarks/national_vs_pandas.py /tmp/national [--forces durham,cleveland]
        [--runner serial|dask|process] [--workers 2] [--stage collect --stage compute] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.required_floor import floor_command, floor_lines, floor_result  # noqa: E402  (no project code)

TOLERANCE = 1e-6
POLICE_METRICS = ("police_violence_and_sexual_offences", "police_robbery", "police_possession_of_weapons")


def subset_config(year_dir: Path, forces: list[str], work: Path) -> tuple[Path, list[str], dict]:
    """A config folder holding only the chosen forces' partnerships (copied: the runs never write into the year)."""
    manifest = json.loads((year_dir / "MANIFEST.json").read_text(encoding="utf-8"))
    known = sorted({p["force"] for p in manifest["partnership_list"]})
    unknown = [f for f in forces if f not in known]
    if unknown:
        raise SystemExit(f"error: {year_dir / 'MANIFEST.json'}: no force {', '.join(unknown)} in this year "
                         f"(it has: {', '.join(known)})")
    chosen = [p["id"] for p in manifest["partnership_list"] if not forces or p["force"] in forces]
    source, config = year_dir / "config", work / "config"
    (config / "partnerships").mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name == "partnerships":
            continue
        if entry.is_dir():
            (config / entry.name).symlink_to(entry)  # lookups: read only, and large
        else:
            shutil.copy2(entry, config / entry.name)
    for pid in chosen:
        shutil.copytree(source / "partnerships" / pid, config / "partnerships" / pid)
    return config, chosen, manifest


def _tree_rss(root: int) -> int:
    """Bytes of resident memory of a process and all its live descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1] is the parent's pid
        rss[pid] = int(fields[21]) * page
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def measure(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run a command as a whole process: wall, CPU with its descendants, largest process and largest tree RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak, done = [0], threading.Event()

        def sample():
            while not done.wait(0.5):
                peak[0] = max(peak[0], _tree_rss(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_mib": usage.ru_maxrss / 1024, "tree_mib": peak[0] / 2**20,
            "exit": os.waitstatus_to_exitcode(status)}


def compare(baseline_csv: Path, database: Path, financial_year: str) -> tuple[int, list[str]]:
    """Every difference between a baseline police value and the pipeline's (counts exact, the rest to 1e-6)."""
    with baseline_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with sqlite3.connect(database) as db:
        stored = db.execute(
            "SELECT partnership, metric_id, area_code, numerator, denominator, value, lower_ci_95, upper_ci_95"
            f" FROM metric_values WHERE period = ? AND age_band = 'all' AND area_type IN ('lad', 'csp')"
            f" AND metric_id IN ({', '.join('?' * len(POLICE_METRICS))})", (financial_year, *POLICE_METRICS),
        ).fetchall()
    pipeline = {row[:3]: row[3:] for row in stored}
    problems = []
    for row in rows:
        key = (row["partnership"], row["metric"], row["area"])
        if key not in pipeline:
            problems.append(f"{key}: computed by the baseline, absent from the pipeline's metric_values")
            continue
        count, denominator, rate, lower, upper = pipeline[key]
        if count is None or count != int(row["count"]):
            problems.append(f"{key}: count {row['count']} (baseline) != {count} (pipeline)")
        if denominator != int(row["denominator"]):
            problems.append(f"{key}: denominator {row['denominator']} (baseline) != {denominator} (pipeline)")
        for name, ours in (("rate", rate), ("lower", lower), ("upper", upper)):
            if ours is None or abs(ours - float(row[name])) > TOLERANCE:
                problems.append(f"{key}: {name} {row[name]} (baseline) != {ours!r} (pipeline)")
    extra = set(pipeline) - {(r["partnership"], r["metric"], r["area"]) for r in rows}
    problems += [f"{key}: in the pipeline's metric_values, not computed by the baseline" for key in sorted(extra)]
    return len(rows), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("year", type=Path, help="a folder written by benchmarks/national/generate.py")
    parser.add_argument("--forces", default="", help="data.police.uk force ids, comma-separated (default: all)")
    parser.add_argument("--runner", choices=("serial", "dask", "process"), default="serial")
    parser.add_argument("--workers", type=int, default=2, help="dask or process workers")
    parser.add_argument("--stage", action="append", default=[], help="only these stages (default: the whole cycle)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, database) and print it")
    args = parser.parse_args(argv)
    if not (args.year / "MANIFEST.json").is_file():
        print(f"error: {args.year}: no MANIFEST.json (write a year with benchmarks/national/generate.py)",
              file=sys.stderr)
        return 2
    forces = [f.strip() for f in args.forces.split(",") if f.strip()]
    work = Path(tempfile.mkdtemp(prefix="national-vs-pandas-"))
    try:
        config, chosen, manifest = subset_config(args.year, forces, work)
        year = manifest["financial_year"]
        street_rows = sum(manifest["per_force"][f]["street_rows"] for f in (forces or manifest["per_force"]))
        env = {**os.environ, "DUTYCYCLE_CONFIG_DIR": str(config), "DUTYCYCLE_DATA_DIR": str(work / "data"),
               "PREFECT_HOME": str(work / "prefect-home")}
        env.pop("PREFECT_API_URL", None)  # the run's own Prefect API: its start-up is part of what is measured
        dutycycle = shutil.which("dutycycle", path=str(Path(sys.executable).parent)) or "dutycycle"
        load = os.getloadavg()
        base = measure([sys.executable, "-m", "benchmarks.national.baseline", "--config-dir", str(config),
                        "--financial-year", year, "--csv", str(work / "baseline.csv")], env, work / "baseline.log")
        command = [dutycycle, "national", "--financial-year", year, "--runner", args.runner]
        command += ["--workers", str(args.workers)] if args.runner != "serial" else []
        command += [part for stage in args.stage for part in ("--stage", stage)]
        pipe = measure(command, env, work / "pipeline.log")
        floor = floor_command(work / "data")
        floor_run = measure(floor, env, work / "floor.json") if floor else None
        load_after = os.getloadavg()

        print(f"national year {year} from {args.year}: forces {', '.join(forces) or 'all'}; {len(chosen)} "
              f"partnerships, {street_rows:,} street rows; runner {args.runner}"
              f"{f' ({args.workers} workers)' if args.runner != 'serial' else ''}; "
              f"stages {', '.join(args.stage) or 'all'}")
        print(f"{os.cpu_count()} cores; load average {load[0]:.2f} before, {load_after[0]:.2f} after")
        print(f"{'process':<34}{'wall s':>9}{'CPU s':>9}{'largest MiB':>13}{'tree MiB':>10}")
        for name, figures in (("plain pandas baseline", base), (f"dutycycle national ({args.runner})", pipe)):
            print(f"{name:<34}{figures['wall']:>9.2f}{figures['cpu']:>9.2f}{figures['peak_mib']:>13.0f}"
                  f"{figures['tree_mib']:>10.0f}")
        print(f"ratio pipeline/baseline: wall {pipe['wall'] / base['wall']:.2f}x, CPU {pipe['cpu'] / base['cpu']:.2f}x "
              f"(target: at most 1.5x); pipeline peak {pipe['tree_mib'] / 1024:.2f} GiB (target: at most 4 GB)")
        print(f"pipeline per partnership: {pipe['wall'] / len(chosen):.1f} s wall, {pipe['cpu'] / len(chosen):.1f} s CPU")
        if floor_run is None:
            print("required floor: not measured (the pipeline wrote no report.html: compute did not run)")
        elif floor_run["exit"]:
            print(f"required floor: benchmarks/required_floor.py exited {floor_run['exit']}: see {work / 'floor.json'}")
        else:
            floor = floor_result(work / "floor.json")
            print(*floor_lines(base["cpu"], floor, floor_run["cpu"], pipe["cpu"], target=1.5), sep="\n")
            print(f"floor per partnership: {(base['cpu'] + floor_run['cpu']) / len(chosen):.2f} s CPU")
        failed = [name for name, figures in (("baseline", base), ("dutycycle national", pipe)) if figures["exit"]]
        if failed:
            print(f"{' and '.join(failed)} exited non-zero: see {work / 'baseline.log'} and {work / 'pipeline.log'}")
            args.keep = True
            return 1
        compared, problems = compare(work / "baseline.csv", work / "data" / "dutycycle.db", year)
        if problems:
            print(f"{len(problems)} police values differ:", *problems[:50], sep="\n  ")
            args.keep = True
            return 1
        print(f"every one of the {compared} police values (count, population, rate, 95% limits) equals the pipeline's")
        return 0
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
