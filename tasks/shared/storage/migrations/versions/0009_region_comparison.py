"""metric values: comparison with the region (as Fingertips publishes it, beside the comparison with England)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        batch.add_column(sa.Column("compared_with_region", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        batch.drop_column("compared_with_region")
