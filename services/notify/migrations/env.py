"""Alembic environment for the notify service's tables (persons, messages, cases)."""

from alembic import context

from shared.platform.readmodel import run_alembic_environment

run_alembic_environment(context)
