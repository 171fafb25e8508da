"""Stage 3, compute: the national and local measures with confidence intervals, checked and published."""

from __future__ import annotations

from prefect import flow

from tasks.artifacts import publish_stage_artifacts
from tasks.measures import check_measures, check_plausibility, compute_measures, publish_measures, store_measures
from tasks.reporting import markdown_table
from tasks.runs import finish_stage, start_stage
from tasks.validation import blocked_datasets


@flow(name="compute", log_prints=True)
def compute(partnership: str = "castle-point-rochford", financial_year: str = "2022/23") -> dict:
    """Compute the year's measures from validated data and publish them under disclosure control.

    Args:
        partnership: Partnership id (a folder under config/partnerships).
        financial_year: Financial year under review, e.g. 2022/23.
    """
    ctx = start_stage("compute", partnership, financial_year)
    blocked = blocked_datasets(ctx)
    result = compute_measures(ctx, blocked)
    checks = check_measures(ctx, result.values)
    if checks.blocking:
        finish_stage(ctx, "compute", "failed", {"failed_rules": [o.description for o in checks.failed_critical]})
        raise ValueError("computed measures failed their checks: " + "; ".join(o.description for o in checks.failed_critical))
    plausibility = check_plausibility(ctx, result.values)
    implausible = plausibility[plausibility["finding"] != ""]
    stored = store_measures(ctx, result.values)
    outputs = publish_measures(ctx)

    headline = outputs.table[outputs.table["area_code"] == ctx.partnership_id]
    warnings = result.skipped or checks.status == "warning" or len(implausible)
    status = "completed with warnings" if warnings else "completed"
    markdown = "\n".join(
        [
            f"# Measures: {ctx.config.partnership.name}, {ctx.year_label}",
            f"{stored} metric values computed and stored (definition versions recorded). Published figures follow "
            f"the disclosure policy: {ctx.config.metrics.disclosure.name}.",
            "",
            markdown_table(headline.drop(columns=["area_code", "financial_year"])),
            "",
            *[f"- Not computed: {s['metric_id']}: {s['reason']}" for s in result.skipped],
            "",
            "## Cross-source plausibility (partnership counts, this year against last)",
            markdown_table(plausibility),
            f"Published files: `{outputs.measures_csv}`, `{outputs.summary_html}`",
            "",
            "## Charts (published values only)",
            *[f"- [{measure}]({path.as_uri()})" for measure, path in sorted(outputs.charts.items())],
        ]
    )
    publish_stage_artifacts(ctx.partnership_id, "compute", markdown, outputs.table, "Published measures of the year")
    summary = {"metric_values": stored, "published_rows": len(outputs.table), "skipped": result.skipped}
    finish_stage(ctx, "compute", status, summary)
    print(f"compute: {status}, {stored} metric values")
    return {"status": status, **summary}
