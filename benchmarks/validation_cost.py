"""Benchmark: what Great Expectations validation adds to collecting a partnership's year of data.

Parses every demo input file of the reviewed year (the work collect does anyway) and then runs each file's raw
suite, timing both in the same run. The plain baseline is parsing alone. Run:
    uv run python benchmarks/validation_cost.py
"""

from __future__ import annotations

import time

from tasks.collect.sources.common import InputFileError, discover_files
from tasks.collect.steps import parse_file
from tasks.shared.context import open_cycle
from tasks.shared.suites import validate_frame


def main() -> None:
    ctx = open_cycle("castle-point-rochford", "2022/23")
    files = [(source, found) for source in ctx.config.sources
             for found in discover_files(ctx.config.source_folder(source), source.patterns)]
    parsed, parse_seconds = [], 0.0
    for source, found in files:
        start = time.perf_counter()
        try:
            result = parse_file(ctx, source, found.data, found.name, raw_file_id=0)
        except InputFileError:
            continue
        elapsed = time.perf_counter() - start
        if result.financial_year in (None, ctx.financial_year):  # the reviewed year's files only, both sides
            parsed.append((source, result))
            parse_seconds += elapsed

    import_start = time.perf_counter()
    import great_expectations  # noqa: F401  (what the first validation of a process pays)
    import_seconds = time.perf_counter() - import_start

    start = time.perf_counter()
    rows = 0
    for source, result in parsed:
        validate_frame(result.frame, source.suite_name, expectations_dir=ctx.settings.expectations_dir,
                       parameters=result.suite_parameters)
        rows += len(result.frame)
    validate_seconds = time.perf_counter() - start

    print(f"files of {ctx.year_label} parsed                {len(parsed):>8}")
    print(f"rows checked                           {rows:>8,}")
    print(f"parse the year's files (baseline)      {parse_seconds:>8.2f} s  (includes the personal-data and formula guards)")
    print(f"import Great Expectations (once)       {import_seconds:>8.2f} s")
    print(f"validate the year's files (warm)       {validate_seconds:>8.2f} s  "
          f"({1000 * validate_seconds / max(len(parsed), 1):.0f} ms a file)")


if __name__ == "__main__":
    main()
