"""The benchmarks' required floor (benchmarks/required_floor.py): it prints the very report the pipeline printed
(the same bytes, or it says which differ), reads its JSON after any warnings, and reports the floor and the
pipeline's ratio to it from the measured figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.required_floor import floor_command, floor_lines, floor_result, required_work
from tasks.compute.board_report import write_pdf

HTML = "<html><body><h1>Serious violence</h1><p>Knife crime: 102.6 per 100,000 (185 recorded)</p></body></html>"


def test_prints_the_pipelines_report_and_finds_the_same_bytes(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    same, edited = tmp_path / "same", tmp_path / "edited"
    for folder in (same, edited):
        folder.mkdir()
        (folder / "report.html").write_text(HTML, encoding="utf-8")
        assert write_pdf(HTML, folder / "report.pdf") is None  # what compute leaves beside its report.html
    (edited / "report.pdf").write_bytes((edited / "report.pdf").read_bytes() + b"\n% edited\n")
    (tmp_path / "no-pdf").mkdir()
    (tmp_path / "no-pdf" / "report.html").write_text(HTML, encoding="utf-8")

    result = required_work([same / "report.html", edited / "report.html", tmp_path / "no-pdf" / "report.html"])

    assert result["reports"] == 3 and result["same_pdf_bytes"] == 1
    assert result["different_or_missing"] == [str(edited / "report.html"), str(tmp_path / "no-pdf" / "report.html")]
    assert list(result["items"]) == ["import prefect", "import great_expectations and its ephemeral context",
                                     "import sqlalchemy", "import weasyprint", "print 3 board report PDF(s)"]
    assert all(seconds >= 0 for seconds in result["items"].values())
    assert result["items"]["print 3 board report PDF(s)"] > 0


def test_reads_the_last_line_after_warnings(tmp_path: Path) -> None:
    output = tmp_path / "floor.json"
    printed = {"items": {"import prefect": 1.25}, "reports": 1, "same_pdf_bytes": 1, "different_or_missing": []}
    output.write_text("WARNING: Using fontTools instead of HarfBuzz-Subset\n" + json.dumps(printed) + "\n",
                      encoding="utf-8")
    assert floor_result(output) == printed


def test_floor_lines_from_measured_figures() -> None:
    floor = {"items": {"import prefect": 1.5, "print 1 board report PDF(s)": 4.0}, "reports": 1,
             "same_pdf_bytes": 1, "different_or_missing": []}
    # baseline 2 s + floor process 6 s = 8 s, 4x the baseline, over a 3x target; pipeline 40 s = 5x the floor
    lines = floor_lines(baseline_cpu=2.0, floor=floor, floor_cpu=6.0, pipeline_cpu=40.0, target=3)
    assert lines[-1] == ("floor 8.00 s CPU = 4.00x the baseline (over the 3x target before any validation, storage "
                         "or orchestration); pipeline/floor 5.00x")
    assert "  its PDFs: 1 of 1 byte-identical to the pipeline's" in lines
    within = floor_lines(baseline_cpu=2.0, floor=floor, floor_cpu=0.5, pipeline_cpu=2.5, target=1.5)
    assert within[-1].startswith("floor 2.50 s CPU = 1.25x the baseline (within the 1.5x target")


def test_command_names_every_report_of_the_run_and_none_without_one(tmp_path: Path) -> None:
    assert floor_command(tmp_path) is None  # compute did not run: nothing to print
    for partnership in ("darlington", "county-durham"):
        (tmp_path / "outputs" / partnership / "2022-23").mkdir(parents=True)
        (tmp_path / "outputs" / partnership / "2022-23" / "report.html").write_text(HTML, encoding="utf-8")
    command = floor_command(tmp_path)
    assert command[1].endswith("benchmarks/required_floor.py")
    assert command[2:] == [str(tmp_path / "outputs" / p / "2022-23" / "report.html")
                           for p in ("county-durham", "darlington")]
