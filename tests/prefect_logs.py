"""Reading a flow run's logs back from the Prefect API as the analyst's UI shows them."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

# a log batch can wait on the test server's own SQLite for up to its 30 s busy timeout (CI saw such stalls)
SEND_TIMEOUT_SECONDS = 120


def send_pending_logs() -> None:
    """Send the logs still queued in this process before reading them back.

    Prefect's log worker posts logs to the API in the background, in batches every two seconds: a test that reads
    logs straight after a flow run ends would otherwise miss the last ones (CI failed that way once on PostgreSQL).
    ``APILogHandler.flush`` gives up after 5 s, shorter than a busy test server can take to store a batch.
    """
    from prefect.logging.handlers import APILogWorker

    _, pending = APILogWorker.drain_all(timeout=SEND_TIMEOUT_SECONDS)
    assert not pending, f"the queued logs were not sent to the Prefect API within {SEND_TIMEOUT_SECONDS} s"


def read_logs(flow_run_id: UUID | str, limit: int = 200, send_first: bool = True) -> list[tuple[object, str]]:
    """The run's (timestamp, message) log lines in the API, oldest first, after sending what is still queued."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    if send_first:
        send_pending_logs()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(str(flow_run_id))])),
                                limit=limit)
    return [(log.timestamp, log.message) for log in logs]


def wait_for_log(flow_run_id: UUID | str, wanted: Callable[[str], bool], timeout: float = 600) -> str:
    """The first of the run's log messages that ``wanted`` accepts, as soon as the API has it (the run goes on).

    It does not drain the log worker (its own batches arrive every two seconds): stopping it while runs log could
    turn a line away.
    """
    deadline = time.monotonic() + timeout
    while True:
        for _, message in read_logs(flow_run_id, send_first=False):
            if wanted(message):
                return message
        if time.monotonic() > deadline:
            raise AssertionError(f"run {flow_run_id} logged no such line in {timeout:.0f} s")
        time.sleep(0.5)
