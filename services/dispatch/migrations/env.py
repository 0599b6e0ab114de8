"""Alembic environment for the dispatch service's read tables (the desk and the schedule)."""

from alembic import context

from shared.platform.readmodel import run_alembic_environment

run_alembic_environment(context)
