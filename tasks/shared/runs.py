"""How a stage run starts and ends: its parameters checked, one run per partnership and year at a time, a name the
analyst can find, the runs register (one row per partnership, year and stage) and a final state that says plainly
what failed."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from tasks.shared.artifacts import StageReport, publish_report
from tasks.shared.context import CycleContext, open_cycle
from tasks.shared.exclusive import one_run_at_a_time
from tasks.shared.parameters import STAGES, ParameterProblem, check_run
from tasks.shared.run_log import say
from tasks.shared.storage import repository
from tasks.shared.storage.session import session_scope

WARNINGS = "completed with warnings"
WARNINGS_STATE = "Completed with warnings"
# a Failed state of this name is a sign-off rejection: the person's decision, already told to the analysts by its own
# message (the submission's receipt, the board pack's rejection note), so no failure alert repeats it
REJECTED_STATE = "Rejected"


class StageFailed(ValueError):
    """A stage stopped because its own checks failed; the runs register says so."""


def current_flow_run_id() -> str | None:
    return str(flow_run.id) if flow_run.id else None


def is_part_of_cycle() -> bool:
    """True when this stage runs inside an annual review (which already holds the partnership-year's lock)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        # outside the stage's own flow run (a task on another process's worker): ask the API, as Prefect's runtime does
        return bool(flow_run.parent_flow_run_id)
    # A subflow's run carries the task run that stands for it in its parent (the engine creates it in the parent
    # flow run; so does run_deployment called inside a flow); a top-level run, whether started in-process, by
    # `serve` or by a worker, has none. Read from the run in memory: runtime.flow_run.parent_flow_run_id would build
    # a new API client (an SSL context, 27 ms) and GET that task run, ~10 times a partnership.
    return context.flow_run.parent_task_run_id is not None


def start_stage(stage: str, partnership: str, financial_year: str, require_data: bool = True) -> CycleContext:
    """The stage's context once its parameters are checked (else ParameterProblem: one sentence, nothing done).
    Inside the annual review the cycle has judged the year already (and judges it again after collect), so the
    stage checks only the partnership and the year's form, not the data again."""
    require_data = require_data and not is_part_of_cycle()
    return check_run(partnership, financial_year, flow_run_id=current_flow_run_id(), require_data=require_data)


@contextmanager
def stage_running(ctx: CycleContext, stage: str) -> Iterator[None]:
    """Hold the partnership-year while the stage runs (a stage run on its own takes the lock; inside the cycle the
    cycle holds it already), and mark the stage running in the runs register once it really starts."""
    with ExitStack() as stack:
        if not is_part_of_cycle():
            stack.enter_context(one_run_at_a_time(ctx))
        with session_scope(ctx.database_url) as session:
            repository.record_run(session, ctx.partnership_id, ctx.year_label, stage, "running", ctx.flow_run_id)
        yield


def fail_stage(ctx: CycleContext, stage: str, summary: dict, reason: str) -> None:
    """Mark the stage failed with what failed, and stop it (its flow ends Failed with the reason, no traceback)."""
    with session_scope(ctx.database_url) as session:
        repository.record_run(
            session, ctx.partnership_id, ctx.year_label, stage, "failed", ctx.flow_run_id, summary=summary, finished=True
        )
    raise StageFailed(reason)


def finish_stage(ctx: CycleContext, stage: str, report: StageReport) -> dict | State:
    """Publish the stage's report as Prefect artifacts, mark the stage finished with its outcome (completed,
    completed with warnings, failed, rejected: submit's sign-off) and end the stage: its status and summary for the cycle, or a Failed state
    whose message names what failed its checks."""
    publish_report(ctx.partnership_id, ctx.year_label, stage, report)
    with session_scope(ctx.database_url) as session:
        repository.record_run(
            session, ctx.partnership_id, ctx.year_label, stage, report.status, ctx.flow_run_id,
            summary=report.summary, finished=True,
        )
    say(f"{stage}: {report.status} {report.summary}")
    if report.status in ("failed", "rejected"):
        # a rejection is a person's decision, not a failed check: its message is the decision and its reason
        reason = report.failure if report.status == "rejected" else \
            f"{stage} failed its checks: {report.failure or 'see its summary artifact'}"
        name = REJECTED_STATE if report.status == "rejected" else "Failed"
        return Failed(name=name, message=reason, data=PlainFailure(reason))
    result = {"status": report.status, **report.summary}
    if report.status == WARNINGS:
        # a named Completed state: the UI's badge says "Completed with warnings", not a plain green "Completed"
        return Completed(name=WARNINGS_STATE, message=f"{stage} completed with warnings", data=result)
    return result


class _PlainOutcomes(logging.Filter):
    """Drop the engine's "unexpected exception" traceback for a run that ended Failed on purpose: a process that
    runs a deployment (worker, `serve`) re-raises the final state's exception and logs it with its traceback; the
    run's state and its log already say the one sentence that matters."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, (ParameterProblem, StageFailed, PlainFailure))


class PlainFailure(RuntimeError):
    """A stage or cycle that ended Failed with its reason in its state's message (not a bug)."""


# installed once, wherever a flow is imported: the flow-run logger is where the engine logs a final exception
logging.getLogger("prefect.flow_runs").addFilter(_PlainOutcomes())


def plain_failures(body: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a flow body so that refused parameters and failed checks end the run as Failed with one plain sentence,
    not a traceback (they are outcomes the analyst acts on, not bugs)."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return body(*args, **kwargs)
        except ParameterProblem as problem:
            say(f"refused: {problem}")
            return Failed(message=f"refused: {problem}", data=problem)
        except StageFailed as failure:
            say(f"failed: {failure}")
            return Failed(message=str(failure), data=failure)

    # the flow's annotations are strings (postponed evaluation) that only the body's module can resolve
    run.__signature__ = inspect.signature(body, eval_str=True)  # type: ignore[attr-defined]
    return run


def stages_label(stages: list[str] | None) -> str:
    chosen = [str(getattr(s, "value", s)) for s in (stages or STAGES)]
    return "all stages" if set(chosen) >= set(STAGES) else "+".join(s for s in STAGES if s in chosen) or "no stage"


def _year_of(partnership: str, financial_year: str) -> str:
    try:
        return open_cycle(partnership, financial_year).year_label
    except Exception:  # noqa: BLE001 - a name is no place to refuse a run: check_run does that, plainly
        return str(financial_year)


def cycle_run_name() -> str:
    """The annual review's run name: partnership, year (resolved from 'latest'/'current') and stages."""
    params = flow_run.parameters
    partnership = str(params.get("partnership", "?"))
    return f"{partnership} {_year_of(partnership, str(params.get('financial_year', '')))} " \
           f"{stages_label(params.get('stages'))}"


def stage_run_name(stage: str) -> Callable[[], str]:
    """A stage's run name: partnership, year and the stage."""

    def name() -> str:
        params = flow_run.parameters
        partnership = str(params.get("partnership", "?"))
        return f"{partnership} {_year_of(partnership, str(params.get('financial_year', '')))} {stage}"

    return name
