"""What the submit stage tells the analyst: the package, its checks and the deadline it is recorded against (pure)."""

from __future__ import annotations

import pandas as pd

from tasks.shared.artifacts import StageReport
from tasks.shared.context import CycleContext
from tasks.shared.file_server import served_url
from tasks.shared.signoff import Decision
from tasks.submit.handover import DeliveryOutcome
from tasks.submit.steps import SubmissionRecord

DEADLINE_COLUMNS = ["deadline_id", "period", "title", "due_date", "recipient", "confirmed"]


def submission_report(
    ctx: CycleContext, record: SubmissionRecord | None, deadlines: list[dict], receipts_delivered: list[dict],
    *, status: str | None = None, outcome: str = "", decision: Decision | None = None,
    delivery: DeliveryOutcome | None = None, audit: pd.DataFrame | None = None,
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
    status = status or record.status
    markdown = "\n".join(
        [
            f"# Submission: {ctx.config.partnership.name}, {ctx.year_label}",
            f"[Package]({package_url}) (submission {record.submission_id}, sha256 `{record.package_sha256}`), "
            f"checks: {record.validation.status}.",
            f"Recorded against **{record.deadline_title}**, due **{record.due_date}**"
            + ("." if record.created else " (same package as already recorded: nothing new)."),
            f"**Status: {status}.** {outcome}",
            "",
            f"The audit table ({len(audit) if audit is not None else 0} figures) lists for every figure its run, "
            "definition and version, raw files with checksums and received times, the checks that applied and the "
            f"approval (`dutycycle audit {record.submission_id}` prints the same).",
        ]
    )
    summary = {
        "submission": record.submission_id,
        "submission_status": status,  # not "status": that key is the stage's outcome for the cycle
        "package_sha256": record.package_sha256,
        "deadline": record.deadline_id,
        "due": record.due_date,
        "new_package": record.created,
        "decision": decision.sentence() if decision else None,
        "delivery": delivery.sentence() if delivery else None,
        "receipts_delivered": len(receipts_delivered),
    }
    not_delivered = decision is not None and decision.approved and (delivery is None or not delivery.delivered)
    rejected = decision is not None and not decision.approved
    return StageReport(
        status="rejected" if rejected else "failed" if not_delivered else "completed",
        summary=summary,
        markdown=markdown,
        table=pd.DataFrame(deadlines)[DEADLINE_COLUMNS],
        description="Deadlines of the year",
        tables=[("audit", audit, "Every submitted figure: run, definition, raw files, checks, approval")]
        if audit is not None and not audit.empty else [],
        links=[("submit-package", package_url, f"The submission package ({status}, zip)")],
        failure=(f"submission {record.submission_id} {decision.sentence()}; nothing was sent" if rejected else
                 f"submission {record.submission_id} was approved but {delivery.sentence() if delivery else 'not delivered'}"
                 if not_delivered else ""),
    )
