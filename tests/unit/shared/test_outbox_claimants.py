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
