"""board packs: the board's metric pack held, per version, until a named approver signs it off

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_packs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partnership", sa.String(length=64), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("pack_sha256", sa.String(length=64), nullable=False),
        sa.Column("contents", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("waiting_flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("superseded_by", sa.Integer(), sa.ForeignKey("board_packs.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("partnership", "financial_year", "pack_sha256", name="uq_board_packs_version"),
    )


def downgrade() -> None:
    op.drop_table("board_packs")
