"""Stage 1, collect: every input file kept unchanged, checked against its suite, and loaded or quarantined."""

from __future__ import annotations

from prefect import flow

from tasks.collect.report import collection_report
from tasks.collect.steps import collect_every_source
from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.checks import completeness
from tasks.shared.parameters import DEFAULT_YEAR, DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.runs import finish_stage, plain_failures, stage_run_name, stage_running, start_stage


@flow(name="collect", flow_run_name=stage_run_name("collect"), log_prints=True, persist_result=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def collect(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = DEFAULT_YEAR):
    """Collect the partnership's input files: store, parse, check and load them."""
    ctx = start_stage("collect", partnership, financial_year)
    with stage_running(ctx, "collect"):  # one run per partnership and year at a time
        outcomes = collect_every_source(ctx)
        coverage = completeness(ctx)
        report = collection_report(ctx, outcomes, coverage)
        return finish_stage(ctx, "collect", report)
