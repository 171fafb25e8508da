"""What a run tells the analyst: one line into the run's log in the Prefect UI, or onto the console outside a run."""

from __future__ import annotations


def say(message: str) -> None:
    """Log one line to the current flow or task run's log (the UI shows it); print it when no run is active.

    Not ``print`` under ``log_prints``: Prefect patches ``builtins.print`` for the length of a flow run and puts the
    original back when it ends, for the whole process, so while two flow runs share a process (threads, a thread
    task runner) the one that ends first sends the other's later prints to the console only, never to its log.
    """
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        logger = get_run_logger()
    except MissingContextError:
        print(message)
        return
    logger.info(message)
