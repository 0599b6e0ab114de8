"""Alembic environment for the insight service's table (the tips it suggests and warns from)."""

from alembic import context

from shared.platform.readmodel import run_alembic_environment

run_alembic_environment(context)
