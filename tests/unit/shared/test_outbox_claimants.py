"""Whose claim (an outbox message, a package delivery) may be taken over before its lease ends: only one whose
process is provably gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tasks.shared.orphans import claim_token, claimant_is_dead, process_start

HOST = socket.gethostname()[:24]


def _finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_claim_of_this_live_process_stands() -> None:
    token = claim_token()
    host, pid, started, _ = token.split(":")
    assert (host, int(pid), int(started)) == (HOST, os.getpid(), int(process_start(os.getpid())))
    assert not claimant_is_dead(token)


def test_a_claim_whose_process_ended_or_whose_pid_was_reused_is_dead() -> None:
    assert claimant_is_dead(f"{HOST}:{_finished_pid()}:12345:abcdef012345")
    # this pid is alive, but it is a later process than the one that claimed (another start time)
    started = int(process_start(os.getpid()))
    assert claimant_is_dead(f"{HOST}:{os.getpid()}:{started - 1}:abcdef012345")


def test_claims_it_cannot_judge_wait_for_their_lease() -> None:
    dead_pid = _finished_pid()
    assert not claimant_is_dead(f"another-host:{dead_pid}:12345:abcdef012345")  # another machine's process
    assert not claimant_is_dead(f"{HOST}x:{dead_pid}:12345:abcdef012345")  # another host whose name starts alike
    assert not claimant_is_dead(None) and not claimant_is_dead("") and not claimant_is_dead("x:y:z:w")


def test_a_token_written_before_start_times_were_kept_is_judged_by_its_pid() -> None:
    assert claimant_is_dead(f"{HOST}:{_finished_pid()}:abcdef012345")
    assert not claimant_is_dead(f"{HOST}:{os.getpid()}:abcdef012345")


def test_a_slot_holder_is_judged_as_a_claim_is() -> None:
    """The holder of a partnership-year's slot (tasks/shared/orphans.Holder) and a claim's token name the same
    process the same way: both must agree on whether it is gone, for every case both can meet."""
    from tasks.shared.orphans import Holder

    started = int(process_start(os.getpid()))
    dead_pid = _finished_pid()
    cases = {  # (pid, start time on record): gone?
        "this live process": (os.getpid(), started, False),
        "its pid reused by a later process": (os.getpid(), started - 1, True),
        "its process ended": (dead_pid, 12345, True),
        "recorded before start times were kept, alive": (os.getpid(), 0, False),
        "recorded before start times were kept, ended": (dead_pid, 0, True),
    }
    for case, (pid, start, gone) in cases.items():
        holder = Holder(host=socket.gethostname(), pid=pid, started=float(start) or None, flow_run_id=None)
        assert holder.alive() is (not gone), case
        assert claimant_is_dead(f"{HOST}:{pid}:{start}:abcdef012345") is gone, case
    assert Holder(host="another-host", pid=dead_pid, started=12345.0, flow_run_id=None).alive() is None
