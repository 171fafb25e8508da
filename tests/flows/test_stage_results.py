"""A stage's outcome does not depend on the stage's state still being in this process's memory.

When the Prefect API is slow to answer (its SQLite database locked for a minute by its own background services,
seen in CI's national run on a process pool), the client times out and sends the stage's final state again; the
server rejects the duplicate and the engine hands back the state as the API holds it. Without a persisted result
that state carries no summary and the whole annual review failed with Prefect's MissingResult. Reading a finished
stage's state back from the API is the same situation, made on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from flows.annual_review import STAGE_FLOWS
from tasks.shared.cycle import outcome_of
from tests.flows.conftest import DEMO, YEAR

pytestmark = pytest.mark.flow


def test_a_stage_state_read_back_from_the_api_gives_the_same_outcome_and_summary(computed_copy: Path) -> None:
    state = STAGE_FLOWS["validate"](partnership=DEMO, financial_year=YEAR, return_state=True)
    in_memory = outcome_of("validate", state)
    assert in_memory.status.startswith("completed") and in_memory.summary, in_memory

    with get_client(sync_client=True) as client:
        from_api = client.read_flow_run(state.state_details.flow_run_id).state
    assert from_api is not None and from_api.is_completed()
    assert outcome_of("validate", from_api) == in_memory


@pytest.mark.parametrize("stage", sorted(STAGE_FLOWS))
def test_every_stage_keeps_its_result(stage: str) -> None:
    """Every stage's summary is persisted, not only the one run above."""
    assert STAGE_FLOWS[stage].persist_result is True
