"""Stage 5, submit: the annual-review package built, checked, stored and recorded against its deadline."""

from __future__ import annotations

import pandas as pd
from prefect import flow

from tasks.artifacts import publish_stage_artifacts
from tasks.measures import publish_measures
from tasks.notify.messages import submission_receipt_messages
from tasks.notify.outbox import deliver_outbox, queue_messages
from tasks.runs import finish_stage, start_stage
from tasks.submission.submit import build_submission, record_deadlines


@flow(name="submit", log_prints=True)
def submit(partnership: str = "castle-point-rochford", financial_year: str = "2022/23") -> dict:
    """Build the year's submission package and record it against the next statutory deadline.

    Args:
        partnership: Partnership id (a folder under config/partnerships).
        financial_year: Financial year under review, e.g. 2022/23.
    """
    ctx = start_stage("submit", partnership, financial_year)
    deadlines = record_deadlines(ctx)
    outputs = publish_measures(ctx)
    record = build_submission(ctx, outputs)
    if record.created:
        queue_messages(
            ctx,
            submission_receipt_messages(
                ctx.config, ctx.year_label, record.deadline_title, record.due_date, record.package_sha256,
                record.package_path,
            ),
        )
    delivered = deliver_outbox(ctx)

    markdown = "\n".join(
        [
            f"# Submission: {ctx.config.partnership.name}, {ctx.year_label}",
            f"Package `{record.package_path}` (sha256 `{record.package_sha256}`), checks: {record.validation.status}.",
            f"Recorded against **{record.deadline_title}**, due **{record.due_date}**"
            + ("" if record.created else " (same package as already recorded: nothing new)."),
            "Status: awaiting sign-off before it is sent.",
        ]
    )
    table = pd.DataFrame(deadlines)[["deadline_id", "period", "title", "due_date", "recipient", "confirmed"]]
    publish_stage_artifacts(ctx.partnership_id, "submit", markdown, table, "Deadlines of the year")
    summary = {"package_sha256": record.package_sha256, "deadline": record.deadline_id, "due": record.due_date,
               "new_package": record.created, "receipts_delivered": len(delivered)}
    finish_stage(ctx, "submit", "completed", summary)
    print(f"submit: {summary}")
    return {"status": "completed", **summary}
