"""Substring search on the ledger's summary and content (Chinese text has no word breaks).

PostgreSQL: a trigram GIN index (pg_trgm) makes ``search_text ILIKE '%乱收费%'`` an index
scan; without the extension (no privilege) search still works, as a scan.
SQLite: an FTS5 table with the trigram tokenizer, kept in step with ``ledger`` by triggers
and joined on the row id.

Revision ID: t0002
Revises: t0001
"""

import structlog
from alembic import op
from sqlalchemy import Connection, text

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None

log = structlog.get_logger(__name__)

SQLITE = [
    "CREATE VIRTUAL TABLE ledger_fts USING fts5(search_text, tokenize='trigram')",
    """CREATE TRIGGER ledger_fts_insert AFTER INSERT ON ledger BEGIN
         INSERT INTO ledger_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
       END""",
    """CREATE TRIGGER ledger_fts_update AFTER UPDATE OF search_text ON ledger BEGIN
         DELETE FROM ledger_fts WHERE rowid = old.rowid;
         INSERT INTO ledger_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
       END""",
    """CREATE TRIGGER ledger_fts_delete AFTER DELETE ON ledger BEGIN
         DELETE FROM ledger_fts WHERE rowid = old.rowid;
       END""",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
        return
    schema = _trigram_schema(bind)
    if schema is None:
        log.warning("pg_trgm_unavailable", consequence="ledger search scans the table")
        return
    operators = f'"{schema}".gin_trgm_ops'
    op.execute(f"CREATE INDEX ix_ledger_search_trgm ON ledger USING gin (search_text {operators})")


def _trigram_schema(bind: Connection) -> str | None:
    """Where pg_trgm lives, installing it in ``public`` if it is missing and we may."""
    find = text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.execute(find).scalar()
    if schema is not None:
        return str(schema)
    savepoint = bind.begin_nested()
    try:
        bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except Exception:
        savepoint.rollback()
        return None
    savepoint.commit()
    return "public"


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("ledger_fts_insert", "ledger_fts_update", "ledger_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ledger_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_ledger_search_trgm")
