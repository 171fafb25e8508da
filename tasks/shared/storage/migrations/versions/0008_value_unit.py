"""metric values carry their unit: a percentage or a ratio is never read as a rate per 100,000

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        batch.add_column(sa.Column("value_unit", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        batch.drop_column("value_unit")
