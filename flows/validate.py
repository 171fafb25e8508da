"""Stage 2, validate: each dataset of the year checked as loaded, for completeness and reconciliation."""

from __future__ import annotations

from prefect import flow

from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.checks import blocked_datasets, completeness
from tasks.shared.parameters import DEFAULT_YEAR, DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.runs import finish_stage, plain_failures, stage_run_name, stage_running, start_stage
from tasks.validate.report import validation_report
from tasks.validate.steps import (
    check_month_collapses,
    observations_of_year,
    reconciliation,
    validate_every_dataset,
    write_quality_report,
)


@flow(name="validate", flow_run_name=stage_run_name("validate"), log_prints=True, persist_result=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def validate(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = DEFAULT_YEAR):
    """Check the year's loaded data: suites per dataset, completeness and reconciliation."""
    ctx = start_stage("validate", partnership, financial_year)
    with stage_running(ctx, "validate"):  # one run per partnership and year at a time
        observations, in_year = observations_of_year(ctx)
        outcomes = validate_every_dataset(ctx, in_year)
        coverage = completeness(ctx)
        reconciled = reconciliation(ctx)
        collapses = check_month_collapses(ctx, observations)
        blocked = blocked_datasets(ctx)
        quality = write_quality_report(ctx, coverage)
        report = validation_report(ctx, outcomes, coverage, reconciled, collapses, blocked, quality)
        return finish_stage(ctx, "validate", report)
