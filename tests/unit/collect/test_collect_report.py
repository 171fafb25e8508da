"""The collection's report: its status, summary, page and tables, from what happened to each file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.collect.report import collection_report, failures_table
from tasks.collect.steps import FileOutcome
from tests.unit.report_helpers import demo_context

COVERAGE = pd.DataFrame(
    [{"source": "police-knife-crime", "owner": "essex-police-analyst", "period": "2022-23 Q1", "due": "2022-07-31",
      "status": "overdue", "files": ""}]
)


def outcome(name: str, status: str, *, checks: str = "passed", failures: pd.DataFrame | None = None, **counts) -> FileOutcome:
    return FileOutcome(
        source_id="police-knife-crime", dataset="police_knife_crime", original_name=name, raw_file_id=len(name),
        sha256="0" * 64, period="2022-04", financial_year="2022/23", status=status,
        reason="rule broken" if status == "quarantined" else None, validation_status=checks,
        failures=failures if failures is not None else pd.DataFrame(), **counts,
    )


def test_a_quarantined_file_fails_the_collection_and_is_named(data_dir: Path) -> None:
    bad_rows = pd.DataFrame([{"source_row": 7, "column": "count", "value": "x", "rule": "a number", "severity": "critical"}])
    outcomes = [
        outcome("good.csv", "loaded", observations=12, rows_read=12, rows_loaded=12, rows_without_location=3,
                rows_repeating_crime_id=2, rows_in_unlisted_lsoas=4, rows_unattributable=1),
        outcome("bad.csv", "quarantined", checks="failed", failures=bad_rows),
        outcome("old.csv", "superseded"),
    ]
    report = collection_report(demo_context(), outcomes, COVERAGE)
    assert report.status == "failed"
    assert report.summary == {"files": 3, "loaded": 1, "superseded": 1, "quarantined": 1, "observations": 12,
                              "crimes_without_location": 3, "crimes_repeating_a_crime_id": 2,
                              "crimes_in_lsoas_recognised_by_name": 4, "crimes_not_attributable": 1}
    assert "2 police records repeat a Crime ID" in report.markdown and "each row is counted" in report.markdown
    assert "- Quarantined: `bad.csv` (police-knife-crime): rule broken" in report.markdown
    assert "**3** files found" in report.markdown and "1 replaced by a corrected file" in report.markdown
    assert "2022-23 Q1 (overdue)" in report.markdown  # the completeness summary
    assert [name for name, _, _ in report.tables] == ["collect-completeness", "collect-failures"]
    failures = dict((name, table) for name, table, _ in report.tables)["collect-failures"]
    assert failures.to_dict("records") == [{"source": "police-knife-crime", "file": "bad.csv", "row": 7,
                                            "column": "count", "value": "x", "rule": "a number", "severity": "critical"}]
    assert report.table["file"].tolist() == ["good.csv", "bad.csv", "old.csv"]


def test_warnings_without_quarantine_complete_with_warnings(data_dir: Path) -> None:
    report = collection_report(demo_context(), [outcome("a.csv", "loaded", checks="warning")], COVERAGE)
    assert report.status == "completed with warnings"
    clean = collection_report(demo_context(), [outcome("a.csv", "loaded")], COVERAGE)
    assert clean.status == "completed"


def test_no_failures_gives_an_empty_failures_table() -> None:
    table = failures_table([outcome("a.csv", "loaded")])
    assert table.empty and list(table.columns) == ["file", "source"]
