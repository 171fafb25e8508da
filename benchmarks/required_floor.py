"""Benchmark part: what any implementation of the cycle must spend beyond the plain pandas baseline.

The baselines of `demo_vs_pandas.py` and `national_vs_pandas.py` compute the measures and nothing else. The cycle
must also do what the design card and the issues require of every run, whoever writes it: use Prefect, Great
Expectations and SQLAlchemy (the card's packages), and print each partnership's board report as a PDF (the report
a council publishes, issue 14). This script does only that, with no project code: it imports those libraries
(Great Expectations with the ephemeral context any validation needs), then prints every report.html the pipeline
wrote with WeasyPrint exactly as compute does (`HTML(string=..., base_url=None).write_pdf`), and checks that each
print gives the bytes of the pipeline's own report.pdf beside it (so it did the same work).

It is a lower bound: it validates nothing, stores nothing, orchestrates nothing. Baseline + this process = the
floor; when the floor alone is over a target ratio, no implementation that prints the reports can meet that
target. Run by the two benchmarks after their pipeline (it needs the reports); alone:
    uv run python benchmarks/required_floor.py path/to/report.html [...]
It prints one JSON object on its last line: CPU seconds per item (``time.process_time`` in this process) and the
PDFs compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def required_work(reports: list[Path]) -> dict:
    """Import the required libraries and print every report; CPU seconds per item and the PDF comparison."""
    items: dict[str, float] = {}
    start = time.process_time()
    import prefect  # noqa: F401
    import prefect.flows  # noqa: F401
    import prefect.tasks  # noqa: F401
    items["import prefect"] = time.process_time() - start

    start = time.process_time()
    import great_expectations as gx
    gx.get_context(mode="ephemeral")
    items["import great_expectations and its ephemeral context"] = time.process_time() - start

    start = time.process_time()
    import sqlalchemy  # noqa: F401
    import sqlalchemy.orm  # noqa: F401
    items["import sqlalchemy"] = time.process_time() - start

    start = time.process_time()
    from weasyprint import HTML
    from weasyprint.text.ffi import harfbuzz_subset
    items["import weasyprint"] = time.process_time() - start
    if harfbuzz_subset is None:  # fontTools subsets the fonts: pin its time stamp, as compute does (write_pdf)
        os.environ.setdefault("SOURCE_DATE_EPOCH", "1577836800")

    same, different = 0, []
    start = time.process_time()
    with tempfile.TemporaryDirectory(prefix="required-floor-") as scratch:
        for number, report in enumerate(reports):
            printed = Path(scratch) / f"{number}.pdf"
            HTML(string=report.read_text(encoding="utf-8"), base_url=None).write_pdf(printed)
            theirs = report.with_name("report.pdf")
            if theirs.is_file() and _sha256(printed) == _sha256(theirs):
                same += 1
            else:
                different.append(str(report))
    items[f"print {len(reports)} board report PDF(s)"] = time.process_time() - start
    return {"items": items, "reports": len(reports), "same_pdf_bytes": same, "different_or_missing": different}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def floor_command(data_dir: Path) -> list[str] | None:
    """The command that measures the floor of the reports a pipeline run wrote under ``data_dir``; None if none."""
    reports = sorted((data_dir / "outputs").glob("*/*/report.html"))
    return [sys.executable, str(Path(__file__).resolve()), *map(str, reports)] if reports else None


def floor_result(output: Path) -> dict:
    """The JSON object this script printed last (its output may hold library warnings before it)."""
    return json.loads(output.read_text(encoding="utf-8").strip().splitlines()[-1])


def floor_lines(baseline_cpu: float, floor: dict, floor_cpu: float, pipeline_cpu: float,
                target: float) -> list[str]:
    """The floor's lines for a benchmark's report: items, the floor against the baseline, the pipeline against it."""
    total = baseline_cpu + floor_cpu
    lines = [f"required floor (baseline + benchmarks/required_floor.py as a whole process, {floor_cpu:.2f} s CPU):"]
    lines += [f"  {name:<58}{seconds:>7.2f} s" for name, seconds in floor["items"].items()]
    lines.append(f"  its PDFs: {floor['same_pdf_bytes']} of {floor['reports']} byte-identical to the pipeline's"
                 + (f"; differ or missing: {', '.join(floor['different_or_missing'][:5])}"
                    if floor["different_or_missing"] else ""))
    lines.append(f"floor {total:.2f} s CPU = {total / baseline_cpu:.2f}x the baseline "
                 f"({'over' if total / baseline_cpu > target else 'within'} the {target:g}x target before any "
                 f"validation, storage or orchestration); pipeline/floor {pipeline_cpu / total:.2f}x")
    return lines


def main(argv: list[str]) -> int:
    reports = [Path(arg) for arg in argv]
    missing = [str(path) for path in reports if not path.is_file()]
    if not reports or missing:
        print(f"error: name the report.html files to print (missing: {', '.join(missing) or 'none given'})",
              file=sys.stderr)
        return 2
    print(json.dumps(required_work(reports)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
