"""The database locked by another connection, read-only, or gone: `dutycycle` ends with one plain line naming the
problem, writes nothing half-way, and the same command succeeds once the database is back.

On SQLite (a file in the data directory) the faults are the file's: its exclusive lock, opened read-only, its folder
moved away. With DUTYCYCLE_TEST_DATABASE_URL naming a PostgreSQL server the commands run on a database of their own
there, and the faults are the server's: a row lock another connection holds (lock_timeout fires), the database set
to read-only transactions (as a hot standby is), the database renamed away (a command naming it finds none)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.storage.models import Run
from tests.databases import fresh_database, on_postgresql, server_url
from tests.faults.cycle import database_url, differing, rows, tables

pytestmark = pytest.mark.faults

DEMO = "castle-point-rochford"
ON_SQLITE_ONLY = pytest.mark.skipif(on_postgresql(), reason="a SQLite file's fault: on PostgreSQL its server "
                                    "counterpart (test_*_on_the_server) runs instead")


def on_postgresql_only(test):
    """A server's fault (marker `postgresql`: the SQLite record names it 'PostgreSQL only')."""
    skip = pytest.mark.skipif(not on_postgresql(), reason="a PostgreSQL server's fault: runs on PostgreSQL "
                              "(DUTYCYCLE_TEST_DATABASE_URL); its SQLite counterpart runs here")
    return pytest.mark.postgresql(skip(test))


@dataclass
class Stage:
    """A data directory and its database (the SQLite file in it, or the test's own PostgreSQL database)."""

    data: Path
    url: str
    on_server: bool

    def environment(self) -> dict[str, str]:
        return {"DUTYCYCLE_DATABASE_URL": self.url} if self.on_server else {}


def _status(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUTYCYCLE_")}
    environment.update(DUTYCYCLE_DATA_DIR=str(data_dir), DUTYCYCLE_DATABASE_BUSY_TIMEOUT_SECONDS="0.5", **env)
    return subprocess.run([sys.executable, "-m", "dutycycle.cli", "status"], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def killed_stage(tmp_path: Path) -> Iterator[Stage]:
    """A data directory whose runs register still says a killed run's stage is `running`."""
    data = tmp_path / "data"
    data.mkdir()
    with fresh_database() as server:
        stage = Stage(data, database_url(data, server), on_server=server is not None)
        subprocess.run([sys.executable, "-m", "dutycycle.cli", "db", "upgrade"], cwd=PROJECT_ROOT, check=True,
                       env={**os.environ, "DUTYCYCLE_DATA_DIR": str(data), **stage.environment()},
                       capture_output=True, timeout=300)
        engine = create_engine(stage.url, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(insert(Run).values(partnership=DEMO, financial_year="2022/23", stage="compute",
                                                  flow_run_id="f-1", status="running", attempts=1))
        engine.dispose()
        yield stage


def _one_line(result: subprocess.CompletedProcess, words: str, reliability) -> None:
    reliability.check("exit code", result.returncode, 2, detail=result.stdout + result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    reliability.check("lines on stderr", len(lines), 1, detail=result.stderr)
    assert lines[0].startswith("database error: ") and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    reliability.message(lines[0])
    reliability.outcome("refused")


def _recovers(stage: Stage, before: dict, reliability) -> None:
    after = tables(stage.url)
    reliability.kept("rows", rows(after), rows(before))
    reliability.check("rows changed by the fault", differing(after, before), 0)
    assert after == before  # the fault wrote nothing
    again = _status(stage.data, **stage.environment())
    reliability.check("exit code once the database is back", again.returncode, 0, detail=again.stderr)
    assert "compute" in again.stdout and "interrupted" in again.stdout, again.stderr
    reliability.outcome("kept")


def _server(sql: str) -> None:
    """A statement run on the server as the test's role, outside the test's database (AUTOCOMMIT: ALTER DATABASE
    takes no transaction)."""
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(sql))
    admin.dispose()


@ON_SQLITE_ONLY
def test_locked_database(killed_stage: Stage, reliability) -> None:
    reliability.fault("database locked", injected="another connection holds SQLite's exclusive lock (BEGIN EXCLUSIVE)",
                      where="dutycycle status (it marks a killed stage `interrupted`: a write)")
    before = tables(killed_stage.url)
    holder = sqlite3.connect(killed_stage.data / "dutycycle.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds SQLite's exclusive lock
    try:
        _one_line(_status(killed_stage.data), "database is locked", reliability)
    finally:
        holder.execute("COMMIT")
        holder.close()
    _recovers(killed_stage, before, reliability)


@on_postgresql_only
def test_locked_database_on_the_server(killed_stage: Stage, reliability) -> None:
    reliability.fault("database locked (PostgreSQL)",
                      injected="another connection holds the row lock of the killed stage's register row (SELECT ... "
                               "FOR UPDATE in an open transaction); lock_timeout 0.5 s",
                      where="dutycycle status (it marks a killed stage `interrupted`: an UPDATE of that row)")
    before = tables(killed_stage.url)
    engine = create_engine(killed_stage.url, poolclass=NullPool)
    holder = engine.connect()
    transaction = holder.begin()
    try:
        locked = holder.execute(text("SELECT id FROM runs WHERE status = 'running' FOR UPDATE")).all()
        reliability.check("register rows locked by the other connection", len(locked), 1)
        _one_line(_status(killed_stage.data, **killed_stage.environment()), "lock timeout", reliability)
    finally:
        transaction.rollback()
        holder.close()
        engine.dispose()
    _recovers(killed_stage, before, reliability)


@ON_SQLITE_ONLY
def test_read_only_database(killed_stage: Stage, reliability) -> None:
    reliability.fault("database read-only", injected="the SQLite file opened with mode=ro (file modes do not stop root)",
                      where="dutycycle status (a write)")
    before = tables(killed_stage.url)
    # opened read-only (as a file without write permission is; file modes do not stop root, who runs CI here)
    url = f"sqlite:///file:{killed_stage.data / 'dutycycle.db'}?mode=ro&uri=true"
    _one_line(_status(killed_stage.data, DUTYCYCLE_DATABASE_URL=url), "readonly database", reliability)
    _recovers(killed_stage, before, reliability)


@on_postgresql_only
def test_read_only_database_on_the_server(killed_stage: Stage, reliability) -> None:
    reliability.fault("database read-only (PostgreSQL)",
                      injected="ALTER DATABASE ... SET default_transaction_read_only = on (every transaction "
                               "read-only, as on a hot standby)",
                      where="dutycycle status (a write)")
    before = tables(killed_stage.url)
    name = make_url(killed_stage.url).database
    _server(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        _one_line(_status(killed_stage.data, **killed_stage.environment()), "read-only transaction", reliability)
    finally:
        _server(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    _recovers(killed_stage, before, reliability)


@ON_SQLITE_ONLY
def test_database_gone(killed_stage: Stage, tmp_path: Path, reliability) -> None:
    reliability.fault("database's folder gone (an unmounted share)",
                      injected="the data directory moved away; DUTYCYCLE_DATABASE_URL names the file in it",
                      where="dutycycle status (must not create a new, empty database)")
    data = killed_stage.data
    before = tables(killed_stage.url)
    moved = tmp_path / "elsewhere"
    shutil.move(data, moved)  # the database's directory removed (an unmounted share)
    result = _status(data, DUTYCYCLE_DATABASE_URL=f"sqlite:///{data}/dutycycle.db")
    _one_line(result, "unable to open database file", reliability)
    reliability.check("files created where the database was", len(list(data.glob("*"))) if data.exists() else 0, 0)
    shutil.move(moved, data)
    _recovers(killed_stage, before, reliability)


@on_postgresql_only
def test_database_gone_on_the_server(killed_stage: Stage, reliability) -> None:
    reliability.fault("database gone (PostgreSQL)",
                      injected="the run's database renamed away on the server (ALTER DATABASE ... RENAME); "
                               "DUTYCYCLE_DATABASE_URL still names it",
                      where="dutycycle status (must not create a new, empty database)")
    before = tables(killed_stage.url)
    name = make_url(killed_stage.url).database
    _server(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"')
    try:
        _one_line(_status(killed_stage.data, **killed_stage.environment()), "does not exist", reliability)
        admin = create_engine(server_url(), poolclass=NullPool)
        with admin.connect() as connection:
            created = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                                         {"name": name}).scalar_one()
        admin.dispose()
        reliability.check("databases created under the missing one's name", created, 0)
    finally:
        _server(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"')
    _recovers(killed_stage, before, reliability)


def test_database_server_down(tmp_path: Path, reliability) -> None:
    reliability.fault("PostgreSQL server down", injected="DUTYCYCLE_DATABASE_URL names 127.0.0.1:9 (nothing listens)",
                      where="dutycycle status")
    pytest.importorskip("psycopg", reason="no PostgreSQL driver installed: the SQLite cases stand for it")
    result = _status(tmp_path, DUTYCYCLE_DATABASE_URL="postgresql+psycopg://dutycycle:pw@127.0.0.1:9/dutycycle")
    _one_line(result, "127.0.0.1", reliability)
    reliability.check("password printed", int("pw" in result.stderr), 0)
