"""Two writers of the same natural key at the same moment (two workers, threads or runs) both succeed and leave one
row; migrations go up from empty, down to nothing and up again. On SQLite, and on PostgreSQL when
DUTYCYCLE_TEST_DATABASE_URL names a server (tests/databases.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.pool import NullPool

from tasks.shared import package_delivery
from tasks.shared.signoff import SignOffInput, record_decision
from tasks.shared.storage import repository
from tasks.shared.storage.models import Base, DeadlineRow, Delivery, OutboxMessage, RawFile, Run, SignOff, Submission
from tasks.shared.storage.session import alembic_config, get_engine, session_scope
from tasks.submit.submissions import AWAITING, record_package

RAW = dict(partnership="p", source_id="s", dataset="d", original_name="a.csv", sha256="ab" * 32, size_bytes=3,
           stored_path="/x", synthetic=False)


def _wait_until_blocked(url: str, thread: threading.Thread) -> None:
    """Hold on until the second writer waits for the first one's lock (PostgreSQL shows it in pg_stat_activity;
    SQLite does not, so give the thread a moment to reach its write)."""
    if not url.startswith("postgresql"):
        thread.join(timeout=1.0)
        return
    watcher = create_engine(url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + 120
        while thread.is_alive() and time.monotonic() < deadline:
            with watcher.connect() as connection:
                waiting = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
    finally:
        watcher.dispose()


def _race(url: str, first: Callable[[Any], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """``first`` writes in a transaction kept open until ``second`` (another thread, its own transaction) has
    reached the same key; then ``first`` commits. Returns both results; an error in ``second`` is raised here."""
    outcome: dict[str, Any] = {}

    def run_second() -> None:
        try:
            outcome["value"] = second()
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = error

    get_engine(url)  # migrate before the race, not inside it
    thread = threading.Thread(target=run_second)
    with session_scope(url) as session:
        result = first(session)
        session.flush()
        thread.start()
        _wait_until_blocked(url, thread)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the second writer never finished"
    if "error" in outcome:
        raise outcome["error"]
    return result, outcome["value"]


def _count(url: str, model: type) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_same_file_registered_by_two_workers_at_once_is_one_row(database_url: str) -> None:
    def second() -> tuple[int, bool]:
        with session_scope(database_url) as session:
            row, created = repository.register_raw_file(session, **RAW)
            return row.id, created

    (first_row, first_created), (second_id, second_created) = _race(
        database_url, lambda s: repository.register_raw_file(s, **RAW), second)
    assert (first_created, second_created) == (True, False)
    assert second_id == first_row.id
    assert _count(database_url, RawFile) == 1


def test_a_message_queued_by_two_runs_at_once_is_queued_once(database_url: str) -> None:
    message = dict(partnership="p", dedupe_key="p/2022-23/board/metric-pack", kind="metric_pack", recipient_id="chair",
                   recipient_email="chair@example.invalid", subject="Measures", body_text="...")

    def second() -> bool:
        with session_scope(database_url) as session:
            return repository.enqueue_message(session, dict(message))

    assert _race(database_url, lambda s: repository.enqueue_message(s, dict(message)), second) == (True, False)
    assert _count(database_url, OutboxMessage) == 1
    with session_scope(database_url) as session:
        row = session.scalar(select(OutboxMessage))
        assert (row.status, row.channel, row.attempts) == ("pending", "email", 0)  # the model's defaults


def test_a_stage_started_by_two_runs_at_once_counts_two_attempts(database_url: str) -> None:
    def start(session: Any, run_id: str) -> None:
        repository.record_run(session, "p", "2022-23", "collect", "running", run_id)

    def second() -> None:
        with session_scope(database_url) as session:
            start(session, "run-2")

    _race(database_url, lambda s: start(s, "run-1"), second)
    with session_scope(database_url) as session:
        [row] = session.scalars(select(Run)).all()
        assert (row.attempts, row.flow_run_id, row.status, row.finished_at) == (2, "run-2", "running", None)
        repository.record_run(session, "p", "2022-23", "collect", "completed", "run-2", summary={"files": 3},
                              finished=True)
    with session_scope(database_url) as session:
        [row] = session.scalars(select(Run)).all()
        assert (row.attempts, row.status, row.summary) == (2, "completed", {"files": 3})
        assert row.finished_at is not None


def _deadline_and_submission(url: str) -> tuple[int, int]:
    import datetime as dt

    with session_scope(url) as session:
        repository.upsert_deadlines(session, [dict(
            partnership="p", deadline_id="home-office", period="2022-23", title="t", delivers="package",
            due_date=dt.date(2024, 1, 31), recipient="Home Office", legal_basis="x", source="y", confirmed=True)])
    with session_scope(url) as session:
        deadline_id = session.scalar(select(DeadlineRow.id))
        submission, _ = record_package(session, _package(deadline_id, "cd" * 32))
        return deadline_id, submission.id


def _package(deadline_id: int, sha: str) -> dict[str, Any]:
    return dict(partnership="p", financial_year="2022-23", deadline_row_id=deadline_id, package_sha256=sha,
                package_path="/p.zip", measures_rows=3, validation_status="passed", status=AWAITING)


def test_the_same_package_recorded_by_two_builds_at_once_is_one_submission(database_url: str) -> None:
    deadline_id, _ = _deadline_and_submission(database_url)

    def second() -> tuple[int, bool]:
        with session_scope(database_url) as session:
            row, created = record_package(session, _package(deadline_id, "ef" * 32))
            return row.id, created

    (first_row, first_created), (second_id, second_created) = _race(
        database_url, lambda s: record_package(s, _package(deadline_id, "ef" * 32)), second)
    assert (first_created, second_created, second_id) == (True, False, first_row.id)
    with session_scope(database_url) as session:
        statuses = dict(session.execute(select(Submission.package_sha256, Submission.status)).all())
    assert statuses == {"cd" * 32: "superseded", "ef" * 32: AWAITING}


def test_a_delivery_opened_by_two_workers_at_once_is_one_row(database_url: str) -> None:
    _, submission_id = _deadline_and_submission(database_url)
    args = ("p", submission_id, "cd" * 32, "file_drop", "/drop")

    def first(session: Any) -> int:
        key = package_delivery.idempotency_key("p", submission_id, "cd" * 32)
        row = Delivery(partnership="p", submission_id=submission_id, package_sha256="cd" * 32, idempotency_key=key,
                       adapter="file_drop", target="/drop", status="pending", attempts=0)
        session.add(row)
        session.flush()
        return row.id

    first_id, second_id = _race(database_url, first, lambda: package_delivery.open_delivery(database_url, *args))
    assert second_id == first_id
    assert _count(database_url, Delivery) == 1


def test_two_sign_offs_of_one_version_at_once_keep_the_first(database_url: str) -> None:
    _, submission_id = _deadline_and_submission(database_url)
    key = dict(kind="submission", subject_id=submission_id, package_sha256="cd" * 32)

    def first(session: Any) -> None:
        session.add(SignOff(partnership="p", **key, decision="approve", approver_name="Sam Taylor",
                            approver_role="Head", comment="", via="terminal"))

    rejection = SignOffInput(decision="reject", approver_name="Ali Khan", approver_role="Chair", comment="wrong year")
    _, (decision, created) = _race(database_url, first, lambda: record_decision(
        database_url, "p", "submission", submission_id, "cd" * 32, rejection, "prefect-ui", None))
    assert (created, decision.decision, decision.approver_name) == (False, "approve", "Sam Taylor")
    assert _count(database_url, SignOff) == 1


def test_migrations_go_up_from_empty_down_to_nothing_and_up_again(database_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        config = alembic_config(database_url)
        for target in ("head", "base", "head"):
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                (command.upgrade if target == "head" else command.downgrade)(config, target)
            tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
            assert tables == (set(Base.metadata.tables) if target == "head" else set()), target
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()
