"""The database schema: the only place that knows the tables.

Every table has a natural key with a unique constraint, so re-running a stage for the same
partnership and period updates rows in place instead of adding new ones.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The canonical long format every source is normalised into (see ../shared/architecture.md).
OBSERVATION_KEY = [
    "partnership",
    "dataset",
    "measure",
    "area_type",
    "area_code",
    "period_start",
    "period_type",
    "age_band",
    "sex",
]
OBSERVATION_COLUMNS = [*OBSERVATION_KEY, "value", "raw_file_id"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: DateTime(timezone=True)}


class Run(Base):
    """The latest run of one stage for a partnership and financial year (history lives in Prefect)."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("partnership", "financial_year", "stage", name="uq_runs_stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    financial_year: Mapped[str] = mapped_column(String(7))
    stage: Mapped[str] = mapped_column(String(32))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[dt.datetime | None]
    summary: Mapped[dict | None] = mapped_column(JSON)


class RawFile(Base):
    """One input file exactly as received, stored content-addressed in the raw store."""

    __tablename__ = "raw_files"
    __table_args__ = (UniqueConstraint("partnership", "source_id", "sha256", name="uq_raw_files_content"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    period: Mapped[str | None] = mapped_column(String(16))
    original_name: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    stored_path: Mapped[str] = mapped_column(String(1024))
    received_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default="received")
    status_reason: Mapped[str | None] = mapped_column(Text)
    rows_read: Mapped[int | None]
    rows_loaded: Mapped[int | None]
    # a corrected resubmission for the same source and period replaces this file; the file and its history stay
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("raw_files.id"))


class Observation(Base):
    """One canonical aggregate figure: a measure for an area, period, age band and sex."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint(
            "partnership",
            "dataset",
            "measure",
            "area_type",
            "area_code",
            "period_start",
            "period_type",
            "age_band",
            "sex",
            name="uq_observations_natural_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    measure: Mapped[str] = mapped_column(String(96))
    area_type: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_type: Mapped[str] = mapped_column(String(24))
    age_band: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    raw_file_id: Mapped[int] = mapped_column(ForeignKey("raw_files.id"))


class ValidationResult(Base):
    """The outcome of one expectation of one suite on one subject (a raw file or a dataset)."""

    __tablename__ = "validation_results"
    __table_args__ = (
        UniqueConstraint("partnership", "suite", "subject", "expectation_index", name="uq_validation_results"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    financial_year: Mapped[str] = mapped_column(String(7))
    stage: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(64))
    suite: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(256))
    raw_file_id: Mapped[int | None] = mapped_column(ForeignKey("raw_files.id"))
    expectation_index: Mapped[int] = mapped_column(Integer)
    expectation_type: Mapped[str] = mapped_column(String(128))
    column: Mapped[str | None] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean)
    unexpected_count: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text)
    observed: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class QuarantineEntry(Base):
    """A failing row (or a whole failing file when source_row is 0), kept with the rule it broke."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("raw_file_id", "source_row", "column", "rule", name="uq_quarantine"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    raw_file_id: Mapped[int] = mapped_column(ForeignKey("raw_files.id"))
    source_row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(128))
    value: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    quarantined_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class MetricValue(Base):
    """One computed measure for an area, financial year and age band, with the definition version used."""

    __tablename__ = "metric_values"
    __table_args__ = (
        UniqueConstraint(
            "partnership", "metric_id", "metric_version", "area_code", "period", "age_band", name="uq_metric_values"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    metric_id: Mapped[str] = mapped_column(String(96))
    metric_version: Mapped[int] = mapped_column(Integer)
    area_type: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    age_band: Mapped[str] = mapped_column(String(16))
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    lower_ci_95: Mapped[float | None] = mapped_column(Float)
    upper_ci_95: Mapped[float | None] = mapped_column(Float)
    lower_ci_998: Mapped[float | None] = mapped_column(Float)
    upper_ci_998: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(64))
    multiplier: Mapped[int] = mapped_column(Integer)
    # what the value is in: "per 100,000", "%", "ratio (reference = 100)" or "count" (the metric's statistic)
    value_unit: Mapped[str | None] = mapped_column(String(32))
    change_on_previous: Mapped[float | None] = mapped_column(Float)
    change_on_previous_percent: Mapped[float | None] = mapped_column(Float)
    baseline_value: Mapped[float | None] = mapped_column(Float)
    compared_with_baseline: Mapped[str | None] = mapped_column(String(48))
    trend: Mapped[str | None] = mapped_column(String(48))
    compared_with_england: Mapped[str | None] = mapped_column(String(24))
    compared_with_region: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    raw_file_ids: Mapped[list | None] = mapped_column(JSON)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class OutboxMessage(Base):
    """A message to a stakeholder on one channel, written once and delivered exactly once.

    status: pending -> sending (claimed by one process) -> sent | failed (retried) ; cancelled by hand.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    recipient_id: Mapped[str] = mapped_column(String(64))
    recipient_email: Mapped[str] = mapped_column(String(256))
    # the secret's name, never the URL: webhook URLs are credentials
    webhook: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str | None] = mapped_column(String(512))
    reply_to: Mapped[str | None] = mapped_column(String(256))
    # stable across retries, so a copy sent twice is recognisable by mail clients and webhook receivers
    message_id: Mapped[str | None] = mapped_column(String(256))
    subject: Mapped[str] = mapped_column(String(512))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[dt.datetime | None]
    delivery_channel: Mapped[str | None] = mapped_column(String(16))
    delivery_ref: Mapped[str | None] = mapped_column(String(1024))
    last_error: Mapped[str | None] = mapped_column(Text)


class DeadlineRow(Base):
    """A dated occurrence of a configured deadline for one partnership and period."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("partnership", "deadline_id", "period", name="uq_deadlines"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    deadline_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(256))
    delivers: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[dt.date] = mapped_column(Date)
    recipient: Mapped[str] = mapped_column(String(256))
    legal_basis: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    # set by `dutycycle deadline-met`: a met deadline is neither reminded nor escalated any more
    met_on: Mapped[dt.date | None] = mapped_column(Date)
    met_note: Mapped[str | None] = mapped_column(Text)


class Submission(Base):
    """A built submission package, stored with its checksum, against the deadline it answers."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("deadline_row_id", "package_sha256", name="uq_submissions_package"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    financial_year: Mapped[str] = mapped_column(String(7))
    deadline_row_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"))
    package_sha256: Mapped[str] = mapped_column(String(64))
    package_path: Mapped[str] = mapped_column(String(1024))
    measures_rows: Mapped[int] = mapped_column(Integer)
    validation_status: Mapped[str] = mapped_column(String(16))
    # awaiting approval | held for resubmission | superseded | approved | rejected | delivered (tasks/shared/signoff.py)
    status: Mapped[str] = mapped_column(String(32))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # the newer package of the same deadline that replaced this one before it was approved
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    # a corrected resubmission: the delivered (or approved) submission it replaces, and why (`dutycycle resubmit`)
    resubmits: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    resubmit_reason: Mapped[str | None] = mapped_column(Text)
    # the paused flow run waiting for this package's sign-off (so `dutycycle approve` can resume it)
    waiting_flow_run_id: Mapped[str | None] = mapped_column(String(64))


class SignOff(Base):
    """A named person's decision on one version (checksum) of an output before it leaves the system."""

    __tablename__ = "sign_offs"
    # one decision per version: a changed package is a new version and needs its own
    __table_args__ = (UniqueConstraint("kind", "subject_id", "package_sha256", name="uq_sign_offs_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # submission | board_pack | publication
    subject_id: Mapped[int] = mapped_column(Integer)  # the submission's id for kind 'submission'
    package_sha256: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    approver_name: Mapped[str] = mapped_column(String(256))
    approver_role: Mapped[str] = mapped_column(String(256))
    comment: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(16))  # prefect-ui (the paused run's form or its API) | terminal
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Delivery(Base):
    """One approved package version handed to its receiver, claimed before sending so it goes exactly once.

    status: pending -> sending (claimed) -> delivered | failed (claimable again); a claim whose process died is taken over.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_deliveries_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    package_sha256: Mapped[str] = mapped_column(String(64))
    # submission id + checksum: sent on every attempt so the receiver keeps one copy
    idempotency_key: Mapped[str] = mapped_column(String(160))
    adapter: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(96))
    claimed_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    receipt: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class BoardPack(Base):
    """One version (checksum) of the board's metric pack of a year, held until a named approver signs it off.

    status: awaiting approval -> approved -> sent | rejected; superseded when a changed pack replaces it unsent.
    """

    __tablename__ = "board_packs"
    __table_args__ = (UniqueConstraint("partnership", "financial_year", "pack_sha256", name="uq_board_packs_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(64))
    financial_year: Mapped[str] = mapped_column(String(7))
    # sha256 of what would leave: each message's recipient, channel, subject and text, each attachment's checksum
    pack_sha256: Mapped[str] = mapped_column(String(64))
    contents: Mapped[dict] = mapped_column(JSON)  # the identity's inputs, so a reviewer sees what was approved
    status: Mapped[str] = mapped_column(String(32))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    # the paused notify run waiting for this pack's sign-off (so `dutycycle approve --kind board-pack` resumes it)
    waiting_flow_run_id: Mapped[str | None] = mapped_column(String(64))
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("board_packs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[dt.datetime | None]
