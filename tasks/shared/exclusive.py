"""One run per partnership and financial year at a time, by a Prefect global concurrency limit of one slot.

Two runs of the same partnership and year would interleave their writes and e-mails; runs of different
partnerships or years share nothing and run in parallel. The second run waits (and its log says for which run),
and gives up with a plain message after ``cycle_wait_seconds``. The slot is a lease the holder renews: a run killed
outright frees it when its lease lapses (five minutes), so a crash never blocks the year for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from prefect.runtime import flow_run

from tasks.shared.artifacts import artifact_key
from tasks.shared.context import CycleContext
from tasks.shared.orphans import close_orphans, holder_path, remove_holder, write_holder
from tasks.shared.parameters import ParameterProblem
from tasks.shared.run_log import say

LEASE_SECONDS = 300


class RunBusy(ParameterProblem):
    """Another run of the same partnership and year held the slot for longer than this run would wait."""


def lock_name(partnership: str, year_label: str) -> str:
    """The concurrency limit's name, e.g. dutycycle-castle-point-rochford-2022-23 (shown in the UI's Concurrency)."""
    return artifact_key("dutycycle", partnership, year_label)


def _ensure_limit(client: object, name: str) -> None:
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        client.read_global_concurrency_limit_by_name(name)  # type: ignore[attr-defined]
        return
    except ObjectNotFound:
        pass
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    try:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))  # type: ignore[attr-defined]
    except ObjectAlreadyExists:
        pass  # another run created it a moment ago: the same limit of one


def other_runs_of(client: object, partnership: str, year_label: str, own_id: str | None) -> list[str]:
    """Names of the running flow runs (other than this one) working on the same partnership and year."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterParentTaskRunId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    runs = client.read_flow_runs(  # type: ignore[attr-defined]
        flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(like_=f"{partnership} {year_label}"),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
            parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=True),  # top-level runs only
        ),
        limit=10,
    )
    return [f"'{run.name}' ({run.id})" for run in runs if str(run.id) != own_id]


@contextmanager
def one_run_at_a_time(ctx: CycleContext) -> Iterator[None]:
    """Hold the partnership-year's slot while the body runs; wait (saying why) while another run holds it."""
    from prefect import get_client
    from prefect.concurrency.sync import concurrency
    from prefect.types._concurrency import ConcurrencyLeaseHolder

    name = lock_name(ctx.partnership_id, ctx.year_label)
    orphans = dict(url=ctx.database_url, data_dir=ctx.settings.data_dir, lock=name, partnership=ctx.partnership_id,
                   financial_year=ctx.year_label)
    with get_client(sync_client=True) as client:
        _ensure_limit(client, name)
        for sentence in close_orphans(client, holding=False, **orphans):  # a killed holder on this host
            say(sentence)
        others = other_runs_of(client, ctx.partnership_id, ctx.year_label, ctx.flow_run_id)
    if others:
        say(f"waiting: {', '.join(others)} is already working on {ctx.partnership_id} {ctx.year_label}; this run "
            f"starts when it ends (one run per partnership and year: concurrency limit {name})")
    holder = ConcurrencyLeaseHolder(type="flow_run", id=flow_run.id) if flow_run.id else None
    wait = ctx.settings.cycle_wait_seconds
    with ExitStack() as stack:
        try:
            stack.enter_context(concurrency(name, occupy=1, timeout_seconds=wait, strict=True, holder=holder,
                                            lease_duration=LEASE_SECONDS))
        except TimeoutError:  # AcquireConcurrencySlotTimeoutError
            raise RunBusy(f"another run of {ctx.partnership_id} {ctx.year_label} was still running after "
                          f"{wait:.0f} s of waiting; start this one again when it has finished") from None
        if others:
            say(f"the other run of {ctx.partnership_id} {ctx.year_label} has finished: this run starts now")
        with get_client(sync_client=True) as client:  # the slot is ours: whatever a holder left is orphaned
            for sentence in close_orphans(client, holding=True, **orphans):
                say(sentence)
        holder_file = holder_path(ctx.settings.data_dir, name)
        write_holder(holder_file, ctx.flow_run_id)
        try:
            yield
        finally:
            remove_holder(holder_file)
