"""What the notify stage tells the analyst: messages prepared, queued, delivered and failed, and where the board's
metric pack stands (awaiting sign-off, released, rejected) (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from tasks.shared.artifacts import StageReport
from tasks.shared.context import CycleContext
from tasks.shared.markdown import markdown_table

if TYPE_CHECKING:
    from tasks.notify.steps import PackOutcome

NO_MEASURES = "No metric pack sent: no measure could be computed for the year (the compute stage lists why)."
NOT_PUBLISHED = "No published measures yet: run compute first to send the metric pack."


def _pack_line(pack: PackOutcome | None, measures_published: bool, measures_computed: bool) -> tuple[str, str]:
    """The summary's word on the metric pack and the page's sentence."""
    if not measures_published:
        return "not sent: nothing published", NOT_PUBLISHED
    if not measures_computed or pack is None:
        return "not sent: no measure computed", NO_MEASURES
    return f"board pack {pack.pack_id}: {pack.status}", f"**Board pack:** {pack.sentence}."


def notification_report(
    ctx: CycleContext, prepared: int, queued: int, delivered: list[dict], measures_published: bool,
    measures_computed: bool = True, pack: PackOutcome | None = None,
) -> StageReport:
    """The notification's status (warnings when a delivery failed and will be retried; rejected when the board
    pack was rejected; failed when an approved pack changed before it could be sent), summary and page."""
    deliveries = pd.DataFrame(delivered)
    failed = int((deliveries["status"] == "failed").sum()) if not deliveries.empty else 0
    if pack is not None and pack.status == "rejected":
        status = "rejected"
    elif pack is not None and pack.status == "not sent":
        status = "failed"
    else:
        status = "completed with warnings" if failed or (measures_published and not measures_computed) \
            else "completed"
    word, sentence = _pack_line(pack, measures_published, measures_computed)
    markdown = "\n".join(
        [
            f"# Notifications: {ctx.config.partnership.name}, {ctx.year_label}",
            f"{prepared} messages prepared, {queued} new in the outbox (the others were already sent or await "
            f"sign-off), {len(deliveries)} delivered this run, {failed} failed (retried next run).",
            "",
            markdown_table(deliveries) if not deliveries.empty else "Nothing new to deliver.",
            "",
            sentence,
        ]
    )
    return StageReport(
        status=status,
        summary={"prepared": prepared, "queued": queued, "delivered": len(deliveries) - failed, "failed": failed,
                 "metric_pack": word},
        markdown=markdown,
        table=deliveries,
        description="Messages delivered this run",
        failure=pack.sentence if pack is not None and status in ("rejected", "failed") else "",
    )
