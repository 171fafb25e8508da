"""The checks register shared by every stage: suite outcomes and other checks stored against the year, what they
block, and the completeness of each source's expected periods."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import or_, select

from tasks.shared.completeness import completeness_table, covers
from tasks.shared.context import CycleContext
from tasks.shared.storage import repository
from tasks.shared.storage.models import RawFile, ValidationResult
from tasks.shared.storage.session import session_scope
from tasks.shared.suites import SuiteOutcome, validate_frame


def completeness(ctx: CycleContext, today: dt.date | None = None) -> pd.DataFrame:
    """Every period each source owes for the year, and whether it arrived, is partial, quarantined or overdue."""
    with session_scope(ctx.database_url) as session:
        files = repository.file_register(session, ctx.partnership_id)
    return completeness_table(ctx.config, ctx.year_start, files, today or dt.date.today())


def check_and_record(
    ctx: CycleContext,
    frame: pd.DataFrame,
    suite: str,
    *,
    stage: str,
    dataset: str,
    subject: str,
    parameters: dict | None = None,
) -> SuiteOutcome:
    """Run a suite on a frame and store the outcome of every rule against the year and stage."""
    outcome = validate_frame(frame, suite, expectations_dir=ctx.settings.expectations_dir, parameters=parameters)
    return record_outcome(ctx, outcome, suite, stage=stage, dataset=dataset, subject=subject)


def record_outcome(ctx: CycleContext, outcome: SuiteOutcome, suite: str, *, stage: str, dataset: str,
                   subject: str) -> SuiteOutcome:
    """Store the outcome of every rule of a suite run against the year and stage."""
    with session_scope(ctx.database_url) as session:
        repository.save_validation_results(
            session,
            partnership=ctx.partnership_id,
            financial_year=ctx.year_label,
            stage=stage,
            dataset=dataset,
            suite=suite,
            subject=subject,
            raw_file_id=None,
            records=outcome.as_records(),
            flow_run_id=ctx.flow_run_id,
        )
    return outcome


def blocked_datasets(ctx: CycleContext) -> frozenset[str]:
    """Datasets with a failed critical check in the reviewed year: compute leaves them out. A file replaced by a
    corrected one no longer blocks, and neither does a refused correction: a quarantined file whose months a loaded
    file of the same source covers (the good file stays in force)."""
    with session_scope(ctx.database_url) as session:
        failed = session.execute(
            select(ValidationResult.dataset, RawFile.id, RawFile.source_id, RawFile.period)
            .outerjoin(RawFile, RawFile.id == ValidationResult.raw_file_id)
            .where(
                ValidationResult.partnership == ctx.partnership_id,
                ValidationResult.financial_year == ctx.year_label,
                ValidationResult.severity == "critical",
                ValidationResult.success.is_(False),
                or_(RawFile.id.is_(None), RawFile.status.not_in(["superseded", "expanded"])),
            )
            .distinct()
        ).all()
        loaded = session.execute(
            select(RawFile.source_id, RawFile.period).where(
                RawFile.partnership == ctx.partnership_id, RawFile.status == "loaded"
            )
        ).all()
    blocked = set()
    for dataset, file_id, source_id, period in failed:
        covered = file_id is not None and any(
            source == source_id and covers(good, period, ctx.year_start) for source, good in loaded
        )
        if not covered:
            blocked.add(dataset)
    return frozenset(blocked)


def record_check(ctx: CycleContext, *, stage: str, dataset: str, suite: str, subject: str, record: dict) -> None:
    """Store the outcome of one check that is not a suite rule (collapses, plausibility) beside the suites'."""
    with session_scope(ctx.database_url) as session:
        repository.save_validation_results(
            session, partnership=ctx.partnership_id, financial_year=ctx.year_label, stage=stage, dataset=dataset,
            suite=suite, subject=subject, raw_file_id=None, records=[record], flow_run_id=ctx.flow_run_id,
        )
