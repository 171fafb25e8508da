"""The yearly duty cycle: collect, validate, compute, notify and submit, in order, for one partnership."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.collect import collect
from flows.compute import compute
from flows.notify import notify
from flows.submit import submit
from flows.validate import validate
from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.artifacts import artifact_key, artifact_scope
from tasks.shared.cycle import cycle_markdown, cycle_state, run_stages, ui_url
from tasks.shared.exclusive import one_run_at_a_time
from tasks.shared.parameters import (
    DEFAULT_YEAR,
    DEMO_PARTNERSHIP,
    STAGES,
    FinancialYear,
    PartnershipId,
    Stages,
    check_run,
    check_stages,
)
from tasks.shared.run_log import say
from tasks.shared.runs import current_flow_run_id, cycle_run_name, plain_failures

STAGE_FLOWS = {"collect": collect, "validate": validate, "compute": compute, "notify": notify, "submit": submit}


@flow(name="annual-review", flow_run_name=cycle_run_name, log_prints=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def annual_review(
    partnership: PartnershipId = DEMO_PARTNERSHIP,
    financial_year: FinancialYear = DEFAULT_YEAR,
    stages: Stages = list(STAGES),
):
    """Run the Serious Violence Duty's yearly cycle for a partnership, stage by stage."""
    chosen = check_stages(stages)
    # 'latest' / 'current' are resolved once here: every stage works on the same year
    ctx = check_run(partnership, financial_year, current_flow_run_id())
    with one_run_at_a_time(ctx):
        outcomes = run_stages(ctx, chosen, STAGE_FLOWS)
    create_markdown_artifact(
        key=artifact_key(artifact_scope(ctx.partnership_id, ctx.year_label), "cycle-summary"),
        markdown=cycle_markdown(ctx, outcomes, ui_url()),
        description="The cycle's outcome, stage by stage, with links to each stage's run and artifacts",
    )
    state = cycle_state(ctx, outcomes)
    say(f"annual review {state.name}: {state.message}")
    return state
