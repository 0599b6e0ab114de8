"""Alembic environment for the tracking service's read tables."""

from alembic import context

from shared.platform.readmodel import run_alembic_environment

run_alembic_environment(context)
