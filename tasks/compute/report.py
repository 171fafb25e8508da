"""What the compute stage tells the analyst: the headline figures, what was not computed, plausibility, charts (pure)."""

from __future__ import annotations

from functools import partial

import pandas as pd

from tasks.compute.metric_values import ComputeResult
from tasks.shared.artifacts import StageReport
from tasks.shared.context import CycleContext
from tasks.shared.coverage import part_year_lines
from tasks.shared.file_server import served_url
from tasks.shared.markdown import markdown_table
from tasks.shared.published import PublishedOutputs
from tasks.shared.suites import SuiteOutcome


def measures_report(
    ctx: CycleContext,
    result: ComputeResult,
    checks: SuiteOutcome,
    plausibility: pd.DataFrame,
    stored: int,
    outputs: PublishedOutputs,
) -> StageReport:
    """The computation's status (warnings when a measure was skipped, a check warned or sources disagree),
    summary, page and the published table."""
    implausible = plausibility[plausibility["finding"] != ""]
    headline = outputs.table[outputs.table["area_code"] == ctx.partnership_id]
    warnings = result.skipped or checks.status == "warning" or len(implausible)
    status = "completed with warnings" if warnings else "completed"
    link = partial(served_url, ctx.settings)
    markdown = "\n".join(
        [
            f"# Measures: {ctx.config.partnership.name}, {ctx.year_label}",
            f"{stored} metric values computed and stored (definition versions recorded). Published figures follow "
            "their source's disclosure policy (column disclosure_policy; rates from the published counts).",
            "",
            markdown_table(headline.drop(columns=["area_code", "financial_year"])),
            "",
            *(["**No measure could be computed for this year**: no package will be built and no metric pack sent."]
              if outputs.table.empty else []),
            *[f"- Part year: {line}" for line in part_year_lines(outputs.table, ctx.year_label)],
            *[f"- Not computed: {s['title']} ({s['metric_id']}): {s['reason']}" for s in result.skipped],
            "",
            "## Cross-source plausibility (partnership counts, this year against last)",
            markdown_table(plausibility),
            *([f"Board report: [{outputs.report_html.name}]({link(outputs.report_html)})"
               + (f", [{outputs.report_pdf.name}]({link(outputs.report_pdf)})" if outputs.report_pdf else "")]
              if outputs.report_html else []),
            *([f"- {outputs.report_note}"] if outputs.report_note else []),
            f"Published files: [{outputs.summary_html.name}]({link(outputs.summary_html)}), "
            f"[{outputs.measures_csv.name}]({link(outputs.measures_csv)}), "
            f"[{outputs.not_computed_csv.name}]({link(outputs.not_computed_csv)})",
            "",
            "## Charts (published values only)",
            *[f"- [{measure}]({link(path)})" for measure, path in sorted(outputs.charts.items())],
        ]
    )
    return StageReport(
        status=status,
        summary={"metric_values": stored, "published_rows": len(outputs.table), "skipped": result.skipped,
                 **({"report_pdf": outputs.report_note} if outputs.report_note else {})},
        markdown=markdown,
        table=outputs.table,
        description="Published measures of the year",
        tables=[("compute-not-computed", outputs.not_computed, "Measures not computed for the year, and why")],
        links=[
            ("compute-published-summary", link(outputs.summary_html), "The year's published summary, with its charts"),
            ("compute-published-measures", link(outputs.measures_csv), "The year's published measures (CSV)"),
        ],
    )
