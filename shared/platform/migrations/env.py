"""Alembic environment for the tables owned by ``shared`` (credentials)."""

from alembic import context

from shared.platform.readmodel import run_alembic_environment

run_alembic_environment(context)
