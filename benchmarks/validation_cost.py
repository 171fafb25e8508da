"""Benchmark: what Great Expectations validation adds to collecting a partnership's year of data.

Parses every demo input file of the reviewed year (the work collect does anyway) and then runs the raw suites
two ways, timing all in the same run: one Great Expectations run per file, and collect's way, one run per source
over all its files (``validate_frames``), whose per-file outcomes must equal the first's. The plain baseline is
parsing alone. Run:
    uv run python benchmarks/validation_cost.py
"""

from __future__ import annotations

import time

from tasks.collect.sources.common import InputFileError, discover_files
from tasks.collect.steps import parse_file
from tasks.shared.context import open_cycle
from tasks.shared.suites import gx_runs, validate_frame, validate_frames


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
    rows, alone = 0, {}
    for source, result in parsed:
        alone.setdefault(source.id, []).append(validate_frame(
            result.frame, source.suite_name, expectations_dir=ctx.settings.expectations_dir,
            parameters=result.suite_parameters))
        rows += len(result.frame)
    validate_seconds = time.perf_counter() - start

    runs, start = gx_runs(), time.perf_counter()
    together = {}
    for source in ctx.config.sources:
        items = [(r.frame, r.suite_parameters) for s, r in parsed if s.id == source.id]
        if items:
            together[source.id] = validate_frames(items, source.suite_name, expectations_dir=ctx.settings.expectations_dir)
    batched_seconds, batched_runs = time.perf_counter() - start, gx_runs() - runs
    if together != alone:
        raise SystemExit("checking a source's files together changed a file's outcome")

    print(f"files of {ctx.year_label} parsed                {len(parsed):>8}")
    print(f"rows checked                           {rows:>8,}")
    print(f"parse the year's files (baseline)      {parse_seconds:>8.2f} s  (includes the personal-data and formula guards)")
    print(f"import Great Expectations (once)       {import_seconds:>8.2f} s")
    print(f"validate, one run per file (warm)      {validate_seconds:>8.2f} s  "
          f"({1000 * validate_seconds / max(len(parsed), 1):.0f} ms a file, {len(parsed)} runs)")
    print(f"validate, one run per source (collect) {batched_seconds:>8.2f} s  "
          f"({1000 * batched_seconds / max(len(parsed), 1):.0f} ms a file, {batched_runs} runs; same outcomes)")

if __name__ == "__main__":
    main()
