"""What the notify stage tells the analyst: messages prepared, queued, delivered and failed (pure)."""

from __future__ import annotations

import pandas as pd

from tasks.shared.artifacts import StageReport
from tasks.shared.context import CycleContext
from tasks.shared.markdown import markdown_table

NO_MEASURES = "No metric pack sent: no measure could be computed for the year (the compute stage lists why)."
NOT_PUBLISHED = "No published measures yet: run compute first to send the metric pack."


def notification_report(
    ctx: CycleContext, prepared: int, queued: int, delivered: list[dict], measures_published: bool,
    measures_computed: bool = True,
) -> StageReport:
    """The notification's status (warnings when a delivery failed and will be retried), summary and page."""
    deliveries = pd.DataFrame(delivered)
    failed = int((deliveries["status"] == "failed").sum()) if not deliveries.empty else 0
    status = "completed with warnings" if failed or (measures_published and not measures_computed) else "completed"
    markdown = "\n".join(
        [
            f"# Notifications: {ctx.config.partnership.name}, {ctx.year_label}",
            f"{prepared} messages prepared, {queued} new in the outbox (the others were already sent), "
            f"{len(deliveries)} delivered this run, {failed} failed (retried next run).",
            "",
            markdown_table(deliveries) if not deliveries.empty else "Nothing new to deliver.",
            "" if not measures_published else ("" if measures_computed else NO_MEASURES),
            "" if measures_published else NOT_PUBLISHED,
        ]
    )
    return StageReport(
        status=status,
        summary={"prepared": prepared, "queued": queued, "delivered": len(deliveries) - failed, "failed": failed,
                 "metric_pack": "sent" if measures_published and measures_computed else
                 ("not sent: no measure computed" if measures_published else "not sent: nothing published")},
        markdown=markdown,
        table=deliveries,
        description="Messages delivered this run",
    )
