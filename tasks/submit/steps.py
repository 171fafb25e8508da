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
from tasks.shared.geography import BENCHMARKS
from tasks.shared.outbox import deliver_outbox, queue_messages
from tasks.shared.published import NOT_COMPUTED_CSV, PublishedOutputs
from tasks.shared.signoff import VIA_UI, AwaitedVersion, Decision, decision_for, wait_for_decision
from tasks.shared.storage import repository
from tasks.shared.storage.models import MetricValue, RawFile, Submission
from tasks.shared.storage.session import session_scope
from tasks.shared.suites import SuiteOutcome
from tasks.submit.audit import audit_table
from tasks.submit.documents import package_documents, series_years, software_version
from tasks.submit.handover import (
    KIND,
    DeliveryOutcome,
    HandoverError,
    apply_decision,
    approve_command,
    approvers_line,
    decide,
    deliver_approved,
)
from tasks.submit.messages import submission_receipt_messages
from tasks.submit.package import BOARD_REPORT_HTML, BOARD_REPORT_PDF, Package, build_package, utc_timestamp
from tasks.submit.store import store_package
from tasks.submit.submissions import AWAITING, HELD, SUPERSEDED, record_package

PACKAGE_SUITE = "submission_package.published"
ANNUAL_REVIEW = "annual_review"


@dataclass(frozen=True)
class SubmissionRecord:
    """A package recorded against its deadline (``created`` is False when the same package was already there)."""

    submission_id: int
    status: str  # tasks/submit/submissions.py: awaiting approval, held for resubmission, approved, ...
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
            "area_codes": [*partnership.local_authority_codes, partnership.id, *BENCHMARKS],
            # a count must match the pattern of one of the policies in use (each metric follows its own)
            "published_count_regex": "|".join(
                f"(?:{published_count_pattern(p)})" for p in ctx.config.metrics.policies_in_use
            ),
        },
    )


def report_files(outputs: PublishedOutputs) -> dict[str, bytes]:
    """The board's report as compute wrote it (report.html, and report.pdf where WeasyPrint could print it)."""
    found = {}
    for name, path in ((BOARD_REPORT_HTML, outputs.report_html), (BOARD_REPORT_PDF, outputs.report_pdf)):
        if path is not None and path.is_file():
            found[name] = path.read_bytes()
    return found


@task(name="build-submission", cache_policy=NO_CACHE)
def build_submission(ctx: CycleContext, outputs: PublishedOutputs) -> SubmissionRecord | None:
    """Build the annual-review package, check it, store it by checksum and record it once against its deadline as
    the deadline's one open submission (tasks/submit/submissions.py); None (no package) when no measure could be
    computed for the year: an empty return would read as 'no violence'."""
    if outputs.table.empty:
        return None
    charts = {f"charts/{path.name}": path.read_bytes() for path in sorted(outputs.charts.values())}
    if outputs.not_computed_csv.is_file():
        charts[NOT_COMPUTED_CSV] = outputs.not_computed_csv.read_bytes()
    deadline = next(d for d in ctx.config.deadlines.deadlines if d.delivers == ANNUAL_REVIEW)
    manifest = {**provenance(ctx), "deadline": deadline.id}
    reports = report_files(outputs)
    documents, notes = package_documents(ctx, outputs.table, outputs.not_computed, manifest, deadline.id,
                                         [n for n in charts if n.startswith("charts/")], sorted(reports))
    package = build_package(outputs.table, outputs.summary_html.read_text(encoding="utf-8"), manifest,
                            extra_files=charts, documents=documents, xlsx_notes=notes,
                            report_files=reports)
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
        submission, created = record_package(
            session,
            {
                "partnership": ctx.partnership_id,
                "financial_year": ctx.year_label,
                "deadline_row_id": row.id,
                "package_sha256": package.sha256,
                "package_path": str(stored.path),
                "measures_rows": len(outputs.table),
                "validation_status": validation.status,
                "status": AWAITING,
                "flow_run_id": ctx.flow_run_id,
            },
        )
        due = row.due_date.isoformat()
        submission_id, status = submission.id, submission.status
    return SubmissionRecord(
        submission_id=submission_id,
        status=status,
        deadline_id=deadline.id,
        deadline_title=deadline.title,
        due_date=due,
        package_path=str(stored.path),
        package_sha256=package.sha256,
        created=created,
        validation=validation,
    )


# ---------------------------------------------------------------- sign-off, delivery, receipt, audit


def obtain_sign_off(ctx: CycleContext, record: SubmissionRecord | None) -> Decision | None:
    """The decision on the recorded package: one already recorded on this version, else (on a Prefect server) the
    run pauses with the sign-off form until an allowed approver decides; None while it awaits approval."""
    if record is None:
        return None
    how = approve_command(record.submission_id, ctx.partnership_id)
    version = AwaitedVersion(
        kind=KIND, noun="submission", subject_id=record.submission_id, package_sha256=record.package_sha256,
        status=record.status, table=Submission, stage="submit", report_key="submission",
        pause_key=f"sign-off-{record.submission_id}-{record.package_sha256}", how=how, approvers=approvers_line(ctx),
        pending=f"submission {record.submission_id} awaits approval by {approvers_line(ctx)}: {how}",
        on_timeout=f"submission {record.submission_id} still awaits approval; {how}, then run submit again",
    )
    return wait_for_decision(
        ctx, version, lambda answer: decide(ctx, record.submission_id, answer, VIA_UI)[0],
        on_existing=lambda existing: apply_decision(ctx.database_url, record.submission_id, existing))


@task(name="deliver-submission", cache_policy=NO_CACHE)
def deliver_submission(ctx: CycleContext, record: SubmissionRecord | None,
                       decision: Decision | None) -> DeliveryOutcome | None:
    """Hand the approved version to its receiver exactly once (None when nothing is approved)."""
    if record is None or decision is None or not decision.approved:
        return None
    try:
        return deliver_approved(ctx, record.submission_id)
    except HandoverError as exc:
        return DeliveryOutcome(False, "", "", None, {}, str(exc))


def current_status(ctx: CycleContext, record: SubmissionRecord | None) -> str | None:
    if record is None:
        return None
    with session_scope(ctx.database_url) as session:
        return session.get(Submission, record.submission_id).status


def outcome_sentence(ctx: CycleContext, record: SubmissionRecord, status: str, decision: Decision | None,
                     delivery: DeliveryOutcome | None) -> str:
    """What happened to the package, in one or two sentences that promise nothing the code has not done."""
    if status == AWAITING:
        return (f"It awaits the decision of one of its approvers: {approvers_line(ctx)}. Nothing is sent before one "
                f"of them approves it (the Prefect UI's sign-off form of the waiting run, or "
                f"`{approve_command(record.submission_id, ctx.partnership_id)}`).")
    if status == HELD:
        return ("A package for this deadline was already approved or delivered, so this one is held and nothing is "
                f"sent: resubmit it explicitly with `dutycycle resubmit {record.submission_id} --reason '...'`.")
    if status == SUPERSEDED:
        return "A newer package replaced it before approval; nothing was sent."
    if decision is not None and not decision.approved:
        return f"It was {decision.sentence()}. Nothing was sent."
    if decision is not None and delivery is not None:
        return f"It was {decision.sentence()}, and {delivery.sentence()}."
    return f"It was {decision.sentence()}." if decision else status


@task(name="announce-submission", cache_policy=NO_CACHE)
def announce_submission(ctx: CycleContext, record: SubmissionRecord | None, outcome: str) -> int:
    """Queue the receipt of what happened to the package (the outbox sends each distinct receipt once)."""
    status = current_status(ctx, record)
    if record is None or status == SUPERSEDED:
        return 0
    return queue_messages.fn(
        ctx,
        submission_receipt_messages(
            ctx.config, ctx.year_label, record.deadline_title, record.due_date, record.package_sha256,
            record.package_path, status=status, outcome=outcome,
        ),
    )


@task(name="audit-submission", cache_policy=NO_CACHE)
def audit_submission(ctx: CycleContext, record: SubmissionRecord | None) -> pd.DataFrame:
    """Every submitted figure with its run, definition, raw files, checks and approver (empty without a package)."""
    return pd.DataFrame() if record is None else audit_table(ctx.database_url, record.submission_id)


def tell_outcome(ctx: CycleContext, submission_id: int, delivery: DeliveryOutcome | None) -> str:
    """After a decision taken at the terminal with no run waiting: queue and send the receipt saying what happened
    (the same message the stage sends); returns the outcome sentence."""
    with session_scope(ctx.database_url) as session:
        row = session.get(Submission, submission_id)
        deadline = repository.deadline_by_id(session, row.deadline_row_id)
        record = SubmissionRecord(
            submission_id=row.id, status=row.status, deadline_id=deadline.deadline_id, deadline_title=deadline.title,
            due_date=deadline.due_date.isoformat(), package_path=row.package_path, package_sha256=row.package_sha256,
            created=False, validation=None,  # type: ignore[arg-type]
        )
    decision = decision_for(ctx.database_url, KIND, submission_id, record.package_sha256)
    outcome = outcome_sentence(ctx, record, record.status, decision, delivery)
    announce_submission.fn(ctx, record, outcome)
    deliver_outbox.fn(ctx)
    return outcome
