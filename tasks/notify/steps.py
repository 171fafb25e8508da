"""Notify's steps: gather the year's messages from the registers and the publication, ready for the outbox; hold
the board's metric pack until it is signed off."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.notify import board_pack
from tasks.notify.board_pack import BoardPackError, HeldPack
from tasks.notify.messages import (
    data_quality_messages,
    data_request_messages,
    metric_pack_messages,
)
from tasks.shared.checks import completeness
from tasks.shared.completeness import needs_chasing
from tasks.shared.context import CycleContext
from tasks.shared.coverage import part_year_lines
from tasks.shared.file_server import NotServedError, served_url
from tasks.shared.outbox import Message, queue_messages
from tasks.shared.published import (
    NothingPublishedError,
    PublishedOutputs,
    quality_page,
    read_published,
)
from tasks.shared.signoff import Decision, decision_for
from tasks.shared.storage import repository
from tasks.shared.storage.session import session_scope


def quality_reports(ctx: CycleContext) -> list[Message]:
    """Each data owner's data-quality report of their own files."""
    with session_scope(ctx.database_url) as session:
        files = repository.file_register(session, ctx.partnership_id)
        failures = repository.failure_register(session, ctx.partnership_id)
        last_reported = repository.last_sent(session, ctx.partnership_id, "data_quality_report")
    return data_quality_messages(ctx.config, ctx.year_label, files, failures, last_reported, quality_pages_of(ctx))


def quality_pages_of(ctx: CycleContext) -> dict[str, bytes]:
    """The quality page validate wrote for each recipient of a data-quality report: a data owner's own page, the
    partnership's for anyone else (they receive every source's report); none before validate has run."""
    pages = {}
    for person in ctx.config.stakeholders:
        if "data_quality_report" in person.receives:
            path = quality_page(ctx, person.id if person.role == "data_owner" else None)
            if path.is_file():
                pages[person.id] = path.read_bytes()
    return pages


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



# ---------------------------------------------------------------- the board pack's sign-off


@dataclass(frozen=True)
class PackOutcome:
    """What happened to the board pack this time: awaiting approval, released, rejected, or not sent (why)."""

    pack_id: int
    status: str
    sentence: str
    queued: int = 0


@task(name="hold-board-pack", cache_policy=NO_CACHE)
def hold_board_pack(ctx: CycleContext, published: PublishedOutputs | None) -> HeldPack | None:
    """Record this version of the board's metric pack for sign-off instead of queueing it (None: no pack)."""
    return board_pack.hold_pack(ctx, metric_pack(ctx, published))


def sign_off_requests(ctx: CycleContext, pack: HeldPack | None, published: PublishedOutputs | None) -> list[Message]:
    """The message asking the approvers to decide on a pack awaiting sign-off, with a link to the report it is
    built from (sent before the run waits, so the approvers know there is something to decide)."""
    if pack is None or published is None or decision_recorded(ctx, pack):
        return []
    report = published.report_html if published.report_html and published.report_html.exists() \
        else published.summary_html
    try:
        link = served_url(ctx.settings, report)
    except NotServedError:
        link = None
    return board_pack.sign_off_request_messages(ctx.config, ctx.year_label, pack, link)


def decision_recorded(ctx: CycleContext, pack: HeldPack) -> bool:
    return decision_for(ctx.database_url, board_pack.KIND, pack.pack_id, pack.pack_sha256) is not None


def settle_board_pack(ctx: CycleContext, pack: HeldPack | None, decision: Decision | None) -> PackOutcome | None:
    """Act on the decision: approved, the pack as it stands now (the very version approved) goes to the outbox;
    rejected, nothing of it is sent and the analysts get one message saying why; undecided, nothing is sent."""
    if pack is None:
        return None
    if decision is None:
        return PackOutcome(pack.pack_id, board_pack.AWAITING,
                           f"board pack {pack.pack_id} awaits approval by {board_pack.approvers_line(ctx.config)}; "
                           f"nothing of it was sent: `{board_pack.approve_command(pack.pack_id)}`")
    if not decision.approved:
        told = queue_messages.fn(ctx, board_pack.rejection_messages(ctx.config, ctx.year_label, pack.pack_id,
                                                                   pack.pack_sha256, decision))
        return PackOutcome(pack.pack_id, board_pack.REJECTED,
                           f"board pack {pack.pack_id} was {decision.sentence()}; nothing of it was sent", told)
    try:  # read again: the published files may have changed while the run waited for the decision
        messages = board_pack.release(ctx, pack.pack_id, metric_pack(ctx, published_measures(ctx)))
    except BoardPackError as exc:
        return PackOutcome(pack.pack_id, "not sent", str(exc))
    queued = queue_messages.fn(ctx, messages)
    board_pack.mark_released(ctx.database_url, pack.pack_id)
    return PackOutcome(pack.pack_id, board_pack.RELEASED,
                       f"board pack {pack.pack_id} was {decision.sentence()}; its {len(messages)} message(s) are in "
                       f"the outbox ({queued} new this time), each delivered once", queued)
