"""Submit: record the year's deadlines, build and check the package, store it, record it against its deadline."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from tasks.shared.calendar import deadline_rows
from tasks.shared.checks import check_and_record
from tasks.shared.context import CycleContext
from tasks.shared.disclosure import published_count_pattern
from tasks.shared.geography import ENGLAND
from tasks.shared.outbox import queue_messages
from tasks.shared.published import NOT_COMPUTED_CSV, PublishedOutputs
from tasks.shared.storage import repository
from tasks.shared.storage.models import MetricValue, RawFile
from tasks.shared.storage.session import session_scope
from tasks.shared.suites import SuiteOutcome
from tasks.submit.documents import package_documents, series_years, software_version
from tasks.submit.messages import submission_receipt_messages
from tasks.submit.package import Package, build_package, utc_timestamp
from tasks.submit.store import store_package

PACKAGE_SUITE = "submission_package.published"
ANNUAL_REVIEW = "annual_review"


@dataclass(frozen=True)
class SubmissionRecord:
    """A package recorded against its deadline (``created`` is False when the same package was already there)."""

    deadline_id: str
    deadline_title: str
    due_date: str
    package_path: str
    package_sha256: str
    created: bool
    validation: SuiteOutcome


@task(name="record-deadlines", cache_policy=NO_CACHE)
def record_deadlines(ctx: CycleContext) -> list[dict]:
    """Write the year's dated deadlines (bank holidays applied) to the deadlines table."""
    rows = deadline_rows(ctx.config.deadlines, ctx.partnership_id, ctx.year_start)
    with session_scope(ctx.database_url) as session:
        repository.upsert_deadlines(session, rows)
    return rows


def provenance(ctx: CycleContext) -> dict:
    """What the package's figures rest on: definition versions, disclosure policies, the software, and every raw
    file used by any figure of any year of the series (the trend charts and baselines use five years, not one)."""
    years = series_years(ctx)
    in_force = {(m.id, m.version) for m in ctx.config.metrics.in_force(ctx.year_end)}
    with session_scope(ctx.database_url) as session:
        values = session.execute(
            select(MetricValue.metric_id, MetricValue.metric_version, MetricValue.period,
                   MetricValue.raw_file_ids).where(
                MetricValue.partnership == ctx.partnership_id, MetricValue.period.in_(years)
            )
        ).all()
        # the series is computed with the definitions in force for the reviewed year; other versions are not shown
        values = [v for v in values if (v.metric_id, v.metric_version) in in_force]
        periods_of: dict[int, set[str]] = {}
        for v in values:
            for i in v.raw_file_ids or []:
                periods_of.setdefault(int(i), set()).add(v.period)
        files = session.execute(
            select(RawFile.id, RawFile.source_id, RawFile.original_name, RawFile.sha256, RawFile.synthetic,
                   RawFile.received_at, RawFile.period).where(RawFile.id.in_(sorted(periods_of)))
        ).all()
    return {
        "partnership": ctx.partnership_id,
        "financial_year": ctx.year_label,
        "series_years": years,
        "demo_synthetic_data": ctx.config.partnership.demo,
        "disclosure_policies": {
            "default": ctx.config.metrics.disclosure.model_dump(),
            **{name: p.model_dump() for name, p in ctx.config.metrics.disclosure_policies.items()},
        },
        "metric_definitions": sorted({f"{v.metric_id}@v{v.metric_version}" for v in values}),
        "software": software_version(),
        "raw_files": [
            {"source": f.source_id, "file": f.original_name, "sha256": f.sha256, "synthetic": f.synthetic,
             "period": f.period, "received_at": utc_timestamp(f.received_at.replace(tzinfo=f.received_at.tzinfo
                                                                                    or dt.UTC)),
             "used_for_years": sorted(periods_of[f.id])}
            for f in sorted(files, key=lambda f: (f.source_id, f.original_name, f.sha256))
        ],
    }


def check_package(ctx: CycleContext, package: Package) -> SuiteOutcome:
    """Read the measures CSV back out of the package and run the published-package suite on it."""
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        frame = pd.read_csv(archive.open("measures.csv"), dtype=str, keep_default_na=False)
    partnership = ctx.config.partnership
    return check_and_record(
        ctx,
        frame,
        PACKAGE_SUITE,
        stage="submit",
        dataset="submission_package",
        subject=f"submission package {ctx.year_label}",
        parameters={
            "area_codes": [*partnership.local_authority_codes, partnership.id, ENGLAND],
            # a count must match the pattern of one of the policies in use (each metric follows its own)
            "published_count_regex": "|".join(
                f"(?:{published_count_pattern(p)})" for p in ctx.config.metrics.policies_in_use
            ),
        },
    )


@task(name="build-submission", cache_policy=NO_CACHE)
def build_submission(ctx: CycleContext, outputs: PublishedOutputs) -> SubmissionRecord | None:
    """Build the annual-review package, check it, store it by checksum and record it once against its deadline;
    None (no package) when no measure could be computed for the year: an empty return would read as 'no violence'."""
    if outputs.table.empty:
        return None
    charts = {f"charts/{path.name}": path.read_bytes() for path in sorted(outputs.charts.values())}
    if outputs.not_computed_csv.is_file():
        charts[NOT_COMPUTED_CSV] = outputs.not_computed_csv.read_bytes()
    deadline = next(d for d in ctx.config.deadlines.deadlines if d.delivers == ANNUAL_REVIEW)
    manifest = {**provenance(ctx), "deadline": deadline.id}
    documents, notes = package_documents(ctx, outputs.table, outputs.not_computed, manifest, deadline.id,
                                         [n for n in charts if n.startswith("charts/")])
    package = build_package(outputs.table, outputs.summary_html.read_text(encoding="utf-8"), manifest,
                            extra_files=charts, documents=documents, xlsx_notes=notes)
    validation = check_package(ctx, package)
    if validation.blocking:
        raise ValueError(
            "the submission package failed its checks and was not recorded: "
            + "; ".join(o.description for o in validation.failed_critical)
        )
    stored = store_package(ctx, package, deadline.id)
    with session_scope(ctx.database_url) as session:
        row = repository.deadline_row(session, ctx.partnership_id, deadline.id, ctx.year_label)
        if row is None:
            raise LookupError(f"deadline {deadline.id} for {ctx.year_label} is not recorded; run record_deadlines first")
        submission, created = repository.record_submission(
            session,
            {
                "partnership": ctx.partnership_id,
                "financial_year": ctx.year_label,
                "deadline_row_id": row.id,
                "package_sha256": package.sha256,
                "package_path": str(stored.path),
                "measures_rows": len(outputs.table),
                "validation_status": validation.status,
                "status": "awaiting sign-off",
                "flow_run_id": ctx.flow_run_id,
            },
        )
        due = row.due_date.isoformat()
    return SubmissionRecord(
        deadline_id=deadline.id,
        deadline_title=deadline.title,
        due_date=due,
        package_path=str(stored.path),
        package_sha256=package.sha256,
        created=created,
        validation=validation,
    )


def announce_submission(ctx: CycleContext, record: SubmissionRecord | None) -> int:
    """Queue the receipt of a newly recorded package for the board and analysts (a known package, or none: nothing)."""
    if record is None or not record.created:
        return 0
    return queue_messages(
        ctx,
        submission_receipt_messages(
            ctx.config, ctx.year_label, record.deadline_title, record.due_date, record.package_sha256,
            record.package_path,
        ),
    )
