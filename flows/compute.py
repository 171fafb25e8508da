"""Stage 3, compute: the national and local measures with confidence intervals, checked and published."""

from __future__ import annotations

from prefect import flow

from tasks.compute.report import measures_report
from tasks.compute.steps import (
    check_measures,
    check_plausibility,
    compute_measures,
    publish_measures,
    refuse_failed_measures,
    store_measures,
)
from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.checks import blocked_datasets
from tasks.shared.parameters import DEFAULT_YEAR, DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.runs import finish_stage, plain_failures, stage_run_name, stage_running, start_stage


@flow(name="compute", flow_run_name=stage_run_name("compute"), log_prints=True, persist_result=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def compute(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = DEFAULT_YEAR):
    """Compute the year's measures from validated data and publish them under disclosure control."""
    ctx = start_stage("compute", partnership, financial_year)
    with stage_running(ctx, "compute"):  # one run per partnership and year at a time
        blocked = blocked_datasets(ctx)
        result = compute_measures(ctx, blocked)
        checks = check_measures(ctx, result.values)
        refuse_failed_measures(ctx, checks)
        plausibility = check_plausibility(ctx, result.values)
        stored = store_measures(ctx, result.values)
        outputs = publish_measures(ctx, result.skipped)
        report = measures_report(ctx, result, checks, plausibility, stored, outputs)
        return finish_stage(ctx, "compute", report)
