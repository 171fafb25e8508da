"""Notify's steps: gather the year's messages from the registers and the publication, ready for the outbox."""

from __future__ import annotations

from tasks.notify.messages import (
    data_quality_messages,
    data_request_messages,
    metric_pack_messages,
)
from tasks.shared.checks import completeness
from tasks.shared.completeness import needs_chasing
from tasks.shared.context import CycleContext
from tasks.shared.coverage import part_year_lines
from tasks.shared.outbox import Message
from tasks.shared.published import (
    NothingPublishedError,
    PublishedOutputs,
    read_published,
)
from tasks.shared.storage import repository
from tasks.shared.storage.session import session_scope


def quality_reports(ctx: CycleContext) -> list[Message]:
    """Each data owner's data-quality report of their own files."""
    with session_scope(ctx.database_url) as session:
        files = repository.file_register(session, ctx.partnership_id)
        failures = repository.failure_register(session, ctx.partnership_id)
        last_reported = repository.last_sent(session, ctx.partnership_id, "data_quality_report")
    return data_quality_messages(ctx.config, ctx.year_label, files, failures, last_reported)


def data_requests(ctx: CycleContext) -> list[Message]:
    """Requests to data owners for their overdue, partial or quarantined periods."""
    return data_request_messages(ctx.config, ctx.year_label, needs_chasing(completeness(ctx)))


def published_measures(ctx: CycleContext) -> PublishedOutputs | None:
    """The year's publication if compute has written it, else None (the metric pack then waits)."""
    try:
        return read_published(ctx)
    except NothingPublishedError:
        return None


def metric_pack(ctx: CycleContext, published: PublishedOutputs | None) -> list[Message]:
    """The board's and analysts' metric pack, with the published measures, the measures not computed and the summary
    attached; nothing when no measure could be computed (an empty pack would read as 'no violence')."""
    if published is None or published.table.empty:
        return []
    attachments = [str(published.measures_csv), str(published.not_computed_csv), str(published.summary_html)]
    return metric_pack_messages(ctx.config, ctx.year_label, published.table, attachments, published.not_computed,
                                part_year_lines(published.table, ctx.year_label))

