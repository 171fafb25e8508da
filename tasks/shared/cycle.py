"""What the annual review tells the analyst when its stages have run: each stage's outcome with a link to its run
and its artifacts, and one final state that names the stages that failed and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect.states import Completed, Failed, State

from tasks.shared.artifacts import artifact_scope, stage_summary_key
from tasks.shared.context import CycleContext
from tasks.shared.coverage import year_refusal
from tasks.shared.markdown import markdown_table
from tasks.shared.runs import REJECTED_STATE, WARNINGS_STATE, PlainFailure


@dataclass(frozen=True)
class StageOutcome:
    """How one stage of the cycle ended."""

    stage: str
    status: str  # completed | completed with warnings | failed | rejected (a sign-off) | crashed | cancelled
    message: str
    flow_run_id: str | None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Anything but a completion (with or without warnings) is a failure of the cycle."""
        return self.status not in ("completed", "completed with warnings")


def outcome_of(stage: str, state: State) -> StageOutcome:
    """A stage's outcome from the final state of its run (its summary when it completed). The state may be the
    API's copy rather than this process's (the engine hands that back when the server rejects a resent final state
    as a duplicate, after a request timed out): the stage flows persist their results so its summary is still
    there."""
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if state.is_completed():
        result = state.result()
        summary = dict(result) if isinstance(result, dict) else {}
        status = str(summary.pop("status", "completed"))
        return StageOutcome(stage, status, state.message or status, run_id, summary)
    status = ("rejected" if state.name == REJECTED_STATE else "failed") if state.is_failed() \
        else state.type.value.lower()
    message = (state.message or state.name or status).strip().splitlines()[0]
    return StageOutcome(stage, status, message, run_id, {})


def run_stages(ctx: CycleContext, chosen: list[str], stage_flows: dict[str, Callable[..., State]]) -> list[StageOutcome]:
    """Run the chosen stages in cycle order, each as its own flow run. When the year could only be judged from file
    names before collection (an export of every year might have held it), judge it again once the files are
    loaded, and stop before anything is computed or sent for a year that has no data."""
    outcomes = []
    for stage in chosen:
        state = stage_flows[stage](partnership=ctx.partnership_id, financial_year=ctx.year_label, return_state=True)
        outcomes.append(outcome_of(stage, state))
        if stage == "collect" and (refusal := year_refusal(ctx)):
            outcomes.append(StageOutcome("year check", "failed", f"stopped after collection: {refusal}", None))
            break
    return outcomes


def ui_url() -> str | None:
    """The Prefect UI's address when the run talks to a server (None for a run on the ephemeral API)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().ui_url
    return str(url).rstrip("/") if url else None


def cycle_markdown(ctx: CycleContext, outcomes: list[StageOutcome], ui: str | None) -> str:
    """The parent run's summary: one row per stage, its outcome, and links to its run and its artifacts."""
    scope = artifact_scope(ctx.partnership_id, ctx.year_label)
    rows = []
    for outcome in outcomes:
        key = stage_summary_key(scope, outcome.stage)
        run = f"[stage run]({ui}/runs/flow-run/{outcome.flow_run_id})" if ui and outcome.flow_run_id else \
            f"`{outcome.flow_run_id or '-'}`"
        artifacts = f"[{key}]({ui}/artifacts/key/{key})" if ui else f"`{key}`"
        rows.append({"stage": outcome.stage, "outcome": outcome.status, "what happened": outcome.message,
                     "run": run, "summary artifact": artifacts})
    failed = [o.stage for o in outcomes if o.failed]
    headline = (f"**Failed:** {', '.join(failed)}." if failed
                else "**All stages completed**" + (" (some with warnings)."
                                                  if any(o.status != "completed" for o in outcomes) else "."))
    return "\n".join([
        f"# Annual review: {ctx.config.partnership.name}, {ctx.year_label}",
        headline,
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
        "Each stage's summary artifact holds its tables and links; the runs register (`dutycycle db`) keeps every "
        "stage's last outcome.",
    ])


def cycle_state(ctx: CycleContext, outcomes: list[StageOutcome]) -> State:
    """The cycle's final state: Failed naming each failed stage and its reason, else Completed (with warnings)."""
    failed = [o for o in outcomes if o.failed]
    label = f"{ctx.partnership_id} {ctx.year_label}"
    if failed:
        reasons = "; ".join(f"{o.stage}: {o.message}" for o in failed)
        message = f"{label}: these stages failed: {', '.join(o.stage for o in failed)} ({reasons})"
        # only rejections: each was told to the analysts by its own message, so the cycle raises no alert either
        name = REJECTED_STATE if all(o.status == "rejected" for o in failed) else "Failed"
        return Failed(name=name, message=message, data=PlainFailure(message))
    warned = [o.stage for o in outcomes if o.status != "completed"]
    if warned:
        return Completed(name=WARNINGS_STATE, message=f"{label}: completed with warnings in: {', '.join(warned)}")
    return Completed(message=f"{label}: completed")
