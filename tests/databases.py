"""The tests' database: a SQLite file in the test's data directory, or, when DUTYCYCLE_TEST_DATABASE_URL names a
PostgreSQL server (scripts/install-postgres prints one), a fresh database on that server per test, dropped after it.

The URL's role needs CREATEDB. The same tests run on both back ends; only this module knows which one is in use.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import dispose_engines

SERVER_VARIABLE = "DUTYCYCLE_TEST_DATABASE_URL"


def server_url() -> URL | None:
    """The PostgreSQL server the tests run against, or None for SQLite."""
    value = os.environ.get(SERVER_VARIABLE, "").strip()
    if not value:
        return None
    url = make_url(value)
    if url.get_backend_name() != "postgresql":
        raise RuntimeError(f"{SERVER_VARIABLE} must name a PostgreSQL server (postgresql+psycopg://...), "
                           f"not {url.render_as_string(hide_password=True)}")
    return url


def on_postgresql() -> bool:
    return server_url() is not None


def _admin(server: URL):
    return create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextmanager
def fresh_database(template_url: str | None = None) -> Iterator[str | None]:
    """A new, empty PostgreSQL database's URL for the block (a copy of ``template_url``'s database when given), or
    None on SQLite (the settings' default file in the data directory is then the test's database)."""
    server = server_url()
    if server is None:
        yield None
        return
    name = f"dutycycle_test_{uuid.uuid4().hex[:12]}"
    admin = _admin(server)
    template = f' TEMPLATE "{make_url(template_url).database}"' if template_url else ""
    if template_url:
        dispose_engines()  # PostgreSQL copies a database only while nobody is connected to it
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database_url_of(data_dir: Path) -> str:
    """The URL the settings resolve for a test's data directory (SQLite file or the test's PostgreSQL database)."""
    return os.environ.get("DUTYCYCLE_DATABASE_URL") or f"sqlite:///{(data_dir / 'dutycycle.db').resolve()}"


def written_in(data_dir: Path) -> bool:
    """Whether anything has touched the database of a test's data directory (``schema_created``); asked by the data
    directory, so that a failing assertion's report shows a folder, never the URL with its password."""
    return schema_created(database_url_of(data_dir))


def schema_created(url: str) -> bool:
    """Whether anything has touched this database (a refused run must not): on SQLite, whether its file exists;
    on PostgreSQL, where the test's database exists from the start, whether it has any table."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).exists()
    engine = create_engine(url, poolclass=NullPool)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def hold_outbox_lock(url: str) -> Callable[[], None]:
    """Another connection takes, now, the lock a sender's write to the outbox needs; returns its release. SQLite:
    the file's exclusive lock (BEGIN EXCLUSIVE); PostgreSQL: a row lock on every outbox row (SELECT ... FOR UPDATE),
    which the sender's UPDATE waits for until its lock_timeout (the busy timeout setting)."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")

        def release_sqlite() -> None:
            connection.execute("COMMIT")
            connection.close()

        return release_sqlite
    engine = create_engine(url, poolclass=NullPool)
    holder = engine.connect()
    transaction = holder.begin()
    if not holder.execute(select(OutboxMessage.id).with_for_update()).all():
        raise RuntimeError("no outbox row to lock")

    def release_server() -> None:
        transaction.commit()
        holder.close()
        engine.dispose()

    return release_server
