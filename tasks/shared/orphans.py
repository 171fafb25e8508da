"""What a killed run leaves behind, found and closed by the next run of the same partnership-year (or `dutycycle
status`): its slot of the one-run-at-a-time limit, its Prefect flow runs still RUNNING, its stages still `running`
in the runs register, and the temporary files of writes it did not finish.

The run holding a partnership-year's slot writes a holder file (host, pid, the process's start time, its flow run)
under the data directory and removes it when it ends. A holder file that outlives its process is the mark of a
kill. Prefect's own lease frees the slot of a dead holder on a long-lived server after five minutes, but the lease
lives in the API server's memory: under the ephemeral API each `dutycycle` command starts, a SIGKILL takes the
server down with the run and the slot stayed taken for good (measured: the next run waited 9 minutes and more, its
limit is six hours). So a holder that is provably dead (same host, its process gone or its pid reused) is released
at once under the ephemeral API; on a server, and for a holder on another host, its lease decides.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from tasks.shared.atomic_file import sweep_orphans_once, write_atomically
from tasks.shared.storage.models import Run, utc_now
from tasks.shared.storage.session import session_scope

INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started: float | None  # the process's start time (clock ticks since boot), so a reused pid is told apart
    flow_run_id: str | None

    def alive(self) -> bool | None:
        """True or False for a process of this host; None (cannot tell) for one on another host or one whose start
        time cannot be read."""
        if self.host != socket.gethostname():
            return None
        gone = process_gone(self.pid, self.started)
        return None if gone is None else not gone


def process_gone(pid: int, recorded_start: float | None) -> bool | None:
    """Whether the process of this host that recorded ``recorded_start`` as its start time has ended: True when its
    pid is free or belongs to a later process, False when it still runs, None when a process holds the pid but its
    start time cannot be read (it may be the same one: only a lease may decide)."""
    now = process_start(pid)
    if now is None:
        return True
    if not recorded_start:  # recorded before start times were kept (or unreadable then): the pid alone tells
        return False
    if now == 0.0:
        return None
    return int(now) != int(recorded_start)


def process_start(pid: int) -> float | None:
    """The start time of a live process (Linux /proc), or None when there is no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return float(fields[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0.0
        return 0.0


def holder_path(data_dir: Path, lock: str) -> Path:
    return data_dir / "locks" / f"{lock}.json"


def write_holder(path: Path, flow_run_id: str | None) -> None:
    """Say who holds the slot (written after the slot is taken; atomic)."""
    record = {"host": socket.gethostname(), "pid": os.getpid(), "started": process_start(os.getpid()),
              "flow_run_id": flow_run_id}
    write_atomically(path, json.dumps(record).encode("utf-8"), durable=False)


def read_holder(path: Path) -> Holder | None:
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return Holder(record["host"], int(record["pid"]), record.get("started"), record.get("flow_run_id"))


def remove_holder(path: Path) -> None:
    """The slot is given back: forget the holder (only our own record)."""
    holder = read_holder(path)
    if holder is not None and holder.host == socket.gethostname() and holder.pid == os.getpid():
        path.unlink(missing_ok=True)


def mark_interrupted(url: str, partnership: str, financial_year: str) -> list[str]:
    """Mark the stages still `running` in the runs register as interrupted, now; returns their flow run ids."""
    with session_scope(url) as session:
        rows = list(session.scalars(select(Run).where(
            Run.partnership == partnership, Run.financial_year == financial_year, Run.status == "running")))
        ids = [r.flow_run_id for r in rows if r.flow_run_id]
        session.execute(
            update(Run).where(Run.id.in_([r.id for r in rows])).values(status=INTERRUPTED, finished_at=utc_now())
            .execution_options(synchronize_session=False)
        )
    return ids


def interrupted_runs(url: str, partnership: str, financial_year: str) -> list[str]:
    """Flow run ids of the stages the register says were interrupted."""
    with session_scope(url) as session:
        return [i for i in session.scalars(select(Run.flow_run_id).where(
            Run.partnership == partnership, Run.financial_year == financial_year, Run.status == INTERRUPTED)) if i]


def crash_flow_runs(client: Any, flow_run_ids: list[str], reason: str) -> list[str]:
    """Set the given flow runs that are still RUNNING to Crashed (forced: their process is gone); their names."""
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    crashed = []
    for run_id in dict.fromkeys(flow_run_ids):
        try:
            run = client.read_flow_run(run_id)
        except ObjectNotFound:
            continue
        if run.state is not None and run.state.is_running():
            client.set_flow_run_state(run_id, Crashed(message=reason), force=True)
            crashed.append(f"'{run.name}' ({run_id})")
    return crashed


def ephemeral_api() -> bool:
    """True when this process talks to the API it started itself (no PREFECT_API_URL): leases die with it.

    On a long-lived server the dead holder's lease is still in the server's memory and frees the slot when it
    lapses (five minutes); releasing it here as well would let that later expiry free the *next* holder's slot."""
    from prefect.settings import get_current_settings

    return not get_current_settings().api.url


def release_dead_slot(client: Any, lock: str) -> None:
    """Give back the slot a dead holder kept (the limit is one slot, and its only holder is gone)."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    client.update_global_concurrency_limit(lock, GlobalConcurrencyLimitUpdate(active_slots=0))


def close_orphans(client: Any, url: str, data_dir: Path, lock: str, partnership: str, financial_year: str,
                  holding: bool) -> list[str]:
    """Close what a killed run of this partnership-year left: its Prefect runs Crashed, its register rows
    interrupted, its slot released. ``holding``: we hold the slot now, so any holder on record is gone.
    Returns one sentence per thing closed (for the run's log)."""
    path = holder_path(data_dir, lock)
    holder = read_holder(path)
    dead = holder is not None and (holding or holder.alive() is False)
    said: list[str] = sweep_half_written(data_dir, after_a_kill=holder is not None) if holding else []
    if holder is None and not holding:
        return said
    if holder is not None and not dead:
        return said  # alive, or on another host: its lease decides
    stage_runs = mark_interrupted(url, partnership, financial_year)
    if stage_runs:
        said.append(f"the runs register had {len(stage_runs)} stage(s) of {partnership} {financial_year} still "
                    f"'running' from a run that was killed: marked '{INTERRUPTED}'")
    # stages `dutycycle status` marked interrupted earlier still have their Prefect runs RUNNING: close those too
    ids = ([holder.flow_run_id] if holder and holder.flow_run_id else []) + stage_runs + \
        interrupted_runs(url, partnership, financial_year)
    crashed = crash_flow_runs(client, ids, "the process running it was killed; closed by the next run of "
                                           f"{partnership} {financial_year}")
    if crashed:
        said.append(f"marked Crashed (their process was killed): {', '.join(crashed)}")
    if holder is not None and not holding and ephemeral_api():
        release_dead_slot(client, lock)
        said.append(f"released the slot of {lock} that process {holder.pid} on {holder.host} kept when it was killed")
    if holder is not None and holding:
        path.unlink(missing_ok=True)
    return said


def sweep_half_written(data_dir: Path, after_a_kill: bool) -> list[str]:
    """Remove the temporary files killed processes left half-written anywhere in the data directory (raw store,
    parse cache, reports, packages, receipts): at a process's first run, and whenever a run finds a killed one.
    A file another process is writing now is never touched (its writer's lock tells). One sentence, or none."""
    swept = sweep_orphans_once(data_dir, again=after_a_kill)
    if not swept:
        return []
    names = ", ".join(str(file.path.relative_to(data_dir)) for file in swept[:5]) + (" ..." if len(swept) > 5 else "")
    return [f"removed {len(swept)} temporary file(s) that a killed process left half-written: {names}"]


def stage_status(url: str, data_dir: Path, partnership: str) -> list[dict[str, Any]]:
    """The runs register of a partnership, each year's stages with their status; a stage still `running` whose
    run is provably gone (no holder of its year's slot, or a holder process of this host that has died) is marked
    interrupted first, with the time."""
    from tasks.shared.artifacts import artifact_key

    with session_scope(url) as session:
        years = sorted(set(session.scalars(select(Run.financial_year).where(
            Run.partnership == partnership, Run.status == "running"))))
    for year in years:
        holder = read_holder(holder_path(data_dir, artifact_key("dutycycle", partnership, year)))
        if holder is None or holder.alive() is False:
            mark_interrupted(url, partnership, year)
    with session_scope(url) as session:
        rows = session.scalars(select(Run).where(Run.partnership == partnership)
                               .order_by(Run.financial_year, Run.started_at))
        return [{"year": r.financial_year, "stage": r.stage, "status": r.status, "attempts": r.attempts,
                 "started": r.started_at, "finished": r.finished_at, "flow_run_id": r.flow_run_id} for r in rows]


def claim_token() -> str:
    """Who holds a claim on an outbox message or a package delivery: host, process, the process's start time (a
    reused pid is told apart) and a random part (two threads of one process differ too)."""
    started = process_start(os.getpid()) or 0
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{int(started)}:{uuid.uuid4().hex[:12]}"


def claimant_is_dead(token: str | None) -> bool:
    """True only when the process that made a claim is provably gone: it ran on this host and its pid is free or
    belongs to a later process. Another host's claim, or a process whose start cannot be read, is left to the
    claim's lease. (Tokens written before start times were kept, host:pid:random, are judged by the pid alone.)"""
    parts = (token or "").split(":")
    if len(parts) not in (3, 4) or not parts[1].isdigit():
        return False
    host, this_host = parts[0], socket.gethostname()
    if not host or not this_host.startswith(host) or len(host) < min(24, len(this_host)):
        return False
    claimed_start = int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else 0
    return process_gone(int(parts[1]), claimed_start) is True
