"""sign-off decisions, exactly-once deliveries, and submissions' supersession and resubmission history

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("superseded_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resubmits", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resubmit_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("waiting_flow_run_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_submissions_superseded_by", "submissions", ["superseded_by"], ["id"])
        batch.create_foreign_key("fk_submissions_resubmits", "submissions", ["resubmits"], ["id"])
    # the old wording promised a sign-off nothing could give: those rows now await a real approval
    op.execute("UPDATE submissions SET status = 'awaiting approval' WHERE status = 'awaiting sign-off'")
    op.create_table(
        "sign_offs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partnership", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("approver_name", sa.String(length=256), nullable=False),
        sa.Column("approver_role", sa.String(length=256), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "subject_id", "package_sha256", name="uq_sign_offs_version"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partnership", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("adapter", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=96), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_deliveries_key"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("sign_offs")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("fk_submissions_resubmits", type_="foreignkey")
        batch.drop_constraint("fk_submissions_superseded_by", type_="foreignkey")
        for name in ("waiting_flow_run_id", "resubmit_reason", "resubmits", "superseded_by"):
            batch.drop_column(name)
