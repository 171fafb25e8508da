"""Stage 4, notify: data-quality reports to data owners, the measures to the board, deadline reminders."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from prefect import flow

from tasks.artifacts import publish_stage_artifacts
from tasks.measures import outputs_folder
from tasks.completeness import needs_chasing
from tasks.notify.gather import deadline_reminders
from tasks.notify.messages import data_quality_messages, data_request_messages, metric_pack_messages
from tasks.notify.outbox import deliver_outbox, queue_messages
from tasks.reporting import markdown_table
from tasks.runs import finish_stage, start_stage
from tasks.storage import repository
from tasks.storage.session import session_scope
from tasks.validation import completeness


@flow(name="notify", log_prints=True)
def notify(partnership: str = "castle-point-rochford", financial_year: str = "2022/23") -> dict:
    """Write the year's messages to the outbox and deliver them (SMTP if configured, else .eml files):
    data-quality reports and requests for overdue data to data owners, the measures to the board, reminders.

    Args:
        partnership: Partnership id (a folder under config/partnerships).
        financial_year: Financial year under review, e.g. 2022/23.
    """
    ctx = start_stage("notify", partnership, financial_year)
    with session_scope(ctx.database_url) as session:
        files = repository.file_register(session, ctx.partnership_id)
        failures = repository.failure_register(session, ctx.partnership_id)
    messages = data_quality_messages(ctx.config, ctx.year_label, files, failures)
    messages += data_request_messages(ctx.config, ctx.year_label, needs_chasing(completeness(ctx)))

    folder = outputs_folder(ctx)
    published_csv = folder / "measures-published.csv"
    if published_csv.is_file():
        published = pd.read_csv(published_csv, dtype=str, keep_default_na=False)
        attachments = [str(published_csv), str(folder / "summary.html")]
        messages += metric_pack_messages(ctx.config, ctx.year_label, published, attachments)
    messages += deadline_reminders(ctx, dt.date.today())

    queued = queue_messages(ctx, messages)
    delivered = pd.DataFrame(deliver_outbox(ctx))
    failed = int((delivered["status"] == "failed").sum()) if not delivered.empty else 0
    status = "completed with warnings" if failed else "completed"
    markdown = "\n".join(
        [
            f"# Notifications: {ctx.config.partnership.name}, {ctx.year_label}",
            f"{len(messages)} messages prepared, {queued} new in the outbox (the others were already sent), "
            f"{len(delivered)} delivered this run, {failed} failed (retried next run).",
            "",
            markdown_table(delivered) if not delivered.empty else "Nothing new to deliver.",
            "" if published_csv.is_file() else "No published measures yet: run compute first to send the metric pack.",
        ]
    )
    publish_stage_artifacts(ctx.partnership_id, "notify", markdown, delivered, "Messages delivered this run")
    summary = {"prepared": len(messages), "queued": queued, "delivered": len(delivered) - failed, "failed": failed}
    finish_stage(ctx, "notify", status, summary)
    print(f"notify: {summary}")
    return {"status": status, **summary}
