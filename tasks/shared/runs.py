"""The runs register: one row per partnership, year and stage, updated by every run of that stage."""

from __future__ import annotations

from typing import Any

from prefect.runtime import flow_run

from tasks.context import CycleContext, open_cycle
from tasks.storage import repository
from tasks.storage.session import session_scope


def start_stage(stage: str, partnership: str, financial_year: str) -> CycleContext:
    """Load the cycle's context and mark the stage as running."""
    ctx = open_cycle(partnership, financial_year, flow_run_id=str(flow_run.id) if flow_run.id else None)
    with session_scope(ctx.database_url) as session:
        repository.record_run(session, ctx.partnership_id, ctx.year_label, stage, "running", ctx.flow_run_id)
    return ctx


def finish_stage(ctx: CycleContext, stage: str, status: str, summary: dict[str, Any]) -> None:
    """Mark the stage finished with its outcome (completed, completed with warnings, failed)."""
    with session_scope(ctx.database_url) as session:
        repository.record_run(
            session, ctx.partnership_id, ctx.year_label, stage, status, ctx.flow_run_id, summary=summary, finished=True
        )
