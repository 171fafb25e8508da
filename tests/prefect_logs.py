"""Reading a flow run's logs back from the Prefect API as the analyst's UI shows them."""

from __future__ import annotations


def send_pending_logs() -> None:
    """Send the logs still queued in this process before reading them back.

    Prefect's log worker posts logs to the API in the background, in batches every two seconds: a test that reads
    logs straight after a flow run ends would otherwise miss the last ones (CI failed that way once on PostgreSQL).
    """
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
