"""On PostgreSQL, the database password stays out of everything dutycycle writes when the database fails under it:
a wrong password, and the server dropping the run's connections in the middle of loading. Searched: the command's
output, every file under the test's folder (data, outputs, outbox, Prefect's own database of logs and artifacts)
and every row of every table of the run's database."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.databases import on_postgresql
from tests.faults.cycle import dutycycle, environment, run, small_config

pytestmark = [pytest.mark.faults, pytest.mark.postgresql,
              pytest.mark.skipif(not on_postgresql(), reason="needs a database URL with a password: runs on "
                                 "PostgreSQL (DUTYCYCLE_TEST_DATABASE_URL)")]
CANARY = "canary-pw-Hv72q"  # a wrong password: must not be shown either


def _files_containing(secret: str, folder: Path) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _rows_containing(secret: str, url: str) -> list[str]:
    """'table row N' for every row of the database whose text holds the secret (not the row: it holds the secret)."""
    engine = create_engine(url, poolclass=NullPool)
    found = []
    try:
        with engine.connect() as connection:
            for name in inspect(engine).get_table_names():
                for number, row in enumerate(connection.execute(select(text("*")).select_from(table(name)))):
                    if secret in repr(tuple(row)):
                        found.append(f"{name} row {number}")
    finally:
        engine.dispose()
    return found


def _count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()
    except Exception:  # noqa: BLE001 - the table is not there yet
        return 0
    finally:
        engine.dispose()


def test_a_wrong_password_is_reported_without_it(data_dir: Path, tmp_path: Path) -> None:
    url = make_url(os.environ["DUTYCYCLE_DATABASE_URL"])
    wrong = url.set(password=CANARY).render_as_string(hide_password=False)
    config = small_config(tmp_path / "config")
    env = environment(data_dir, config, tmp_path / "prefect-home", DUTYCYCLE_DATABASE_URL=wrong)
    for args in (("review", "--stage", "collect"), ("status",), ("db", "upgrade")):
        done = run(env, *args, timeout=600)
        output = done.stdout + done.stderr
        assert done.returncode != 0, (args, output[-3000:])
        assert "password authentication failed" in output, (args, output[-3000:])  # reported, without the password
        assert CANARY not in output, (args, output[-3000:])  # a wrong password: safe to show
    assert _files_containing(CANARY, tmp_path) == []


def test_connections_dropped_by_the_server_mid_run_leave_the_password_nowhere(data_dir: Path, tmp_path: Path) -> None:
    url = os.environ["DUTYCYCLE_DATABASE_URL"]
    password = make_url(url).password
    assert password and len(password) >= 12, "the test server's role must have a password (install-postgres)"
    config = small_config(tmp_path / "config")
    env = environment(data_dir, config, tmp_path / "prefect-home", DUTYCYCLE_DATABASE_URL=url)
    log = tmp_path / "review.log"
    with log.open("wb") as out:
        child = subprocess.Popen(dutycycle("review", "--stage", "collect"), env=env, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
        terminated = 0
        try:
            deadline = time.monotonic() + 900
            while child.poll() is None and time.monotonic() < deadline and not terminated:
                if _count(url, "SELECT count(*) FROM observations") > 0:  # in the middle of loading
                    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
                    with admin.connect() as connection:
                        terminated = connection.execute(text(
                            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
                    admin.dispose()
                time.sleep(0.05)
            child.wait(900)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(60)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert terminated > 0, "the run ended before its connections could be dropped:\n" + output[-3000:]
    # worked out before the assertion: a failing one must not print the real password into the test log either
    shown = password in output
    assert not shown, "the run's output shows the database password"
    assert _files_containing(password, tmp_path) == []
    assert _rows_containing(password, url) == []
    # the run's own record of the fault is there to be searched (it failed, or went on after reconnecting)
    assert child.returncode == 0 or "terminat" in output or "closed the connection" in output, output[-3000:]
