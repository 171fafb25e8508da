"""Stage 5, submit: the annual-review package built, checked, stored, recorded against its deadline, signed off by
a named approver and delivered exactly once."""

from __future__ import annotations

from prefect import flow

from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.outbox import deliver_outbox
from tasks.shared.parameters import DEFAULT_YEAR, DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.published import read_published
from tasks.shared.runs import finish_stage, plain_failures, stage_run_name, stage_running, start_stage
from tasks.submit.report import submission_report
from tasks.submit.steps import (
    announce_submission,
    audit_submission,
    build_submission,
    current_status,
    deliver_submission,
    obtain_sign_off,
    outcome_sentence,
    record_deadlines,
)


@flow(name="submit", flow_run_name=stage_run_name("submit"), log_prints=True, persist_result=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def submit(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = DEFAULT_YEAR):
    """Build the year's submission package, record it against the next statutory deadline, wait for a named
    approver's sign-off and deliver the approved package exactly once."""
    ctx = start_stage("submit", partnership, financial_year)
    with stage_running(ctx, "submit"):  # one run per partnership and year at a time
        deadlines = record_deadlines(ctx)
        outputs = read_published(ctx)
        record = build_submission(ctx, outputs)
        decision = obtain_sign_off(ctx, record)  # on a Prefect server the run pauses here with the sign-off form
        delivery = deliver_submission(ctx, record, decision)
        status = current_status(ctx, record)
        outcome = outcome_sentence(ctx, record, status, decision, delivery) if record else ""
        announce_submission(ctx, record, outcome)
        delivered = deliver_outbox(ctx)
        audit = audit_submission(ctx, record)
        report = submission_report(ctx, record, deadlines, delivered, status=status, outcome=outcome,
                                   decision=decision, delivery=delivery, audit=audit)
        return finish_stage(ctx, "submit", report)
