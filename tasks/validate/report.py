"""What the validate stage tells the analyst: each dataset's checks, completeness, reconciliation, collapses (pure)."""

from __future__ import annotations

import pandas as pd

from tasks.shared.artifacts import StageReport
from tasks.shared.completeness import needs_chasing, summary_by_source
from tasks.shared.context import CycleContext
from tasks.shared.file_server import served_url
from tasks.shared.markdown import markdown_table
from tasks.shared.suites import SuiteOutcome
from tasks.validate.quality import QualityReport


def validation_report(
    ctx: CycleContext,
    outcomes: dict[str, SuiteOutcome],
    coverage: pd.DataFrame,
    reconciled: pd.DataFrame,
    collapses: pd.DataFrame,
    blocked: frozenset[str],
    quality: QualityReport,
) -> StageReport:
    """The validation's status (failed when a dataset is blocked for the year), summary, page and link."""
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
    people = {s.id for s in ctx.config.stakeholders}
    incomplete = needs_chasing(coverage)
    unreconciled = reconciled[~reconciled["reconciled"]] if not reconciled.empty else reconciled
    warned = len(incomplete) or len(unreconciled) or len(collapses)
    status = "failed" if blocked else ("completed with warnings" if warned else "completed")
    markdown = "\n".join(
        [
            f"# Validation: {ctx.config.partnership.name}, {ctx.year_label}",
            f"Datasets checked: {len(outcomes)}; blocked for the year: {', '.join(sorted(blocked)) or 'none'}.",
            "",
            f"[Data quality report of every check, by source, file and period]({served_url(ctx.settings, quality.index)})"
            " (self-contained: opens and prints without a network connection). Each data owner's own page:",
            *[f"- [{ctx.config.stakeholder(owner).name if owner in people else owner}]({served_url(ctx.settings, path)})"
              for owner, path in quality.owners.items()],
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
    summary = {
        "blocked": sorted(blocked),
        "incomplete_sources": sorted(set(incomplete["source"])),
        "unreconciled_files": len(unreconciled),
        "collapsed_months": len(collapses),
    }
    return StageReport(
        status=status,
        failure=f"blocked for the year (a critical check failed): {', '.join(sorted(blocked))}" if blocked else "",
        summary=summary,
        markdown=markdown,
        table=coverage,
        description="Completeness of the year's data",
        # Great Expectations' Data Docs are not built: they load their styles and scripts from public CDNs and show
        # blank offline; this report carries its own
        links=[("validate-quality-report", served_url(ctx.settings, quality.index),
                "Data quality report: every check by source, file and period")],
    )
