"""deadlines: when an occurrence was met (a met deadline is no longer reminded or escalated)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("met_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("met_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_column("met_note")
        batch.drop_column("met_on")
