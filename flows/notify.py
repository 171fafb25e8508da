"""Stage 4, notify: data-quality reports and requests to data owners, the measures to the board once signed off.

Deadline reminders and escalations are the daily deadlines flow's (flows/deadlines.py)."""

from __future__ import annotations

from prefect import flow

from tasks.notify.board_pack import obtain_sign_off
from tasks.notify.report import notification_report
from tasks.notify.steps import (
    data_requests,
    hold_board_pack,
    published_measures,
    quality_reports,
    settle_board_pack,
    sign_off_requests,
)
from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.outbox import deliver_outbox, queue_messages
from tasks.shared.parameters import DEFAULT_YEAR, DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.runs import finish_stage, plain_failures, stage_run_name, stage_running, start_stage


@flow(name="notify", flow_run_name=stage_run_name("notify"), log_prints=True, persist_result=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def notify(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = DEFAULT_YEAR):
    """Write the year's messages to the outbox and deliver them (SMTP if configured, else .eml files):
    data-quality reports and requests for overdue data to data owners at once; the board's metric pack only once
    a named approver has signed off that version."""
    ctx = start_stage("notify", partnership, financial_year)
    with stage_running(ctx, "notify"):  # one run per partnership and year at a time
        published = published_measures(ctx)
        # no published figure in these: they go now, whatever becomes of the board pack
        messages = quality_reports(ctx) + data_requests(ctx)
        queued = queue_messages(ctx, messages)
        delivered = deliver_outbox(ctx)
        pack = hold_board_pack(ctx, published)  # recorded by its checksum, not queued
        # the approvers are asked before the run waits (once per version: the outbox keys on content)
        requests = sign_off_requests(ctx, pack, published)
        queued += queue_messages(ctx, requests)
        delivered += deliver_outbox(ctx)
        decision = obtain_sign_off(ctx, pack)  # on a Prefect server the run pauses here with the sign-off form
        outcome = settle_board_pack(ctx, pack, decision)
        delivered += deliver_outbox(ctx)
        report = notification_report(
            ctx, len(messages) + len(requests) + (len(pack.messages) if pack else 0), queued + (outcome.queued if outcome else 0),
            delivered, measures_published=published is not None,
            measures_computed=published is not None and not published.table.empty, pack=outcome,
        )
        return finish_stage(ctx, "notify", report)
