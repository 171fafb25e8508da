"""Compute: metric values from the year's observations, checked, stored and published under disclosure control."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.compute.charts import funnel_chart, trend_chart
from tasks.compute.comparisons import (
    funnel_limits_for_rates,
    funnel_significance_for_rates,
)
from tasks.compute.metric_values import ComputeResult, compute_metric_values, pooled_label, restate_from_counts
from tasks.compute.plausibility import divergences
from tasks.compute.report_step import write_report
from tasks.compute.summary import summary_html
from tasks.shared.checks import check_and_record, record_check
from tasks.shared.config import COUNT_UNIT, value_label
from tasks.shared.context import CycleContext
from tasks.shared.coverage import months_covered, part_year_lines
from tasks.shared.disclosure import published_table_by_policy
from tasks.shared.exports import write_csv
from tasks.shared.periods import financial_year_label, is_financial_year_label
from tasks.shared.published import (
    MEASURES_CSV,
    NOT_COMPUTED_COLUMNS,
    NOT_COMPUTED_CSV,
    SUMMARY_HTML,
    PublishedOutputs,
    outputs_folder,
    write_index,
)
from tasks.shared.runs import fail_stage
from tasks.shared.storage import repository
from tasks.shared.storage.session import session_scope
from tasks.shared.suites import SuiteOutcome
from tasks.shared.workbook import notes_rows, write_workbook

MEASURES_SUITE = "metric_values.computed"


@task(name="compute-measures", cache_policy=NO_CACHE)
def compute_measures(ctx: CycleContext, blocked: frozenset[str]) -> ComputeResult:
    """Every metric in force for the year (and the two years before, for change), from stored observations."""
    with session_scope(ctx.database_url) as session:
        observations = repository.read_observations(session, ctx.partnership_id)
        files = repository.stored_files(session, ctx.partnership_id)
    start_month = ctx.config.partnership.financial_year_start.month
    return compute_metric_values(
        observations, ctx.config.partnership, ctx.config.metrics, ctx.financial_year, blocked_datasets=blocked,
        months=months_covered(observations, files, start_month),
        supplied_datasets={source.dataset for source in ctx.config.sources},
        history_years=SERIES_YEARS - 1,  # the window store_measures replaces (recomputed_periods)
    )


@task(name="check-measures", cache_policy=NO_CACHE)
def check_measures(ctx: CycleContext, values: pd.DataFrame) -> SuiteOutcome:
    """The measures' own suite: non-negative counts, positive denominators, value inside its interval."""
    return check_and_record(
        ctx,
        values.drop(columns=["raw_file_ids"]),
        MEASURES_SUITE,
        stage="compute",
        dataset="metric_values",
        subject=f"metric values {ctx.year_label}",
    )


def refuse_failed_measures(ctx: CycleContext, checks: SuiteOutcome) -> None:
    """Stop the stage, recorded as failed, when the measures broke a critical rule of their suite: nothing is
    stored or published."""
    if checks.blocking:
        failed = [o.description for o in checks.failed_critical]
        fail_stage(ctx, "compute", {"failed_rules": failed}, "computed measures failed their checks: " + "; ".join(failed))


@task(name="check-plausibility", cache_policy=NO_CACHE)
def check_plausibility(ctx: CycleContext, values: pd.DataFrame) -> pd.DataFrame:
    """Cross-source plausibility of the partnership's counts (warnings: the analyst checks before publishing)."""
    previous = financial_year_label(ctx.financial_year - 1)
    table = divergences(values, ctx.config.metrics.plausibility, ctx.partnership_id, ctx.year_label, previous)
    for rule in ctx.config.metrics.plausibility:
        rows = table[table["rule"] == rule.id]
        flagged = rows[rows["finding"] != ""]
        record_check(
            ctx, stage="compute", dataset="metric_values", suite="plausibility", subject=f"rule {rule.id}",
            record={
                "expectation_type": "cross_source_plausibility",
                "column": None,
                "severity": "warning",
                "success": flagged.empty,
                "unexpected_count": len(flagged),
                "description": f"Year-on-year changes of {', '.join(rule.metrics)} differ by at most a factor "
                f"of {rule.max_factor:g} ({rule.description})",
                "observed": ", ".join(f"{r.measure} x{r.ratio}" for r in rows.itertuples() if r.ratio is not None),
            },
        )
    return table


@task(name="store-measures", cache_policy=NO_CACHE)
def store_measures(ctx: CycleContext, values: pd.DataFrame) -> int:
    """Replace the stored metric values of the periods this run recomputed (the five years, their pooled windows,
    the reviewed year's months and quarters) with this run's, with the definition versions used and the run's id."""
    with session_scope(ctx.database_url) as session:
        return repository.replace_metric_values(session, ctx.partnership_id, recomputed_periods(ctx), values,
                                                ctx.flow_run_id)


SERIES_YEARS = 5
MEASURES_XLSX = "measures-published.xlsx"  # the same table for spreadsheet users, with a notes sheet
PUBLISHED_AREA_TYPES = ("lad", "csp", "country", "region")
FUNNEL_LABELS = 5  # LSOA figures stay internal, apart from the funnel plot


def recomputed_periods(ctx: CycleContext) -> list[str]:
    """The periods a compute run produces and publishes: the reviewed year and the four before it, the pooled
    windows ending in them, and the reviewed year's months and quarters (compute_metric_values' history_years)."""
    years = [financial_year_label(ctx.financial_year - k) for k in range(SERIES_YEARS - 1, -1, -1)]
    months = [(pd.Timestamp(ctx.year_start) + pd.DateOffset(months=i)).strftime("%Y-%m") for i in range(12)]
    quarters = [f"{ctx.year_label} Q{q}" for q in range(1, 5)]
    pooled = [pooled_label(financial_year_label(ctx.financial_year - k - 2), financial_year_label(ctx.financial_year - k))
              for k in range(SERIES_YEARS)]
    return years + months + quarters + pooled


def read_year_values(ctx: CycleContext) -> pd.DataFrame:
    """The stored metric values of the reviewed year and the four before it (for change and charts), and the
    reviewed year's monthly and quarterly breakdowns, with titles."""
    with session_scope(ctx.database_url) as session:
        values = repository.read_metric_values(session, ctx.partnership_id, recomputed_periods(ctx))
    titles = {m.id: m.title for m in ctx.config.metrics.metrics}
    return values.assign(title=values["metric_id"].map(titles))


@task(name="publish-measures", cache_policy=NO_CACHE)
def publish_measures(ctx: CycleContext, not_computed: list[dict]) -> PublishedOutputs:
    """Apply the disclosure policy and write the published measures CSV, the list of measures not computed (with
    why) and the HTML summary of the year. A measure not computed this year shows no figure at all: its values
    stored by earlier runs (e.g. before its dataset was blocked) are not carried into the publication."""
    values = read_year_values(ctx)
    values = values[~values["metric_id"].isin({m["metric_id"] for m in not_computed})]
    missing = pd.DataFrame(
        [{"measure": m["metric_id"], "title": m["title"], "headline": "yes" if m["headline"] else "no",
          "reason": m["reason"]} for m in not_computed],
        columns=NOT_COMPUTED_COLUMNS,
    ).sort_values(["headline", "measure"], ascending=[False, True])
    yearly = values["period"].map(lambda p: all(is_financial_year_label(part) for part in p.split("-"))) & values[
        "area_type"].isin(PUBLISHED_AREA_TYPES)
    every_year = published_table_by_policy(
        values[yearly], ctx.config.partnership, ctx.config.metrics, restate_from_counts
    )
    # the published table carries the five-year series (a board reads a trend, not one year); the summary shows
    # the reviewed year
    table = every_year.sort_values(["measure", "area_code", "age_band", "financial_year"])
    year_table = table[table["financial_year"] == ctx.year_label]
    folder = outputs_folder(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    internal = folder / "internal"
    internal.mkdir(exist_ok=True)
    breakdowns = values[~yearly | (values["area_type"] == "lsoa")]
    # exact values, for the analyst only: never attached to a message or put in a package
    write_csv(breakdowns.drop(columns=["id", "flow_run_id", "computed_at"], errors="ignore").sort_values(
        ["metric_id", "period", "area_code"]
    ), internal / "breakdowns-exact-values.csv")
    # a chart drawn from the same figures by the same code is kept (internal/charts/ records what each was drawn from)
    charts = draw_trend_charts(ctx, every_year, folder / "charts", internal / "charts")
    charts.update(draw_funnel_charts(ctx, values, folder / "charts", internal / "charts"))
    csv_path = folder / MEASURES_CSV
    write_csv(table, csv_path)
    write_workbook(table, folder / MEASURES_XLSX, notes_rows(
        ctx.config.metrics, f"{ctx.config.partnership.name}: serious violence measures, five years to {ctx.year_label}"))
    missing_path = folder / NOT_COMPUTED_CSV
    write_csv(missing, missing_path)
    html_path = folder / SUMMARY_HTML
    html_path.write_text(
        summary_html(
            year_table,
            title="Serious Violence Duty: measures for the annual review",
            partnership=ctx.config.partnership.name,
            financial_year=ctx.year_label,
            demo=ctx.config.partnership.demo,
            policy=ctx.config.metrics.disclosure,
            policies={
                m.id: ctx.config.metrics.policy_for(m.id).name
                for m in ctx.config.metrics.metrics
                if ctx.config.metrics.policy_for(m.id) is not ctx.config.metrics.disclosure
            },
            headline_ids={m.id for m in ctx.config.metrics.metrics if m.headline},
            not_computed=missing.to_dict("records"),
            part_year=part_year_lines(year_table, ctx.year_label),
            charts={
                measure: [f"charts/{path.name}" for key, path in sorted(charts.items()) if key.split(":")[0] == measure]
                for measure in {key.split(":")[0] for key in charts}
            },
        ),
        encoding="utf-8",
    )
    used_files = {int(i) for ids in values["raw_file_ids"] if isinstance(ids, list) for i in ids}
    report, pdf, pdf_note = write_report(ctx, every_year, missing.to_dict("records"), folder, used_files)
    outputs = PublishedOutputs(
        table=table.reset_index(drop=True), measures_csv=csv_path, summary_html=html_path, charts=charts,
        not_computed=missing.reset_index(drop=True), not_computed_csv=missing_path,
        report_html=report, report_pdf=pdf, report_note=pdf_note,
    )
    write_index(outputs)
    return outputs


def draw_funnel_charts(ctx: CycleContext, values: pd.DataFrame, folder: Path, records: Path | None = None,
                       ) -> dict[str, Path]:
    """A funnel plot per metric broken down by LSOA: every LSOA's rate against its population inside Poisson
    control limits. LSOAs with too few records for a published rate are left off the plot (they still count in
    the limits); only LSOAs outside the 99.8% limits are labelled."""
    charts = {}
    lsoa = values[(values["area_type"] == "lsoa") & (values["period"] == ctx.year_label) & values["denominator"].notna()]
    for measure, rows in lsoa.groupby("metric_id"):
        if len(rows) < 3 or not ctx.config.metrics.policy_for(measure).exact:
            # LSOA points are exact counts and their limits rest on the exact total: only a source that already
            # publishes exact counts by LSOA (data.police.uk) may be plotted; a hidden LSOA would be its
            # authority's total minus the LSOAs shown
            continue
        counts, rates, populations = rows["numerator"].tolist(), rows["value"].tolist(), rows["denominator"].tolist()
        limits = funnel_limits_for_rates(counts, rates, int(rows["multiplier"].iloc[0]), denominators=populations)
        verdicts = funnel_significance_for_rates(counts, rates, int(rows["multiplier"].iloc[0]), denominators=populations)
        shown = rows.assign(verdict=verdicts)
        shown = shown[shown["numerator"] >= ctx.config.metrics.policy_for(measure).min_count_for_rate]
        # name only the few highest outliers: with a hundred LSOAs, more labels hide the picture
        flagged = shown[shown["verdict"] == "High (0.001)"].nlargest(FUNNEL_LABELS, "value")["area_code"]
        points = pd.DataFrame(
            {
                "area_name": [
                    ctx.config.partnership.area_name(code) if code in set(flagged) else "" for code in shown["area_code"]
                ],
                "count": shown["numerator"],
                "denominator": shown["denominator"],
                "value": shown["value"],
            }
        )
        title = f"{rows['title'].iloc[0]}, {ctx.year_label}: LSOAs"
        name = f"{measure}-lsoa-funnel.png"
        charts[f"{measure}:lsoa-funnel"] = funnel_chart(points, limits, title, folder / name,
                                                        record=records / f"{name}.json" if records else None)
    return charts


def draw_trend_charts(ctx: CycleContext, published: pd.DataFrame, folder: Path, records: Path | None = None,
                      ) -> dict[str, Path]:
    """A trend chart per measure of the partnership's all-ages rate with its 95% band, drawn from the PUBLISHED
    values only, so a chart never shows a rate the disclosure policy hides."""
    charts = {}
    area = ctx.partnership_id
    for measure, rows in published[(published["area_code"] == area) & (published["age_band"] == "all")].groupby(
        "measure"
    ):
        years = rows.sort_values("financial_year")
        if (years["value"] != "").sum() < 2:
            continue

        def number(column: str) -> pd.Series:
            # a year whose rate is not published stays on the axis as a gap, never bridged by the line
            return pd.to_numeric(years[column].replace("", None), errors="coerce")

        series = pd.DataFrame(
            {
                "period": years["financial_year"],
                "value": number("value"),
                "lower": number("lower_ci_95"),
                "upper": number("upper_ci_95"),
            }
        )
        name = ctx.config.partnership.name
        demo = ctx.config.partnership.demo and "demo" not in name.lower()
        title = f"{rows['title'].iloc[0]}\n{name}" + (" (DEMO)" if demo else "")
        units = [u for u in rows.get("value_unit", pd.Series(dtype=object)).fillna("") if u and u != COUNT_UNIT]
        charts[measure] = trend_chart(series, title, folder / f"{measure}.png",
                                      y_label=value_label(units[0] if units else ""),
                                      record=records / f"{measure}.png.json" if records else None)
    return charts
