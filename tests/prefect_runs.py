"""Flow runs as the Prefect API (and so the UI) lists them, waited for while another thread or process runs them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for_flow_run(what: str, accept: Callable[[Any], bool] = lambda run: True, *, name: str | None = None,
                      paused: bool = False, timeout: float = 600.0, every: float = 0.2) -> Any:
    """The first flow run the API lists (by ``name``, or only PAUSED ones) that ``accept`` takes, as soon as there
    is one; fails after ``timeout`` seconds saying ``what`` was awaited."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    wanted = FlowRunFilter(
        name=FlowRunFilterName(any_=[name]) if name is not None else None,
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])) if paused else None,
    )
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(flow_run_filter=wanted):
                if accept(run):
                    return run
            time.sleep(every)
    raise AssertionError(f"no {what} in {timeout:.0f} s")
