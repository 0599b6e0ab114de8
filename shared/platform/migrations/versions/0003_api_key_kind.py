"""An evaluator's API key names its kind (人大代表, 政协委员 …): the kind an evaluation is
recorded under comes from the credential, never from the request body (ADR 20).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("kind", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "kind")
