"""A run's own lines reach its own log in the Prefect UI, also while another flow run shares the process."""

from __future__ import annotations

import threading

import pytest

from tasks.shared.run_log import say
from tests.prefect_logs import read_logs

pytestmark = pytest.mark.flow


def test_a_line_said_after_another_run_in_the_process_ended_is_in_the_runs_log(prefect_server: None) -> None:
    """Prefect's log_prints puts the real print back, process-wide, when any flow run ends: a print from a run still
    going then reaches only the console (the stage results of the two-runs test went missing that way)."""
    from prefect import flow

    first_began, second_began, first_may_end, first_ended = (threading.Event() for _ in range(4))

    @flow(log_prints=True)
    def first_run() -> None:
        first_began.set()
        assert first_may_end.wait(60)

    @flow(log_prints=True)
    def second_run() -> None:
        second_began.set()
        assert first_ended.wait(60)
        say("said after the other run ended")

    states = {}

    def run(label: str, body) -> None:
        states[label] = body(return_state=True)

    # the first begins first and ends first: the order in which Prefect's patch of print is undone wrongly
    first = threading.Thread(target=run, args=("first", first_run))
    second = threading.Thread(target=run, args=("second", second_run))
    first.start()
    assert first_began.wait(60)
    second.start()
    assert second_began.wait(60)
    first_may_end.set()
    first.join(120)
    first_ended.set()
    second.join(120)
    assert states["first"].is_completed() and states["second"].is_completed()
    messages = [message for _, message in read_logs(states["second"].state_details.flow_run_id)]
    assert "said after the other run ended" in messages


def test_outside_a_run_a_line_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    say("no run here")
    assert capsys.readouterr().out == "no run here\n"
