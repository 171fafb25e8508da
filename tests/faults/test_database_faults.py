"""The database locked by another connection, read-only, or gone: `dutycycle` ends with one plain line naming the
problem, writes nothing half-way, and the same command succeeds once the database is back."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.shared.settings import PROJECT_ROOT
from tests.faults.cycle import differing, rows, tables

pytestmark = pytest.mark.faults

DEMO = "castle-point-rochford"


def _status(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUTYCYCLE_")}
    environment.update(DUTYCYCLE_DATA_DIR=str(data_dir), DUTYCYCLE_DATABASE_BUSY_TIMEOUT_SECONDS="0.5", **env)
    return subprocess.run([sys.executable, "-m", "dutycycle.cli", "status"], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def killed_stage(tmp_path: Path) -> Path:
    """A data directory whose runs register still says a killed run's stage is `running`."""
    data = tmp_path / "data"
    data.mkdir()
    from tasks.shared.storage.session import dispose_engines

    subprocess.run([sys.executable, "-m", "dutycycle.cli", "db", "upgrade"], cwd=PROJECT_ROOT, check=True,
                   env={**os.environ, "DUTYCYCLE_DATA_DIR": str(data)}, capture_output=True, timeout=300)
    dispose_engines()
    with sqlite3.connect(data / "dutycycle.db") as connection:
        connection.execute("INSERT INTO runs (partnership, financial_year, stage, flow_run_id, status, attempts, "
                           "started_at) VALUES (?, '2022/23', 'compute', 'f-1', 'running', 1, '2026-11-30 10:00:00')",
                           (DEMO,))
    return data


def _one_line(result: subprocess.CompletedProcess, words: str, reliability) -> None:
    reliability.check("exit code", result.returncode, 2, detail=result.stdout + result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    reliability.check("lines on stderr", len(lines), 1, detail=result.stderr)
    assert lines[0].startswith("database error: ") and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    reliability.message(lines[0])
    reliability.outcome("refused")


def _recovers(data: Path, before: dict, reliability) -> None:
    after = tables(data / "dutycycle.db")
    reliability.kept("rows", rows(after), rows(before))
    reliability.check("rows changed by the fault", differing(after, before), 0)
    assert after == before  # the fault wrote nothing
    again = _status(data)
    reliability.check("exit code once the database is back", again.returncode, 0, detail=again.stderr)
    assert "compute" in again.stdout and "interrupted" in again.stdout, again.stderr
    reliability.outcome("kept")


def test_locked_database(killed_stage: Path, reliability) -> None:
    reliability.fault("database locked", injected="another connection holds SQLite's exclusive lock (BEGIN EXCLUSIVE)",
                      where="dutycycle status (it marks a killed stage `interrupted`: a write)")
    before = tables(killed_stage / "dutycycle.db")
    holder = sqlite3.connect(killed_stage / "dutycycle.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds SQLite's exclusive lock
    try:
        _one_line(_status(killed_stage), "database is locked", reliability)
    finally:
        holder.execute("COMMIT")
        holder.close()
    _recovers(killed_stage, before, reliability)


def test_read_only_database(killed_stage: Path, reliability) -> None:
    reliability.fault("database read-only", injected="the SQLite file opened with mode=ro (file modes do not stop root)",
                      where="dutycycle status (a write)")
    before = tables(killed_stage / "dutycycle.db")
    # opened read-only (as a file without write permission is; file modes do not stop root, who runs CI here)
    url = f"sqlite:///file:{killed_stage / 'dutycycle.db'}?mode=ro&uri=true"
    _one_line(_status(killed_stage, DUTYCYCLE_DATABASE_URL=url), "readonly database", reliability)
    _recovers(killed_stage, before, reliability)


def test_database_gone(killed_stage: Path, tmp_path: Path, reliability) -> None:
    reliability.fault("database's folder gone (an unmounted share)",
                      injected="the data directory moved away; DUTYCYCLE_DATABASE_URL names the file in it",
                      where="dutycycle status (must not create a new, empty database)")
    before = tables(killed_stage / "dutycycle.db")
    moved = tmp_path / "elsewhere"
    shutil.move(killed_stage, moved)  # the database's directory removed (an unmounted share)
    result = _status(killed_stage, DUTYCYCLE_DATABASE_URL=f"sqlite:///{killed_stage}/dutycycle.db")
    _one_line(result, "unable to open database file", reliability)
    reliability.check("files created where the database was", len(list(killed_stage.glob("*"))) if killed_stage.exists()
                      else 0, 0)
    shutil.move(moved, killed_stage)
    _recovers(killed_stage, before, reliability)


def test_database_server_down(tmp_path: Path, reliability) -> None:
    reliability.fault("PostgreSQL server down", injected="DUTYCYCLE_DATABASE_URL names 127.0.0.1:9 (nothing listens)",
                      where="dutycycle status")
    pytest.importorskip("psycopg", reason="no PostgreSQL driver installed: the SQLite cases stand for it")
    result = _status(tmp_path, DUTYCYCLE_DATABASE_URL="postgresql+psycopg://dutycycle:pw@127.0.0.1:9/dutycycle")
    _one_line(result, "127.0.0.1", reliability)
    reliability.check("password printed", int("pw" in result.stderr), 0)
