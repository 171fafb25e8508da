"""The package's documents for a reviewer: cover note, definitions, data-quality statement and the Excel notes."""

from __future__ import annotations

import datetime as dt
import subprocess
from functools import lru_cache
from importlib import metadata

import pandas as pd
from sqlalchemy import func, select

from tasks.shared.calendar import deadline_rows
from tasks.shared.checks import completeness
from tasks.shared.completeness import ARRIVED, NOT_YET_DUE, months_of_file
from tasks.shared.config import DisclosurePolicy, MetricDefinition, PartnershipConfig
from tasks.shared.context import CycleContext
from tasks.shared.periods import financial_year_label
from tasks.shared.rendering import template_environment
from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.storage.models import QuarantineEntry, RawFile, ValidationResult
from tasks.shared.storage.session import session_scope

STAGE_PACKAGE = "tasks.submit"
COVER_NOTE = "cover-note.html"
DATA_QUALITY = "data-quality.md"
DEFINITIONS = "definitions.md"
NOT_COMPUTED = "measures-not-computed.csv"
SERIES_YEARS = 5  # the reviewed year and the four before it: the trend charts' and baselines' years (compute stage)
MAX_LISTED_FAILURES = 100  # a statement a person reads; the validate stage's quality report holds every failure


@lru_cache(maxsize=1)
def software_version() -> dict[str, str | None]:
    """Which software built the package: the installed project's version and, when git can tell, its commit."""
    try:
        version = metadata.version("dutycycle")
    except metadata.PackageNotFoundError:
        version = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None  # an installed copy without git still builds packages
    return {"name": "dutycycle", "version": version, "git_commit": commit}


def series_years(ctx: CycleContext) -> list[str]:
    return [financial_year_label(ctx.financial_year - k) for k in range(SERIES_YEARS - 1, -1, -1)]


def policy_in_words(policy: DisclosurePolicy) -> str:
    """A disclosure policy as a reviewer reads it (a hidden count is published blank, `count_flag` saying why)."""
    if policy.as_published:
        return f"{policy.name}: figures carried exactly as their producer published them, never rounded again."
    rounding = "shown exactly" if policy.round_to == 1 else f"rounded to the nearest {policy.round_to}"
    hidden = (f"counts from {policy.suppress_from} to {policy.suppress_to} are left blank with `count_flag` "
              "'suppressed' (and, where a total would reveal them, another count beside them too); every other count "
              f"is {rounding}" if policy.suppress_to >= policy.suppress_from else f"every count is {rounding}")
    return (f"{policy.name}: {hidden}; rates, intervals and changes are worked out from the count as published, and "
            f"no rate is shown where that count is under {policy.min_count_for_rate}.")


def _policies(config: PartnershipConfig, metric_ids: list[str]) -> list[tuple[DisclosurePolicy, list[str]]]:
    """Each policy in use by the published measures, with the measures that follow it."""
    used: list[tuple[DisclosurePolicy, list[str]]] = []
    for metric_id in metric_ids:
        policy = config.metrics.policy_for(metric_id)
        for known, ids in used:
            if known is policy:
                ids.append(metric_id)
                break
        else:
            used.append((policy, [metric_id]))
    return used or [(config.metrics.disclosure, [])]


def disclosure_lines(config: PartnershipConfig, metric_ids: list[str]) -> list[str]:
    policies = _policies(config, metric_ids)
    if len(policies) == 1:
        return [policy_in_words(policies[0][0]) + " It applies to every figure in this package."]
    return [f"{policy_in_words(p)} Measures: {', '.join(ids)}." for p, ids in policies]


def mark_lines(config: PartnershipConfig, metric_ids: list[str]) -> list[str]:
    """What a '*' and a blank cell mean in the measures."""
    lines = [f"A blank `count` with `count_flag` 'suppressed': a small count ({p.suppress_from}-{p.suppress_to}) "
             f"hidden under {p.name}, or a larger count hidden so that a total cannot reveal a small one."
             for p, _ in _policies(config, metric_ids) if p.suppress_to >= p.suppress_from and not p.as_published]
    lines += [
        "A blank rate or confidence interval: the rate is not shown, because its count is hidden or too small for a "
        "reliable rate (the `note` column says so), or the measure is a count only.",
        "A blank change, baseline comparison or trend: one of the years compared has no rate shown, or there are "
        "too few years for it.",
        "A measure missing altogether: it could not be computed for the year (see `measures-not-computed.csv`).",
    ]
    return lines


def _definition_rows(ctx: CycleContext, metric_ids: list[str]) -> list[dict]:
    config = ctx.config
    in_force = {m.id: m for m in config.metrics.in_force(ctx.year_end)}
    rows = []
    for metric_id in metric_ids:
        m: MetricDefinition | None = in_force.get(metric_id)
        if m is None:
            continue
        sources = [s for s in config.sources if s.dataset == m.numerator.dataset]
        denominator = population = "none"
        if m.denominator is not None:
            band = m.denominator.age_band
            denominator = "ONS mid-year population estimate of the member authorities" + (
                f", {config.metrics.age_bands[band].label.lower()}" if band else ", in the same age band as the count")
            if m.statistic == "dsr":
                denominator += f", summed into the standard bands {', '.join(m.dsr_bands)}"
            denominator = m.counted_denominator_words or denominator
            population = "none (the denominator is a count of the source)" if m.statistic == "proportion" else (
                          "the mid-year estimate of the calendar year the financial year starts in (mid-2022 for "
                          "2022/23); the latest earlier one, with a note, when it is not yet published")
        rows.append({
            "id": m.id, "version": m.version, "valid_from": m.valid_from.isoformat(), "title": m.title,
            "headline": m.headline, "description": m.description,
            "numerator_dataset": m.numerator.dataset,
            "numerator_measures": ", ".join(f"`{x}`" for x in m.numerator.measures),
            "sources": "; ".join(f"{s.title} ({s.kind}, owner {s.owner}{', SYNTHETIC' if s.synthetic else ''})"
                                 for s in sources) or "no configured source",
            "denominator": denominator, "population_year": population,
            "age_bands": ", ".join(config.metrics.age_bands[b].label for b in m.age_bands),
            "statistic": m.statistic_words,
            "interval": m.interval_words,
            "policy": config.metrics.policy_for(m.id).name,
        })
    return rows


def definitions_md(ctx: CycleContext, metric_ids: list[str]) -> str:
    """The definitions of the published measures, as loaded from config/metrics.yaml, in words."""
    return template_environment(STAGE_PACKAGE).get_template("definitions.md").render(
        partnership=ctx.config.partnership, financial_year=ctx.year_label, series_years=series_years(ctx),
        measures=_definition_rows(ctx, metric_ids),
        symbols=sorted({p.suppressed_symbol for p, _ in _policies(ctx.config, metric_ids)}),
        marks=mark_lines(ctx.config, metric_ids),
    )


def xlsx_notes(ctx: CycleContext, metric_ids: list[str], raw_files: list[dict]) -> list[list[str]]:
    """The Excel file's notes sheet: definitions, what the marks mean, disclosure and the sources used."""
    notes = [["section", "item", "text"]]
    for row in _definition_rows(ctx, metric_ids):
        for key in ("title", "version", "sources", "denominator", "population_year", "statistic", "interval", "policy"):
            notes.append(["definition", f"{row['id']}: {key}", str(row[key])])
    notes += [["marks", "", line.replace("`", "")] for line in mark_lines(ctx.config, metric_ids)]
    notes += [["disclosure", "", line] for line in disclosure_lines(ctx.config, metric_ids)]
    notes += [["raw file", f"{f['source']}: {f['file']}", f"sha256 {f['sha256']}, received {f['received_at']}"]
              for f in raw_files]
    return notes


def _year_months(ctx: CycleContext) -> frozenset[str]:
    return frozenset((pd.Timestamp(ctx.year_start) + pd.DateOffset(months=i)).strftime("%Y-%m") for i in range(12))


def data_quality_md(ctx: CycleContext, raw_checksums: list[str], not_computed: list[str],
                    today: dt.date | None = None) -> str:
    """What was checked for the year, what failed or warned, what was quarantined and what is missing, from the
    stored validation results, quarantine and completeness (the package's own check runs after it is built)."""
    months = _year_months(ctx)
    with session_scope(ctx.database_url) as session:
        results = session.execute(
            select(ValidationResult.stage, ValidationResult.dataset, ValidationResult.suite, ValidationResult.subject,
                   ValidationResult.severity, ValidationResult.success, ValidationResult.description,
                   ValidationResult.unexpected_count)
            .where(ValidationResult.partnership == ctx.partnership_id,
                   ValidationResult.financial_year == ctx.year_label, ValidationResult.stage != "submit")
        ).all()
        refused = session.execute(
            select(RawFile.source_id, RawFile.original_name, RawFile.period, RawFile.status_reason)
            .where(RawFile.partnership == ctx.partnership_id, RawFile.status == "quarantined")
            .order_by(RawFile.source_id, RawFile.original_name)
        ).all()
        dropped = session.execute(
            select(RawFile.source_id, RawFile.original_name, func.count(QuarantineEntry.id))
            .join(QuarantineEntry, QuarantineEntry.raw_file_id == RawFile.id)
            .where(RawFile.partnership == ctx.partnership_id, RawFile.sha256.in_(raw_checksums))
            .group_by(RawFile.source_id, RawFile.original_name).order_by(RawFile.source_id, RawFile.original_name)
        ).all()
    frame = pd.DataFrame(results, columns=["stage", "dataset", "suite", "subject", "severity", "success",
                                           "description", "unexpected_count"])
    suites = []
    for (stage, dataset, suite), rows in frame.groupby(["stage", "dataset", "suite"], sort=True):
        failed = rows[~rows["success"].astype(bool)]
        suites.append({"stage": stage, "dataset": dataset, "suite": suite, "subjects": rows["subject"].nunique(),
                       "rules": len(rows), "critical": int((failed["severity"] == "critical").sum()),
                       "warnings": int((failed["severity"] != "critical").sum())})
    failed = frame[~frame["success"].astype(bool)].sort_values(["stage", "suite", "subject", "description"])
    failures = [f"{r.severity}: {r.subject}: {r.description}"
                + (f" ({r.unexpected_count} value(s))" if r.unexpected_count else "")
                for r in failed.itertuples(index=False)]
    table = completeness(ctx, today)
    missing = [f"{r.source} {r.period} (due {r.due}): {r.status}" for r in table.itertuples(index=False)
               if r.status not in (ARRIVED, NOT_YET_DUE)]

    def in_year(period: str | None) -> bool:
        covered = months_of_file(period, ctx.year_start)
        return covered is None or bool(covered & months)

    return template_environment(STAGE_PACKAGE).get_template("data_quality.md").render(
        partnership=ctx.config.partnership, financial_year=ctx.year_label, suites=suites,
        failures=failures[:MAX_LISTED_FAILURES], more_failures=max(0, len(failures) - MAX_LISTED_FAILURES),
        quarantined_files=[f"{r.source_id}: {r.original_name} ({r.status_reason or 'no reason recorded'})"
                           for r in refused if in_year(r.period)],
        quarantined_rows=[f"{source}: {name}: {count} row(s)" for source, name, count in dropped],
        missing=missing, not_computed=not_computed,
    )


def annual_deadline(ctx: CycleContext, deadline_id: str) -> dict:
    """The deadline the package answers, dated for the year (bank holidays applied)."""
    for row in deadline_rows(ctx.config.deadlines, ctx.partnership_id, ctx.year_start):
        if row["deadline_id"] == deadline_id and row["period"] == ctx.year_label:
            return {"id": deadline_id, "title": row["title"], "due": row["due_date"].isoformat(),
                    "recipient": row["recipient"], "legal_basis": row["legal_basis"]}
    deadline = ctx.config.deadlines.deadline(deadline_id)
    return {"id": deadline_id, "title": deadline.title, "due": "not dated for this year",
            "recipient": deadline.submitted_to, "legal_basis": deadline.legal_basis}


def cover_note_html(ctx: CycleContext, deadline: dict, contents: list[tuple[str, str]], metric_ids: list[str],
                    not_computed: list[str], synthetic_files: int) -> str:
    """The cover note: who sends what to whom for which deadline and year, what is inside, what the figures are
    and are not, the disclosure policy in words and whom to contact; demonstration data flagged first."""
    partnership = ctx.config.partnership
    reasons = []
    if partnership.demo:
        reasons.append("the partnership is configured as a demonstration")
    if synthetic_files:
        reasons.append(f"{synthetic_files} of the raw files used are marked synthetic")
    return template_environment(STAGE_PACKAGE).get_template("cover_note.html").render(
        partnership=partnership, contact=partnership.contact, deadline=deadline, financial_year=ctx.year_label,
        series_years=series_years(ctx), contents=contents, synthetic=bool(reasons), synthetic_reason="; ".join(reasons),
        authorities=", ".join(la.name for la in partnership.local_authorities), not_computed=not_computed,
        disclosure=disclosure_lines(ctx.config, metric_ids),
    )


REPORT_WORDS = {
    "report.html": "the annual review report for the board: key messages, each measure's five years with its chart, "
                   "data quality, definitions and methods (self-contained: open it in a browser)",
    "report.pdf": "the same report printed to A4 with page numbers",
}


def package_documents(ctx: CycleContext, published: pd.DataFrame, not_computed: pd.DataFrame, provenance: dict,
                      deadline_id: str, chart_names: list[str],
                      report_names: tuple[str, ...] | list[str] = ()) -> tuple[dict[str, bytes], list[list[str]]]:
    """The cover note, definitions and data-quality statement of a package, and its Excel notes sheet."""
    metric_ids = sorted(set(published["measure"])) if "measure" in published else []
    missing = [f"{r['title']}: {r['reason']}" for r in not_computed.to_dict("records")] if len(not_computed) else []
    raw_files = provenance.get("raw_files", [])
    contents = [
        (COVER_NOTE, "this note"),
        *[(name, REPORT_WORDS[name]) for name in report_names],
        ("summary.html", "the summary: the measures of the year with their trend and funnel charts"),
        ("measures.csv", "the published measures, one row per measure, area and age band (disclosure applied)"),
        ("measures.xlsx", "the same measures as an Excel workbook, with a notes sheet (definitions, marks, sources)"),
        (DEFINITIONS, "the definition and version of every measure, its source, statistic and interval method"),
        (DATA_QUALITY, "what was checked, what failed or warned, what was quarantined and what is missing"),
        (NOT_COMPUTED, "the measures that could not be computed for the year, and why (empty when all were)"),
        ("charts/", f"{len(chart_names)} chart(s) shown in the report"),
        ("manifest.json", f"every member's checksum, the {len(raw_files)} raw files every figure rests on (all "
                          "years of the series), the software version, the build time and the identity checksum"),
        ("approval.json", "added once the package is approved: who approved it, in what role, and when"),
    ]
    documents = {
        COVER_NOTE: cover_note_html(
            ctx, annual_deadline(ctx, deadline_id), contents, metric_ids, [m.split(":")[0] for m in missing],
            sum(1 for f in raw_files if f.get("synthetic")),
        ).encode("utf-8"),
        DEFINITIONS: definitions_md(ctx, metric_ids).encode("utf-8"),
        DATA_QUALITY: data_quality_md(ctx, [f["sha256"] for f in raw_files], missing).encode("utf-8"),
    }
    return documents, xlsx_notes(ctx, metric_ids, raw_files)
