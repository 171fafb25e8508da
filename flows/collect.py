"""Stage 1, collect: every input file kept unchanged, checked against its suite, and loaded or quarantined."""

from __future__ import annotations

from prefect import flow

from tasks.collect.report import collection_report
from tasks.collect.steps import collect_every_source
from tasks.shared.checks import completeness
from tasks.shared.parameters import DEMO_PARTNERSHIP, FinancialYear, PartnershipId
from tasks.shared.runs import finish_stage, start_stage


@flow(name="collect", log_prints=True)
def collect(partnership: PartnershipId = DEMO_PARTNERSHIP, financial_year: FinancialYear = "2022/23") -> dict:
    """Collect the partnership's input files: store, parse, check and load them."""
    ctx = start_stage("collect", partnership, financial_year)
    outcomes = collect_every_source(ctx)
    coverage = completeness(ctx)
    report = collection_report(ctx, outcomes, coverage)
    return finish_stage(ctx, "collect", report)
