"""Benchmark: collecting one real data.police.uk force-month (Essex, Dec 2022, 13,139 rows).

Prints the time of our parse + filter + aggregate and of the raw Great Expectations suite, against a plain
pandas baseline (read_csv, isin filter, groupby) of the same file in the same run, and checks both give the
same counts. Run: uv run python benchmarks/collect_police_month.py
"""

from __future__ import annotations

import io
import time
import zipfile

import pandas as pd

from tasks.collect.sources import police_archive
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.suites import validate_frame

REPEATS = 5


def best_of(function, repeats: int = REPEATS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    config = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
    lsoas = set(config.partnership.lsoa_codes)
    data = (config.folder / "inputs" / "police-archive" / "2022-12.zip").read_bytes()

    def baseline():
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            frame = pd.read_csv(archive.open("2022-12/2022-12-essex-street.csv"))
        return frame[frame["LSOA code"].isin(lsoas)].groupby("Crime type").size()

    def ours():
        [month] = police_archive.parse_archive(data, "2022-12.zip", ["essex"])
        split = police_archive.split_by_area(month.frame, lsoas, {})
        in_area, without = split.listed, split.no_location
        return month, in_area, without, police_archive.to_observations(in_area, "p", 1)

    baseline_s, expected = best_of(baseline)
    ours_s, (month, in_area, without, observations) = best_of(ours)
    same = {police_archive.crime_type_measure(k): float(v) for k, v in expected.items()} == (
        observations.groupby("measure")["value"].sum().to_dict()
    )
    checked = pd.concat([in_area, without], ignore_index=True).assign(raw_file_id=1)
    parameters = {"expected_months": ["2022-12"], "lsoa_codes": sorted(lsoas)}
    first = time.perf_counter()
    validate_frame(checked, "police_street.raw", expectations_dir=PROJECT_ROOT / "expectations", parameters=parameters)
    first_validation = time.perf_counter() - first  # includes importing Great Expectations once per process
    validation_s, outcome = best_of(
        lambda: validate_frame(checked, "police_street.raw", expectations_dir=PROJECT_ROOT / "expectations",
                               parameters=parameters)
    )
    print(f"rows in file                         {len(month.frame):>10,}")
    print(f"rows in the partnership / no location {len(in_area):>9,} / {len(without):,}")
    print(f"plain pandas baseline (best of {REPEATS})     {baseline_s * 1000:>8.1f} ms")
    print(f"dutycycle parse+filter+aggregate      {ours_s * 1000:>8.1f} ms  ({ours_s / baseline_s:.2f}x baseline)")
    print(f"raw suite, first call (GX import)     {first_validation * 1000:>8.1f} ms")
    print(f"raw suite, warm (best of {REPEATS})          {validation_s * 1000:>8.1f} ms  "
          f"({len(outcome.outcomes)} rules, status {outcome.status})")
    print(f"counts identical to the baseline      {same}")
    if not same:
        raise SystemExit("counts differ from the plain pandas filter")


if __name__ == "__main__":
    main()
