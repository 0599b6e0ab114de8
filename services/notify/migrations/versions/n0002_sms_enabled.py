"""A person's choice of SMS (短信): off for everyone already in the directory, since a text
message reaches a private phone and is turned on by the person, never assumed.

Revision ID: n0002
Revises: n0001
"""

import sqlalchemy as sa
from alembic import op

revision = "n0002"
down_revision = "n0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notify_persons") as batch:
        batch.add_column(
            sa.Column("sms_enabled", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("notify_persons") as batch:
        batch.drop_column("sms_enabled")
