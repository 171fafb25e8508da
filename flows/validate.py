"""Stage 2, validate: each dataset of the year checked as loaded, for completeness and reconciliation."""

from __future__ import annotations

import pandas as pd
from prefect import flow

from tasks.artifacts import publish_link, publish_stage_artifacts
from tasks.completeness import needs_chasing, summary_by_source
from tasks.reporting import markdown_table
from tasks.runs import finish_stage, start_stage
from tasks.storage import repository
from tasks.storage.session import session_scope
from tasks.validation import (
    blocked_datasets,
    build_quality_site,
    check_month_collapses,
    completeness,
    reconciliation,
    validate_dataset,
)


@flow(name="validate", log_prints=True)
def validate(partnership: str = "castle-point-rochford", financial_year: str = "2022/23") -> dict:
    """Check the year's loaded data: suites per dataset, completeness and reconciliation.

    Args:
        partnership: Partnership id (a folder under config/partnerships).
        financial_year: Financial year under review, e.g. 2022/23.
    """
    ctx = start_stage("validate", partnership, financial_year)
    with session_scope(ctx.database_url) as session:
        observations = repository.read_observations(session, ctx.partnership_id)
    in_year = observations.loc[observations["period_start"].map(ctx.financial_year_of) == ctx.financial_year]

    datasets = sorted({source.dataset for source in ctx.config.sources})
    outcomes = {dataset: validate_dataset(ctx, dataset, in_year) for dataset in datasets}
    coverage = completeness(ctx)
    reconciled = reconciliation(ctx)
    collapses = check_month_collapses(ctx, observations)
    blocked = blocked_datasets(ctx)

    results = pd.DataFrame(
        [
            {
                "dataset": dataset,
                "rows checked": outcome.rows_checked,
                "checks": outcome.status,
                "blocked for the year": dataset in blocked,
                "failed rules": "; ".join(o.description for o in outcome.failed_critical + outcome.failed_warnings),
            }
            for dataset, outcome in outcomes.items()
        ]
    )
    incomplete = needs_chasing(coverage)
    unreconciled = reconciled[~reconciled["reconciled"]] if not reconciled.empty else reconciled
    warned = len(incomplete) or len(unreconciled) or len(collapses)
    status = "failed" if blocked else ("completed with warnings" if warned else "completed")
    markdown = "\n".join(
        [
            f"# Validation: {ctx.config.partnership.name}, {ctx.year_label}",
            f"Datasets checked: {len(datasets)}; blocked for the year: {', '.join(sorted(blocked)) or 'none'}.",
            "",
            "## Datasets",
            markdown_table(results),
            "",
            "## Completeness (every expected month, quarter and return)",
            markdown_table(summary_by_source(coverage)),
            "",
            f"## Reconciliation: {len(reconciled) - len(unreconciled)} of {len(reconciled)} police files reconcile "
            "(crimes in the area = crimes counted)",
            markdown_table(unreconciled) if len(unreconciled) else "All reconcile.",
            "",
            "## Months with no records or a collapse against the same month last year",
            markdown_table(collapses) if len(collapses) else "None.",
        ]
    )
    publish_stage_artifacts(ctx.partnership_id, "validate", markdown, coverage, "Completeness of the year's data")
    docs = build_quality_site(ctx)
    publish_link(ctx.partnership_id, "validate-data-docs", docs.as_uri(), "Great Expectations Data Docs of every check")
    summary = {"blocked": sorted(blocked), "incomplete_sources": sorted(set(incomplete["source"])),
               "unreconciled_files": len(unreconciled), "collapsed_months": len(collapses)}
    finish_stage(ctx, "validate", status, summary)
    print(f"validate: {status} {summary}")
    return {"status": status, **summary}
