"""Migrations run on first use; natural keys make every write idempotent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import inspect, select

from tasks.shared.raw_store import read_stored, store_bytes
from tasks.shared.storage import repository
from tasks.shared.storage.models import Observation, Run
from tasks.shared.storage.session import database_created, dispose_engines, get_engine, session_scope, table_row_counts


def test_schema_is_created_by_migrations(database_url: str) -> None:
    engine = get_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"alembic_version", "runs", "raw_files", "observations", "validation_results", "quarantine",
            "metric_values", "outbox", "deadlines", "submissions"} <= tables


def test_an_unused_database_is_seen_as_not_created_without_creating_it(database_url: str) -> None:
    """The run form asks before any run: an unused database (no SQLite file; a server's empty database) stays
    untouched, and one that was used is seen from another process's view too (no cached engine)."""
    assert not database_created(database_url)
    assert not database_created(database_url)  # asking did not create it
    with session_scope(database_url) as session:
        session.execute(select(Run.id)).all()
    dispose_engines()
    assert database_created(database_url)


def test_same_file_and_observations_twice_add_nothing(tmp_path: Path, database_url: str) -> None:
    url = database_url
    stored = store_bytes(tmp_path / "raw", b"Month,Offences\n2022-04,3\n", ".csv")
    assert store_bytes(tmp_path / "raw", b"Month,Offences\n2022-04,3\n", ".csv") == stored
    assert read_stored(stored.path, stored.sha256).startswith(b"Month")
    frame = pd.DataFrame([dict(partnership="p", dataset="d", measure="m", area_type="lad", area_code="E07000069",
                               period_start=dt.date(2022, 4, 1), period_type="month", age_band="all", sex="all",
                               value=3.0, raw_file_id=None)])
    for _ in range(2):
        with session_scope(url) as session:
            raw, _ = repository.register_raw_file(
                session, partnership="p", source_id="s", dataset="d", original_name="a.csv", sha256=stored.sha256,
                size_bytes=stored.size_bytes, stored_path=str(stored.path), synthetic=False)
            repository.load_observations(session, frame.assign(raw_file_id=raw.id))
    counts = table_row_counts(url)
    assert (counts["raw_files"], counts["observations"]) == (1, 1)

    with session_scope(url) as session:  # a corrected value replaces the old one in place
        repository.load_observations(session, frame.assign(raw_file_id=1, value=5.0))
    with session_scope(url) as session:
        assert repository.read_observations(session, "p")["value"].tolist() == [5.0]


def test_corrupt_stored_file_is_refused(tmp_path: Path) -> None:
    stored = store_bytes(tmp_path, b"abc")
    stored.path.write_bytes(b"abd")
    try:
        read_stored(stored.path, stored.sha256)
    except ValueError as error:
        assert "corrupt" in str(error)
    else:
        raise AssertionError("a changed file must be refused")


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tasks.shared.storage.models import Base

    engine = get_engine(database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_observations_read_back_as_written_in_the_session_s_own_transaction(tmp_path: Path, database_url: str) -> None:
    """Bulk reads and writes go through the session's connection: the same transaction (a write not yet committed
    is read back, a rolled-back one is gone), pending ORM changes first, and the frame's types as written."""
    stored = store_bytes(tmp_path / "raw", b"Code,All ages\nE07000069,91084\n", ".csv")

    def row(partnership: str, dataset: str, area: str, value: float, raw_file_id: int) -> dict:
        return dict(partnership=partnership, dataset=dataset, measure="population", area_type="lad", area_code=area,
                    period_start=dt.date(2022, 6, 30), period_type="mid_year", age_band="all", sex="persons",
                    value=value, raw_file_id=raw_file_id)

    with session_scope(database_url) as session:
        raw, _ = repository.register_raw_file(
            session, partnership="p", source_id="s", dataset="population", original_name="a.csv", sha256=stored.sha256,
            size_bytes=stored.size_bytes, stored_path=str(stored.path), synthetic=False)
        repository.load_observations(session, pd.DataFrame([row("p", "population", "E07000069", 91084.0, raw.id),
                                                            row("q", "population", "E07000075", 87000.0, raw.id)]))
        session.add(Observation(**row("p", "crime", "E07000075", 12.0, raw.id)))  # pending, not flushed
        read = repository.read_observations(session, "p")  # before the commit, in the same transaction
        only = repository.read_observations(session, "p", ["crime"])
    assert read.sort_values("dataset").to_dict("records") == [
        row("p", "crime", "E07000075", 12.0, raw.id), row("p", "population", "E07000069", 91084.0, raw.id)]
    assert only["area_code"].tolist() == ["E07000075"]
    assert [str(t) for t in read.dtypes] == ["str"] * 5 + ["object"] + ["str"] * 3 + ["float64", "int64"]
    assert isinstance(read.at[0, "period_start"], dt.date)
    try:
        with session_scope(database_url) as session:
            repository.load_observations(session, pd.DataFrame([row("p", "population", "E07000069", 1.0, raw.id)]))
            raise RuntimeError("the stage failed after writing")
    except RuntimeError:
        pass
    with session_scope(database_url) as session:
        assert repository.read_observations(session, "p").sort_values("dataset")["value"].tolist() == [12.0, 91084.0]
        assert repository.read_observations(session, "nobody").columns.tolist() == list(read.columns)
