"""raw files: superseded_by, so a corrected resubmission replaces an earlier file with history kept

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raw_files") as batch:
        batch.add_column(sa.Column("superseded_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_raw_files_superseded_by", "raw_files", ["superseded_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("raw_files") as batch:
        batch.drop_constraint("fk_raw_files_superseded_by", type_="foreignkey")
        batch.drop_column("superseded_by")
