"""What the submit stage tells the analyst: the package, its checks and the deadline it is recorded against (pure)."""

from __future__ import annotations

import pandas as pd

from tasks.shared.artifacts import StageReport
from tasks.shared.context import CycleContext
from tasks.shared.file_server import served_url
from tasks.submit.steps import SubmissionRecord

DEADLINE_COLUMNS = ["deadline_id", "period", "title", "due_date", "recipient", "confirmed"]


def submission_report(
    ctx: CycleContext, record: SubmissionRecord | None, deadlines: list[dict], receipts_delivered: list[dict]
) -> StageReport:
    """The submission's summary, page and the year's deadlines table (or why no package was built)."""
    if record is None:
        return StageReport(
            status="completed with warnings",
            summary={"package_sha256": None, "new_package": False, "receipts_delivered": 0,
                     "package": "not built: no measure could be computed"},
            markdown="\n".join([
                f"# Submission: {ctx.config.partnership.name}, {ctx.year_label}",
                f"**No package built**: no measure could be computed for {ctx.year_label} (the compute stage and "
                "measures-not-computed.csv say why). Nothing was recorded against the deadline.",
            ]),
            table=pd.DataFrame(deadlines, columns=DEADLINE_COLUMNS),
            description="Deadlines of the year",
        )
    package_url = served_url(ctx.settings, record.package_path)
    markdown = "\n".join(
        [
            f"# Submission: {ctx.config.partnership.name}, {ctx.year_label}",
            f"[Package]({package_url}) (sha256 `{record.package_sha256}`), checks: {record.validation.status}.",
            f"Recorded against **{record.deadline_title}**, due **{record.due_date}**"
            + ("" if record.created else " (same package as already recorded: nothing new)."),
            "Status: awaiting sign-off before it is sent.",
        ]
    )
    summary = {
        "package_sha256": record.package_sha256,
        "deadline": record.deadline_id,
        "due": record.due_date,
        "new_package": record.created,
        "receipts_delivered": len(receipts_delivered),
    }
    return StageReport(
        status="completed",
        summary=summary,
        markdown=markdown,
        table=pd.DataFrame(deadlines)[DEADLINE_COLUMNS],
        description="Deadlines of the year",
        links=[("submit-package", package_url, "The submission package awaiting sign-off (zip)")],
    )
