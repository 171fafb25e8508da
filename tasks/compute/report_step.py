"""Compute's board report step: gather what the report states besides the measures (quality, completeness,
extract dates, commentary) from the database and config, then write report.html and report.pdf."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select

from tasks.compute.board_report import ReportFacts, report_html, write_pdf
from tasks.shared.checks import completeness
from tasks.shared.completeness import ARRIVED
from tasks.shared.context import CycleContext
from tasks.shared.published import REPORT_HTML, REPORT_PDF, REPORT_PDF_RECORD
from tasks.shared.storage import repository
from tasks.shared.storage.models import RawFile, ValidationResult
from tasks.shared.storage.session import session_scope

LONDON = ZoneInfo("Europe/London")


def software_version() -> str:
    try:
        return version("dutycycle")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


def commentary_path(ctx: CycleContext) -> Path:
    """Where a partnership keeps its own commentary on a year: config/partnerships/<id>/commentary/<yyyy-yy>.md."""
    return (ctx.settings.config_dir / "partnerships" / ctx.partnership_id / "commentary"
            / f"{ctx.year_label.replace('/', '-')}.md")


def figures_date(received: pd.Series, today: dt.date | None = None) -> dt.date:
    """The date of the figures: the day (London) the latest raw file behind them was received. Printed as the
    report's date so that the same figures render the same bytes on any later day (the package keeps its
    identity); only a new file changes it. Today only when no file is stored at all."""
    received = received.dropna()
    if received.empty:
        return today or dt.datetime.now(LONDON).date()
    latest = pd.Timestamp(received.max())
    latest = latest.tz_localize("UTC") if latest.tzinfo is None else latest  # stored as UTC without a zone
    return latest.tz_convert(LONDON).date()


def report_facts(
    ctx: CycleContext, today: dt.date | None = None, used_file_ids: set[int] | None = None
) -> ReportFacts:
    """The year's checks per dataset, each source's completeness and the extracts the figures use (the raw files
    ``used_file_ids``; every stored file when not given), and the commentary."""
    with session_scope(ctx.database_url) as session:
        results = pd.DataFrame(
            session.execute(
                select(ValidationResult.dataset, ValidationResult.severity, ValidationResult.success)
                .where(ValidationResult.partnership == ctx.partnership_id,
                       ValidationResult.financial_year == ctx.year_label,
                       # the package's own check runs after the report is written: counting it would make the
                       # second run's report (and so its package) differ from the first's
                       ValidationResult.stage != "submit")
            ).all(),
            columns=["dataset", "severity", "success"],
        )
        files = repository.file_register(session, ctx.partnership_id)
        stored = pd.DataFrame(
            session.execute(select(RawFile.id, RawFile.source_id, RawFile.period, RawFile.status, RawFile.received_at)
                            .where(RawFile.partnership == ctx.partnership_id)).all(),
            columns=["id", "source_id", "period", "status", "received_at"],
        )
    quarantined = {}
    by_source = {s.id: s for s in ctx.config.sources}
    for row in files[files["status"] == "quarantined"].itertuples(index=False):
        dataset = by_source[row.source_id].dataset if row.source_id in by_source else row.source_id
        quarantined[dataset] = quarantined.get(dataset, 0) + 1
    quality = []
    for dataset, rows in results.groupby("dataset"):
        failed = rows[~rows["success"].astype(bool)]
        quality.append({
            "dataset": dataset, "checks": len(rows), "passed": int(rows["success"].astype(bool).sum()),
            "warnings": int((failed["severity"] != "critical").sum()),
            "failures": int((failed["severity"] == "critical").sum()),
            "quarantined": quarantined.get(dataset, 0),
        })
    table = completeness(ctx, today)
    complete = []
    for (source, owner), rows in table.groupby(["source", "owner"], sort=False):
        missing = rows[rows["status"] != ARRIVED]
        complete.append({
            "source": by_source[source].title if source in by_source else source, "owner": owner,
            "expected": len(rows), "arrived": int((rows["status"] == ARRIVED).sum()),
            "missing": ", ".join(f"{r.period} ({r.status})" for r in missing.itertuples(index=False)),
        })
    used = stored[stored["id"].isin(sorted(used_file_ids))] if used_file_ids is not None else stored
    extracts = []
    for source in ctx.config.sources:
        # only the files behind the figures: a file of a later year must not change this year's report
        own = used[(used["source_id"] == source.id) & (used["status"] != "superseded")]
        periods = sorted(p for p in own["period"].dropna())
        received = own["received_at"].max() if not own.empty else None
        extracts.append({
            "title": source.title, "owner": source.owner, "latest_period": periods[-1] if periods else "none",
            "received": received.strftime("%Y-%m-%d") if received is not None and not pd.isna(received) else "none",
        })
    path = commentary_path(ctx)
    sources_of: dict[str, list[str]] = {}
    for source in ctx.config.sources:
        sources_of.setdefault(source.dataset, []).append(source.title)
    return ReportFacts(
        produced=figures_date(used["received_at"] if not used.empty else stored["received_at"], today),
        software_version=software_version(),
        extracts=extracts,
        quality=quality,
        completeness=complete,
        commentary=path.read_text(encoding="utf-8") if path.is_file() else None,
        sources_of=sources_of,
    )


def write_report(
    ctx: CycleContext, every_year: pd.DataFrame, not_computed: list[dict], folder: Path,
    used_file_ids: set[int] | None = None, today: dt.date | None = None,
) -> tuple[Path, Path | None, str | None]:
    """report.html, and report.pdf printed from it; the PDF is skipped (with the reason) when WeasyPrint cannot
    load, never failing the stage. Both are byte-identical for the same figures (the submission package carries
    them, and its identity must not change with the day it was rebuilt); so a PDF already printed from the same
    HTML (internal/report-pdf-source.json says so) is kept instead of printed again."""
    text = report_html(
        every_year, partnership=ctx.config.partnership, metrics=ctx.config.metrics, year=ctx.year_label,
        not_computed=not_computed, facts=report_facts(ctx, today, used_file_ids),
    )
    html_path = folder / REPORT_HTML
    html_path.write_text(text, encoding="utf-8")
    pdf_path = folder / REPORT_PDF
    record = folder / "internal" / REPORT_PDF_RECORD
    skipped = write_pdf(text, pdf_path, record)
    if skipped:
        pdf_path.unlink(missing_ok=True)  # never leave last year's PDF beside this year's HTML
        record.unlink(missing_ok=True)
        return html_path, None, skipped
    return html_path, pdf_path, None
