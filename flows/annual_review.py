"""The yearly duty cycle: collect, validate, compute, notify and submit, in order, for one partnership."""

from __future__ import annotations

from enum import Enum

from prefect import flow
from prefect.states import Completed, Failed

from flows.collect import collect
from flows.compute import compute
from flows.notify import notify
from flows.submit import submit
from flows.validate import validate
from tasks.shared.context import open_cycle
from tasks.shared.coverage import year_refusal
from tasks.shared.parameters import DEMO_PARTNERSHIP, FinancialYear, PartnershipId


class Stage(str, Enum):
    collect = "collect"
    validate = "validate"
    compute = "compute"
    notify = "notify"
    submit = "submit"


ALL_STAGES = list(Stage)
STAGE_FLOWS = {
    Stage.collect: collect,
    Stage.validate: validate,
    Stage.compute: compute,
    Stage.notify: notify,
    Stage.submit: submit,
}


@flow(name="annual-review", log_prints=True)
def annual_review(
    partnership: PartnershipId = DEMO_PARTNERSHIP,
    financial_year: FinancialYear = "2022/23",
    stages: list[Stage] = ALL_STAGES,
):
    """Run the Serious Violence Duty's yearly cycle for a partnership, stage by stage.

    Args:
        stages: Which stages to run, always in cycle order; e.g. only compute and notify to refresh the pack.
    """
    # resolve 'latest' / 'current' once, so every stage works on the same year
    ctx = open_cycle(partnership, financial_year)
    year = ctx.year_label
    refusal = year_refusal(ctx)
    if refusal:
        return Failed(message=f"nothing run: {refusal}")
    results = {}
    for stage in ALL_STAGES:
        if stage in stages:
            results[stage.value] = STAGE_FLOWS[stage](partnership=partnership, financial_year=year)
    statuses = {name: result["status"] for name, result in results.items()}
    print(f"annual review {partnership} {year}: {statuses}")
    failed = [name for name, status in statuses.items() if status == "failed"]
    if failed:
        return Failed(message=f"finished, but these stages failed their checks: {', '.join(failed)}", data=results)
    warned = [name for name, status in statuses.items() if status != "completed"]
    message = f"completed with warnings in: {', '.join(warned)}" if warned else "completed"
    return Completed(message=message, data=results)
