"""Idempotent reads and writes of the pipeline's tables; stages call these, never raw SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tasks.shared.storage.models import (
    OBSERVATION_COLUMNS,
    OBSERVATION_KEY,
    DeadlineRow,
    MetricValue,
    Observation,
    OutboxMessage,
    QuarantineEntry,
    RawFile,
    Run,
    ValidationResult,
    utc_now,
)
from tasks.shared.storage.session import dialect_insert, insert_new, upsert


def record_run(
    session: Session,
    partnership: str,
    financial_year: str,
    stage: str,
    status: str,
    flow_run_id: str | None,
    summary: dict[str, Any] | None = None,
    finished: bool = False,
) -> None:
    """Create or update the run row of a stage (one row per partnership, year and stage), in one
    ``INSERT ... ON CONFLICT DO UPDATE`` so two runs starting at once never collide on the key."""
    now = utc_now()
    table = Run.__table__
    values: dict[str, Any] = dict(
        partnership=partnership, financial_year=financial_year, stage=stage, status=status, flow_run_id=flow_run_id,
        attempts=0 if finished else 1, started_at=now, finished_at=now if finished else None,
    )
    updates: dict[str, Any] = {"status": status, "flow_run_id": flow_run_id}
    if finished:
        updates["finished_at"] = now
    else:
        updates.update(attempts=table.c.attempts + 1, started_at=now, finished_at=None)
    if summary is not None:
        values["summary"] = updates["summary"] = summary
    statement = dialect_insert(session, table).values(**values).on_conflict_do_update(
        index_elements=["partnership", "financial_year", "stage"], set_=updates
    )
    session.execute(statement)


def register_raw_file(
    session: Session,
    *,
    partnership: str,
    source_id: str,
    dataset: str,
    original_name: str,
    sha256: str,
    size_bytes: int,
    stored_path: str,
    synthetic: bool,
) -> tuple[RawFile, bool]:
    """The raw_files row of a stored file; the same bytes again return the existing row (no duplicate, even when
    two workers store the same file at once)."""
    key = dict(partnership=partnership, source_id=source_id, sha256=sha256)
    new_id = insert_new(
        session,
        RawFile.__table__,
        dict(**key, dataset=dataset, original_name=original_name, size_bytes=size_bytes, stored_path=stored_path,
             synthetic=synthetic, status="received"),
        list(key),
    )
    if new_id is not None:
        return session.get(RawFile, new_id), True
    existing = session.scalar(select(RawFile).filter_by(**key))
    return existing, False


def load_observations(session: Session, frame: pd.DataFrame) -> int:
    """Upsert canonical observations on their natural key: re-loading a period replaces, never duplicates."""
    if frame.empty:
        return 0
    records = frame[OBSERVATION_COLUMNS].to_dict("records")
    for record in records:
        record["value"] = float(record["value"])
        record["raw_file_id"] = int(record["raw_file_id"])
    return upsert(session, Observation.__table__, records, OBSERVATION_KEY)


def read_observations(session: Session, partnership: str, datasets: Sequence[str] | None = None) -> pd.DataFrame:
    """Every observation of a partnership (optionally some datasets) as a DataFrame."""
    table = Observation.__table__
    query = select(*[table.c[c] for c in OBSERVATION_COLUMNS]).where(table.c.partnership == partnership)
    if datasets is not None:
        query = query.where(table.c.dataset.in_(list(datasets)))
    # a Core select on the session's connection (the same transaction, the same type conversions), its rows as
    # plain tuples: the ORM's row loading, and pandas reading SQLAlchemy Row objects one by one, cost more than
    # the query itself on a partnership's ~10,000 rows
    session.flush()  # what the ORM's autoflush did before its select: pending changes are seen
    rows = [tuple(row) for row in session.connection().execute(query)]
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


def save_validation_results(
    session: Session,
    *,
    partnership: str,
    financial_year: str,
    stage: str,
    dataset: str,
    suite: str,
    subject: str,
    raw_file_id: int | None,
    records: list[dict[str, Any]],
    flow_run_id: str | None,
) -> None:
    """Store the outcome of every expectation of a suite run on one subject (replacing the last run's)."""
    rows = []
    for index, record in enumerate(records):
        rows.append(
            {
                "partnership": partnership,
                "financial_year": financial_year,
                "stage": stage,
                "dataset": dataset,
                "suite": suite,
                "subject": subject,
                "raw_file_id": raw_file_id,
                "expectation_index": index,
                "expectation_type": record["expectation_type"],
                "column": record.get("column"),
                "severity": record["severity"],
                "success": bool(record["success"]),
                "unexpected_count": int(record.get("unexpected_count") or 0),
                "description": record["description"],
                "observed": None if record.get("observed") is None else str(record.get("observed")),
                "error": record.get("error"),
                "flow_run_id": flow_run_id,
                "checked_at": utc_now(),
            }
        )
    upsert(session, ValidationResult.__table__, rows, ["partnership", "suite", "subject", "expectation_index"])


def quarantine_rows(session: Session, partnership: str, raw_file_id: int, failures: pd.DataFrame) -> int:
    """Keep failing rows (source_row 0 = the whole file) with the rule they broke."""
    if failures.empty:
        return 0
    rows = [
        {
            "partnership": partnership,
            "raw_file_id": raw_file_id,
            "source_row": int(r.source_row),
            "column": str(r.column),
            "value": None if r.value is None else str(r.value),
            "rule": str(r.rule),
            "severity": str(r.severity),
        }
        for r in failures.itertuples(index=False)
    ]
    # one entry per (row, column, rule): a failure reported twice by two expectations is kept once
    unique = {(r["source_row"], r["column"], r["rule"]): r for r in rows}
    return upsert(
        session,
        QuarantineEntry.__table__,
        list(unique.values()),
        ["raw_file_id", "source_row", "column", "rule"],
        update_columns=["value", "severity"],
    )


def set_raw_file_status(
    session: Session, raw_file_id: int, status: str, reason: str | None, period: str | None = None, **counts: int
) -> None:
    row = session.get(RawFile, raw_file_id)
    row.status = status
    row.status_reason = reason
    if period is not None:
        row.period = period
    for name, value in counts.items():
        setattr(row, name, value)


def earlier_files_of_source(session: Session, partnership: str, source_id: str, before_id: int) -> list[RawFile]:
    """The source's files stored before a new one that are in force: loaded, or held in quarantine."""
    return list(
        session.scalars(
            select(RawFile).where(
                RawFile.partnership == partnership,
                RawFile.source_id == source_id,
                RawFile.status.in_(["loaded", "quarantined"]),
                RawFile.id < before_id,
            )
        ).all()
    )


def supersede_files(session: Session, earlier: list[RawFile], new_id: int) -> list[int]:
    """A corrected file replaces earlier files for overlapping periods, loaded or quarantined: their observations
    are deleted (the new file's are loaded next, so nothing is left over from the old version) and they are marked
    superseded, keeping the files, their checks and their history."""
    ids = [row.id for row in earlier]
    if ids:
        session.execute(delete(Observation).where(Observation.raw_file_id.in_(ids)))
        for row in earlier:
            row.status = "superseded"
            row.superseded_by = new_id
            row.status_reason = f"replaced by a later file for an overlapping period (raw file {new_id})"
    return ids


FILE_COLUMNS = ["source_id", "original_name", "period", "status", "reason", "rows_read", "rows_loaded", "received_at",
                "checked_in"]
FAILURE_COLUMNS = ["source_id", "original_name", "source_row", "column", "value", "rule", "severity"]


def file_register(session: Session, partnership: str) -> pd.DataFrame:
    """Every stored file of a partnership with its period and status (loaded, quarantined, superseded), and the
    financial year whose collection last checked it (``checked_in``: the year a file without a period belongs to)."""
    checked = (
        select(ValidationResult.raw_file_id, func.max(ValidationResult.financial_year).label("checked_in"))
        .where(ValidationResult.stage == "collect", ValidationResult.raw_file_id.is_not(None))
        .group_by(ValidationResult.raw_file_id)
        .subquery()
    )
    rows = session.execute(
        select(
            RawFile.source_id, RawFile.original_name, RawFile.period, RawFile.status, RawFile.status_reason,
            RawFile.rows_read, RawFile.rows_loaded, RawFile.received_at, checked.c.checked_in,
        ).outerjoin(checked, checked.c.raw_file_id == RawFile.id)
        .where(RawFile.partnership == partnership).order_by(RawFile.source_id, RawFile.original_name, RawFile.id)
    ).all()
    return pd.DataFrame(rows, columns=FILE_COLUMNS)


def stored_files(session: Session, partnership: str) -> pd.DataFrame:
    """Every stored file of a partnership: its dataset, name, size, period and status."""
    columns = ["dataset", "original_name", "size_bytes", "period", "status"]
    rows = session.execute(
        select(*[getattr(RawFile, c) for c in columns]).where(RawFile.partnership == partnership)
    ).all()
    return pd.DataFrame(rows, columns=columns)


def has_observations(
    session: Session, partnership: str, datasets: Sequence[str], first: dt.date, last: dt.date
) -> bool:
    """True when some observation of these datasets starts between two days (inclusive)."""
    return session.execute(
        select(Observation.id).where(
            Observation.partnership == partnership, Observation.dataset.in_(list(datasets)),
            Observation.period_start >= first, Observation.period_start <= last,
        ).limit(1)
    ).first() is not None


def failure_register(session: Session, partnership: str) -> pd.DataFrame:
    """Every failing row or file of a partnership's stored files, with the rule it broke."""
    rows = session.execute(
        select(
            RawFile.source_id, RawFile.original_name, QuarantineEntry.source_row, QuarantineEntry.column,
            QuarantineEntry.value, QuarantineEntry.rule, QuarantineEntry.severity,
        )
        .join(RawFile, RawFile.id == QuarantineEntry.raw_file_id)
        .where(QuarantineEntry.partnership == partnership, RawFile.status != "superseded")
        .order_by(RawFile.original_name, QuarantineEntry.source_row)
    ).all()
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS)


def replace_metric_values(
    session: Session, partnership: str, periods: Sequence[str], values: pd.DataFrame, flow_run_id: str | None
) -> int:
    """The partnership's metric values of the periods a run recomputed, replaced by the run's: delete, then insert,
    in the caller's one transaction (a reader sees the old window or the new one, never a mix). A value the run no
    longer produces (its source file withdrawn, an area or a metric version gone) leaves the database with it,
    instead of staying in every later output beside the new figures."""
    window = sorted(set(periods) | set(values["period"]) if len(values) else set(periods))
    session.execute(delete(MetricValue).where(MetricValue.partnership == partnership,
                                              MetricValue.period.in_(window)))
    return save_metric_values(session, partnership, values, flow_run_id)


def save_metric_values(session: Session, partnership: str, values: pd.DataFrame, flow_run_id: str | None) -> int:
    """Upsert metric values on (metric, version, area, period, age band)."""
    columns = [c.name for c in MetricValue.__table__.columns if c.name not in ("id",)]
    records = []
    now = utc_now()
    for record in values.to_dict("records"):
        row = {c: record.get(c) for c in columns if c in record}
        for key, value in row.items():
            if isinstance(value, float) and value != value:  # NaN -> NULL
                row[key] = None
        row.update(partnership=partnership, flow_run_id=flow_run_id, computed_at=now)
        records.append(row)
    return upsert(
        session,
        MetricValue.__table__,
        records,
        ["partnership", "metric_id", "metric_version", "area_code", "period", "age_band"],
    )


def read_metric_values(session: Session, partnership: str, periods: Sequence[str]) -> pd.DataFrame:
    rows = session.scalars(
        select(MetricValue).where(MetricValue.partnership == partnership, MetricValue.period.in_(list(periods)))
    ).all()
    columns = [c.name for c in MetricValue.__table__.columns]
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)


def enqueue_message(session: Session, message: dict[str, Any]) -> bool:
    """Write a message to the outbox once: a message with the same dedupe key is never added twice (not even by two
    runs queueing it at the same moment)."""
    return insert_new(session, OutboxMessage.__table__, message, ["dedupe_key"]) is not None


def last_sent(session: Session, partnership: str, kind: str) -> dict[str, Any]:
    """When each person was last sent a kind of message (e.g. their data-quality report), by stakeholder id."""
    rows = session.execute(
        select(OutboxMessage.recipient_id, func.max(OutboxMessage.delivered_at))
        .where(OutboxMessage.partnership == partnership, OutboxMessage.kind == kind, OutboxMessage.status == "sent")
        .group_by(OutboxMessage.recipient_id)
    ).all()
    return {recipient: when for recipient, when in rows if when is not None}


def upsert_deadlines(session: Session, rows: list[dict[str, Any]]) -> None:
    upsert(session, DeadlineRow.__table__, rows, ["partnership", "deadline_id", "period"])


def deadline_row(session: Session, partnership: str, deadline_id: str, period: str) -> DeadlineRow | None:
    return session.scalar(
        select(DeadlineRow).where(
            DeadlineRow.partnership == partnership, DeadlineRow.deadline_id == deadline_id, DeadlineRow.period == period
        )
    )


def deadline_by_id(session: Session, row_id: int) -> DeadlineRow:
    return session.get(DeadlineRow, row_id)


def mark_deadline_met(
    session: Session, partnership: str, deadline_id: str, period: str, met_on: dt.date, note: str
) -> bool:
    """Record that an occurrence of a deadline was met (False when the deadlines run has not recorded it yet)."""
    row = deadline_row(session, partnership, deadline_id, period)
    if row is None:
        return False
    row.met_on, row.met_note = met_on, note
    return True


def met_deadlines(session: Session, partnership: str) -> dict[tuple[str, str], dt.date]:
    """(deadline id, period) -> the date it was met, for the partnership's met deadlines."""
    rows = session.execute(
        select(DeadlineRow.deadline_id, DeadlineRow.period, DeadlineRow.met_on).where(
            DeadlineRow.partnership == partnership, DeadlineRow.met_on.is_not(None)
        )
    ).all()
    return {(r.deadline_id, r.period): r.met_on for r in rows}


def observation_period_starts(session: Session, partnership: str, datasets: Sequence[str]) -> list[dt.date]:
    """The distinct first days of the periods that a partnership's observations of these datasets cover."""
    return list(session.execute(
        select(Observation.period_start).where(
            Observation.partnership == partnership, Observation.dataset.in_(list(datasets))
        ).distinct()
    ).scalars())
