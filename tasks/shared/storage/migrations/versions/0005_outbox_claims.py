"""outbox: channels (e-mail, Teams, Slack), HTML part, sender and Reply-To, stable Message-ID, atomic claims

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = [
    ("webhook", sa.String(length=64)),
    ("sender", sa.String(length=512)),
    ("reply_to", sa.String(length=256)),
    ("message_id", sa.String(length=256)),
    ("body_html", sa.Text()),
    ("claimed_by", sa.String(length=64)),
    ("claimed_at", sa.DateTime(timezone=True)),
]


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        # rows written before channels existed were e-mails
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=False, server_default="email"))
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("channel", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
        batch.drop_column("channel")
