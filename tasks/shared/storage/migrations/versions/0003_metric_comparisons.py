"""metric values: 99.8% intervals, comparison with the 3-year baseline, trend marker, comparison with England

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = [
    ("lower_ci_998", sa.Float()),
    ("upper_ci_998", sa.Float()),
    ("baseline_value", sa.Float()),
    ("compared_with_baseline", sa.String(length=48)),
    ("trend", sa.String(length=48)),
    ("compared_with_england", sa.String(length=24)),
]


def upgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
