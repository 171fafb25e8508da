"""Benchmark: the CPU compute spends printing the board report's PDF, as it was (printed on every run) and as it is
(printed once per distinct HTML, kept while the HTML is unchanged).

Takes a report.html compute wrote (by default the demo's, after `./run demo`) and, in rounds that alternate the
ways, each in a fresh process (so each pays WeasyPrint's import, as a compute run does), measures the CPU of:
  print   what compute did before: WeasyPrint prints the PDF, every run;
  first   compute now, no PDF printed from this HTML yet (a first run, or new figures): a print, plus the record;
  again   compute now, run again on the same figures (the record and PDF of the first run present): no print.
All three must give the same bytes. Run:
    uv run python benchmarks/report_pdf.py [path/to/report.html] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DEMO_REPORT = Path("var/outputs/castle-point-rochford/2022-23/report.html")

# one measurement, in its own interpreter: CPU from just before write_pdf (which imports WeasyPrint) to its return
CHILD = """
import json, sys, time
from pathlib import Path
from tasks.compute.board_report import write_pdf
html, pdf, record = Path(sys.argv[1]).read_text(encoding="utf-8"), Path(sys.argv[2]), sys.argv[3]
start = time.process_time()
skipped = write_pdf(html, pdf, Path(record) if record else None)
print(json.dumps({"cpu": time.process_time() - start, "skipped": skipped}))
"""


def measure(mode: str, html: Path, work: Path) -> tuple[float, str]:
    """CPU seconds of one way of producing report.pdf, and the sha256 of the PDF it leaves."""
    folder = work / mode
    pdf, record = folder / "report.pdf", folder / "internal" / "report-pdf-source.json"
    if mode != "again":  # 'again' keeps what its previous round left; the others start with nothing printed
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    if mode == "again" and not record.exists():  # its first run: print once, unmeasured
        subprocess.run([sys.executable, "-c", CHILD, str(html), str(pdf), str(record)], check=True,
                       capture_output=True)
    out = subprocess.run([sys.executable, "-c", CHILD, str(html), str(pdf), "" if mode == "print" else str(record)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["skipped"]:
        raise SystemExit(f"report.pdf not printed: {result['skipped']}")
    return result["cpu"], hashlib.sha256(pdf.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", type=Path, default=DEMO_REPORT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.html.is_file():
        raise SystemExit(f"{args.html}: no such report (run ./run demo first, or name a report.html)")
    cpu: dict[str, list[float]] = {"print": [], "first": [], "again": []}
    digests: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as work:
        for n in range(args.rounds):
            for mode in cpu:
                seconds, digest = measure(mode, args.html, Path(work))
                cpu[mode].append(seconds)
                digests.add(digest)
                print(f"round {n + 1} {mode:5s} {seconds:6.2f} s CPU", flush=True)
    if len(digests) != 1:
        raise SystemExit(f"the ways gave different PDFs: {sorted(digests)}")
    print(f"\nmedians of {args.rounds} (CPU, each in a fresh process, WeasyPrint's import included); same PDF bytes:")
    for mode, values in cpu.items():
        print(f"  {mode:5s} {statistics.median(values):6.2f} s")


if __name__ == "__main__":
    main()
