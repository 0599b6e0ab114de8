"""Each relay's record of the stream it publishes to, and how far that stream holds its
outbox (ADR 17): the stream's identity, the relay's position, and the sequence range in which
the stream holds every message up to it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_streams",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("stream", sa.String(64), nullable=False),
        # Identity: when the stream was created, and the cluster / JetStream domain serving it.
        sa.Column("created", sa.String(40), nullable=True),
        sa.Column("server", sa.String(200), nullable=False, server_default=""),
        # Every outbox position up to ``position`` is in the stream between these sequences.
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.BigInteger, nullable=False, server_default="0"),
        # Bumped by every repair and operator command: a relay whose update finds another
        # generation re-reads the row; refills publish under a message id of their generation.
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        # ok · stranger (another stream: refused until adopted) · adopt (asked by an operator)
        sa.Column("state", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("detail", sa.String(300), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("relay_streams")
