"""Stage 2, validate: each dataset of the year checked as loaded, for completeness and reconciliation."""

from __future__ import annotations

from prefect import flow

from tasks.shared.checks import blocked_datasets, completeness
from tasks.shared.parameters import DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.runs import finish_stage, start_stage
from tasks.validate.report import validation_report
from tasks.validate.steps import (
    build_quality_site,
    check_month_collapses,
    observations_of_year,
    reconciliation,
    validate_every_dataset,
)


@flow(name="validate", log_prints=True)
def validate(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = "2022/23") -> dict:
    """Check the year's loaded data: suites per dataset, completeness and reconciliation."""
    ctx = start_stage("validate", partnership, financial_year)
    observations, in_year = observations_of_year(ctx)
    outcomes = validate_every_dataset(ctx, in_year)
    coverage = completeness(ctx)
    reconciled = reconciliation(ctx)
    collapses = check_month_collapses(ctx, observations)
    blocked = blocked_datasets(ctx)
    quality_site = build_quality_site(ctx)
    report = validation_report(ctx, outcomes, coverage, reconciled, collapses, blocked, quality_site)
    return finish_stage(ctx, "validate", report)
