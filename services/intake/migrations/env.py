"""Alembic environment for intake's tables (the SMS notices to reporters, ADR 37)."""

from alembic import context

from shared.platform.readmodel import run_alembic_environment

run_alembic_environment(context)
