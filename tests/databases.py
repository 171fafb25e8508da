"""The tests' database: a SQLite file in the test's data directory, or, when DUTYCYCLE_TEST_DATABASE_URL names a
PostgreSQL server (scripts/install-postgres prints one), a fresh database on that server per test, dropped after it.

The URL's role needs CREATEDB. The same tests run on both back ends; only this module knows which one is in use.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

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
