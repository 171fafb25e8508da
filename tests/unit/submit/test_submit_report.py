"""The submission report: the package, the deadline it is recorded against, the year's deadlines."""

from __future__ import annotations

from pathlib import Path

from tasks.submit.report import submission_report
from tasks.submit.steps import SubmissionRecord
from tests.unit.report_helpers import demo_context, suite

DEADLINES = [{"deadline_id": "annual-review", "period": "2022/23", "title": "Annual review", "due_date": "2024-01-31",
              "recipient": "Home Office", "confirmed": True, "legal_basis": "PCSC Act 2022 s.7"}]


def record(created: bool) -> SubmissionRecord:
    package = demo_context().settings.submissions_dir / "castle-point-rochford" / "ab" / "p.zip"
    return SubmissionRecord(submission_id=7, status="awaiting approval", deadline_id="annual-review", deadline_title="Annual review", due_date="2024-01-31",
                            package_path=str(package), package_sha256="ab" * 32, created=created, validation=suite())


def test_a_new_package_is_reported_against_its_deadline(data_dir: Path) -> None:
    report = submission_report(demo_context(), record(True), DEADLINES, [{"status": "sent"}],
                               outcome="It awaits the decision of one of its approvers.")
    assert report.summary == {"submission": 7, "submission_status": "awaiting approval", "package_sha256": "ab" * 32,
                              "deadline": "annual-review", "due": "2024-01-31", "new_package": True,
                              "decision": None, "delivery": None, "receipts_delivered": 1}
    assert report.status == "completed"
    assert "**Status: awaiting approval.** It awaits the decision of one of its approvers." in report.markdown
    assert "Recorded against **Annual review**, due **2024-01-31**" in report.markdown
    package = "http://127.0.0.1:4280/submissions/castle-point-rochford/ab/p.zip"
    assert f"[Package]({package})" in report.markdown
    assert report.links == [("submit-package", package, "The submission package (awaiting approval, zip)")]
    assert list(report.table.columns) == ["deadline_id", "period", "title", "due_date", "recipient", "confirmed"]


def test_the_same_package_again_says_nothing_new(data_dir: Path) -> None:
    report = submission_report(demo_context(), record(False), DEADLINES, [])
    assert "(same package as already recorded: nothing new)." in report.markdown
    assert report.summary["new_package"] is False
