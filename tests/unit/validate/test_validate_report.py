"""The validation's report: blocked datasets fail it; incompleteness, unreconciled files and collapses warn."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.validate.quality import QualityReport
from tasks.validate.report import validation_report
from tests.unit.report_helpers import demo_context, rule, suite

COMPLETE = pd.DataFrame([{"source": "s", "owner": "o", "period": "2022-04", "due": "2022-05-31", "status": "arrived",
                          "files": "a.csv"}])
RECONCILED = pd.DataFrame([{"file": "2022-04.zip", "rows read": 5, "crimes in area loaded": 4,
                            "crimes counted in observations": 4, "reconciled": True}])
NO_COLLAPSES = pd.DataFrame(columns=["source", "month"])


def quality(data_dir: Path) -> QualityReport:
    folder = data_dir / "outputs" / "castle-point-rochford" / "2022-23" / "quality"
    return QualityReport(index=folder / "index.html", owners={"essex-police-analyst": folder / "essex-police-analyst.html"})


def test_a_blocked_dataset_fails_validation_and_is_named(data_dir: Path) -> None:
    outcomes = {"police_street": suite(), "police_knife_crime": suite(rule("counts are whole numbers"))}
    report = validation_report(demo_context(), outcomes, COMPLETE, RECONCILED, NO_COLLAPSES,
                               frozenset({"police_knife_crime"}), quality(data_dir))
    assert report.status == "failed"
    assert report.summary == {"blocked": ["police_knife_crime"], "incomplete_sources": [], "unreconciled_files": 0,
                              "collapsed_months": 0}
    assert "blocked for the year: police_knife_crime." in report.markdown
    assert "counts are whole numbers" in report.markdown
    assert "1 of 1 police files reconcile" in report.markdown
    # served: a browser refuses file:// from the Prefect UI; Great Expectations' Data Docs are not built (blank offline)
    pages = "http://127.0.0.1:4280/outputs/castle-point-rochford/2022-23/quality/"
    assert report.links == [("validate-quality-report", pages + "index.html",
                             "Data quality report: every check by source, file and period")]
    assert f"[Data quality report of every check, by source, file and period]({pages}index.html)" in report.markdown
    assert f"- [Essex Police Strategic Analyst]({pages}essex-police-analyst.html)" in report.markdown
    assert "data-docs" not in report.markdown


def test_an_unreconciled_file_or_an_overdue_period_warns(data_dir: Path) -> None:
    unreconciled = RECONCILED.assign(**{"crimes counted in observations": 3, "reconciled": False})
    report = validation_report(demo_context(), {"police_street": suite()}, COMPLETE, unreconciled, NO_COLLAPSES,
                               frozenset(), quality(data_dir))
    assert report.status == "completed with warnings" and report.summary["unreconciled_files"] == 1
    assert "0 of 1 police files reconcile" in report.markdown
    overdue = COMPLETE.assign(status="overdue")
    report = validation_report(demo_context(), {"police_street": suite()}, overdue, RECONCILED, NO_COLLAPSES,
                               frozenset(), quality(data_dir))
    assert report.status == "completed with warnings" and report.summary["incomplete_sources"] == ["s"]
    clean = validation_report(demo_context(), {"police_street": suite()}, COMPLETE, RECONCILED, NO_COLLAPSES,
                              frozenset(), quality(data_dir))
    assert clean.status == "completed" and "All reconcile." in clean.markdown
