"""Database engine, automatic migrations and idempotent writes."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, func, inspect, select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from tasks.shared.settings import get_settings
from tasks.shared.storage.models import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the CLI, reports) see the database while a flow writes to it.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    busy_ms = int(get_settings().database_busy_timeout_seconds * 1000)
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def _postgresql_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
    # A row or table another connection holds is waited for as long as SQLite waits for its lock, then fails with
    # an OperationalError (LockNotAvailable) that callers handle as "database locked" (the outbox leaves a receipt),
    # instead of waiting for ever. 0 in PostgreSQL would mean no limit: the shortest wait is 1 ms.
    milliseconds = max(1, int(get_settings().database_busy_timeout_seconds * 1000))
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT set_config('lock_timeout', %s, false)", (f"{milliseconds}ms",))
    cursor.close()
    dbapi_connection.commit()  # kept for the session: the pool's rollback on return would undo it otherwise


def alembic_config(url: str) -> Any:
    """An Alembic configuration pointing at our migrations, built in code (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(engine: Engine) -> None:
    """Apply every pending Alembic migration to the database behind the engine."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def get_engine(url: str) -> Engine:
    """One engine per database URL, migrated to the newest schema on first use."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                _sqlite_folder(Path(url.removeprefix("sqlite:///")))
            engine = _create_engine(url)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            elif engine.dialect.name == "postgresql":
                event.listen(engine, "connect", _postgresql_lock_timeout)
            upgrade_schema(engine)
            _engines[url] = engine
        return engine


def _create_engine(url: str, **options: Any) -> Engine:
    try:
        return create_engine(url, future=True, **options)
    except (ArgumentError, ValueError):
        # SQLAlchemy's own message quotes the whole URL, password included: say what is wrong without it
        raise ValueError(
            "the database URL (DUTYCYCLE_DATABASE_URL) is not a valid SQLAlchemy URL such as "
            "postgresql+psycopg://user:password@host:5432/dutycycle"
        ) from None


def _sqlite_folder(path: Path) -> None:
    """Make the folder of the default database (inside the data directory) on first use; a database named by
    DUTYCYCLE_DATABASE_URL must already have its folder: one that is gone (an unmounted share, a moved disk) is an
    error ("unable to open database file"), never a new, empty database that would hide every recorded run."""
    settings = get_settings()
    named = settings.database_url is not None and settings.database_url.get_secret_value().strip()
    if not named:
        path.parent.mkdir(parents=True, exist_ok=True)


def database_created(url: str) -> bool:
    """Whether the database holds our schema already, found without creating or migrating anything (the first
    use does that): a SQLite file, whether it exists (reading it would create it); a server's database, which the
    server creates empty, whether its migrations' table is there."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    with _lock:
        if url in _engines:
            return True
    engine = _create_engine(url, poolclass=NullPool)
    try:
        return inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases between cases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back on error."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    with factory.begin() as session:
        yield session


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key_columns: Sequence[str],
    update_columns: Iterable[str] | None = None,
) -> int:
    """Insert rows, or update them in place where their natural key already exists.

    Works on SQLite and PostgreSQL (both support ``ON CONFLICT ... DO UPDATE``).
    """
    if not rows:
        return 0
    columns = tuple(rows[0].keys())
    updates = tuple(c for c in (update_columns if update_columns is not None else columns) if c not in key_columns)
    statement = _upsert_statement(session.get_bind().dialect.name, table, tuple(key_columns), updates)
    # one statement for every row (executemany): compiled once and cached, where a multi-row VALUES statement
    # per chunk was compiled anew each time and cost more than the database's own work
    session.execute(statement, list(rows))
    return len(rows)


_upsert_statements: dict[tuple, Any] = {}


def _upsert_statement(dialect: str, table: Table, key_columns: tuple[str, ...], updates: tuple[str, ...]) -> Any:
    """The ``INSERT ... ON CONFLICT`` statement of a table, built once per dialect, key and updated columns."""
    cache_key = (dialect, table, key_columns, updates)
    statement = _upsert_statements.get(cache_key)
    if statement is not None:
        return statement
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - only the two supported back ends reach here
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    statement = insert(table)
    if updates:
        statement = statement.on_conflict_do_update(
            index_elements=list(key_columns), set_={c: statement.excluded[c] for c in updates}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key_columns))
    _upsert_statements[cache_key] = statement
    return statement


def dialect_insert(session: Session, table: Table) -> Any:
    """An INSERT for the session's database with its ON CONFLICT clauses (SQLite's and PostgreSQL's)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - only the two supported back ends reach here
        raise NotImplementedError(f"ON CONFLICT is not implemented for {dialect}")
    return insert(table)


def insert_new(session: Session, table: Table, values: dict[str, Any], key_columns: Sequence[str]) -> int | None:
    """Insert one row unless a row with its natural key exists: the new row's id, or None when the key was taken.

    One ``INSERT ... ON CONFLICT DO NOTHING`` statement, not a select then an insert, so two writers at once (two
    workers, threads or runs) never both insert and never fail on the unique constraint: PostgreSQL makes the
    second wait for the first to commit and then skips, SQLite's write lock serialises them.
    """
    statement = (
        dialect_insert(session, table).values(**values)
        .on_conflict_do_nothing(index_elements=list(key_columns))
        .returning(table.c.id)
    )
    return session.execute(statement).scalar_one_or_none()


def table_row_counts(url: str) -> dict[str, int]:
    """Rows in every table of the schema (used by the idempotency check and the CLI)."""
    counts: dict[str, int] = {}
    with session_scope(url) as session:
        for name, table in sorted(Base.metadata.tables.items()):
            counts[name] = session.execute(select(func.count()).select_from(table)).scalar_one()
    return counts
