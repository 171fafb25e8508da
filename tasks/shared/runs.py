"""The runs register: one row per partnership, year and stage, updated by every run of that stage."""

from __future__ import annotations

from typing import NoReturn

from prefect.runtime import flow_run

from tasks.shared.artifacts import StageReport, publish_report
from tasks.shared.context import CycleContext, open_cycle
from tasks.shared.storage import repository
from tasks.shared.storage.session import session_scope


def start_stage(stage: str, partnership: str, financial_year: str) -> CycleContext:
    """Load the cycle's context and mark the stage as running."""
    ctx = open_cycle(partnership, financial_year, flow_run_id=str(flow_run.id) if flow_run.id else None)
    with session_scope(ctx.database_url) as session:
        repository.record_run(session, ctx.partnership_id, ctx.year_label, stage, "running", ctx.flow_run_id)
    return ctx


class StageFailed(ValueError):
    """A stage stopped because its own checks failed; the runs register says so."""


def fail_stage(ctx: CycleContext, stage: str, summary: dict, reason: str) -> NoReturn:
    """Mark the stage failed with what failed, and stop it."""
    with session_scope(ctx.database_url) as session:
        repository.record_run(
            session, ctx.partnership_id, ctx.year_label, stage, "failed", ctx.flow_run_id, summary=summary, finished=True
        )
    raise StageFailed(reason)


def finish_stage(ctx: CycleContext, stage: str, report: StageReport) -> dict:
    """Publish the stage's report as Prefect artifacts, mark the stage finished with its outcome (completed,
    completed with warnings, failed) and return what the stage flow returns to the cycle: its status and summary."""
    publish_report(ctx.partnership_id, stage, report)
    with session_scope(ctx.database_url) as session:
        repository.record_run(
            session, ctx.partnership_id, ctx.year_label, stage, report.status, ctx.flow_run_id,
            summary=report.summary, finished=True,
        )
    print(f"{stage}: {report.status} {report.summary}")
    return {"status": report.status, **report.summary}
