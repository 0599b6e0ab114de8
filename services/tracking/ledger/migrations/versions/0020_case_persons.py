"""The people complained about, indexed (被反映人, issue 22's leftover; ADR 43).

``case_persons``: every part (up to four characters) of each case's normalised
``subject.person``, with the case's registration time and number, so that the ledger's
``person`` filter looks a term up by equality and reads its cases in the ledger's order
(``ix_case_persons_part``) instead of reading every case's ``subject`` JSON. Filled here from
the ledger as it stands (``persons.refill``: about a minute a million cases); the ledger
projection keeps it from now on, in the transaction of the ledger rows.

The fill reads ``ledger.case_id``, ``subject``, ``registered_at`` and ``number`` through
today's table definitions: a later migration must not rename or drop them before it.

SQLite sorts NULL first ascending, i.e. last descending, and takes no NULLS clause in an
index: there ``registered_at DESC`` is the ledger's order (as in t0003).

Revision ID: t0020
Revises: t0019
"""

import sqlalchemy as sa
from alembic import op

from services.tracking.ledger import persons
from services.tracking.ledger.tables import Moment

revision = "t0020"
down_revision = "t0019"
branch_labels = None
depends_on = None

INDEX = "ix_case_persons_part"


def upgrade() -> None:
    op.create_table(
        "case_persons",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("part", sa.String(4), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("registered_at", Moment()),
        sa.Column("number", sa.String(20)),
    )
    persons.refill(op.get_bind())
    nulls = "" if op.get_bind().dialect.name == "sqlite" else " NULLS LAST"
    op.create_index(
        INDEX,
        "case_persons",
        ["part", sa.text(f"registered_at DESC{nulls}"), sa.text("number DESC"), "case_id"],
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="case_persons")
    op.drop_table("case_persons")
