"""The insight service's one table (ADR 23): every tip it has seen — the problem as told,
never the reporter — with its triaged category and whether its case is still open."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shared.platform.readmodel import UtcDateTime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

metadata = sa.MetaData()

tips = sa.Table(
    "insight_tips",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("category", sa.String(64)),
    sa.Column("street", sa.String(100)),
    sa.Column("subject_unit", sa.String(200)),
    sa.Column("subject_person", sa.String(100)),
    sa.Column("registered_at", UtcDateTime, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
)
