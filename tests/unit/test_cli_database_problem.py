"""A database that cannot be written ends a command with one plain line (`database error: ...`), whichever error
class the driver gives it: SQLite's read-only file is an OperationalError, PostgreSQL's read-only transaction an
InternalError and a missing write right a ProgrammingError. A fault of the data itself (a duplicate key) is not a
database problem: it raises as before. The errors come from real databases (SQLite file, or the test's PostgreSQL
database), their messages from the database itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dutycycle.cli import database_problem
from tests.databases import database_url_of, on_postgresql


def _error_of(url: str, *statements: str) -> BaseException:
    """The exception the last statement raises (the ones before set the scene), on this database."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            for statement in statements[:-1]:
                connection.execute(text(statement))
            with pytest.raises(Exception) as raised:
                connection.execute(text(statements[-1]))
            return raised.value
    finally:
        engine.dispose()


def _writable(data_dir: Path) -> str:
    """The test's database with a table `t` holding one row."""
    url = database_url_of(data_dir)
    if url.startswith("sqlite:///"):
        data_dir.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            connection.execute("INSERT INTO t VALUES (1)")
        return url
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
    return url


def test_a_read_only_database_is_one_line(data_dir: Path) -> None:
    url = _writable(data_dir)
    if url.startswith("sqlite:///"):
        error = _error_of(f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true",
                          "INSERT INTO t VALUES (2)")
        words = "attempt to write a readonly database"
    else:  # as on a hot standby, or with default_transaction_read_only set
        error = _error_of(url, "SET TRANSACTION READ ONLY", "INSERT INTO t VALUES (2)")
        words = "cannot execute INSERT in a read-only transaction"
    line = database_problem(error)
    assert line is not None, f"{type(error).__name__} not reported as a database problem: {error}"
    assert line.startswith("database error: " + words), line


@pytest.mark.postgresql
@pytest.mark.skipif(not on_postgresql(), reason="a role's write rights: runs on PostgreSQL "
                    "(DUTYCYCLE_TEST_DATABASE_URL)")
def test_a_role_without_write_rights_is_one_line(data_dir: Path) -> None:
    url = _writable(data_dir)
    # the table's owner gives up its own right to insert: the server then refuses it as any other role
    error = _error_of(url, "REVOKE INSERT ON t FROM CURRENT_USER", "INSERT INTO t VALUES (2)")
    line = database_problem(error)
    assert line is not None, f"{type(error).__name__} not reported as a database problem: {error}"
    assert line.startswith("database error: permission denied for table t"), line


def test_a_duplicate_key_is_no_database_problem(data_dir: Path) -> None:
    url = _writable(data_dir)
    error = _error_of(url, "INSERT INTO t VALUES (1)")
    assert database_problem(error) is None, error
