"""``taizhang backup`` / ``taizhang restore``: one consistent copy of a deployment's stores.

What a copy holds (docs/OPERATIONS.md, "Backup and restore"):

- **Embedded**: every SQLite file under the data directory (each service's event store,
  which is also its outbox and key vault, and the read models), copied with SQLite's backup
  API while a write lock is held on *all* of them at once — a read model can then never be
  ahead of the event store it follows — plus the attachments and the development secrets.
- **PostgreSQL**: ``pg_dump`` of the deployment's schema: one transaction, so every service's
  events, positions and read models are of one instant. The secrets come from the
  environment and are *not* in the copy; the manifest names the key ids the data was sealed
  with — the reporter keys', and the attachment key's generations (ADR 50) — and ``restore``
  refuses settings that lack one.
- **JetStream**: not copied. Streams are rebuilt from the outboxes after a restore (the relays
  publish again from what the restored consumers have applied; consumers are idempotent):
  a stream copied at another instant than the database would hold events the database never
  had. ``restore`` says what to run on a deployment with NATS.

A backup that holds the master reporter key can open every sealed identity whose case key it
also holds, destroyed since or not: keep backups no longer than the retention period
(ADR 6), and the secrets apart from the data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.platform.blobs import is_blob_name
from shared.platform.blobseal import NONCE, generation_ids, named_generation
from shared.platform.settings import Settings, load_secrets, postgres_params

FORMAT = 2  # 2: the attachment generations (ADR 50); a copy of format 1 is read as before
READABLE_FORMATS = frozenset({1, FORMAT})
MANIFEST = "manifest.json"
DUMP = "database.dump"
STORES = "stores"
ATTACHMENTS = "attachments"
DEV_SECRETS = "secrets.json"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class BackupError(RuntimeError):
    """A copy that cannot be taken or restored; the message says why, in Chinese first."""


@dataclass(frozen=True)
class Manifest:
    kind: str  # "embedded" | "postgresql"
    taken_at: str
    schema: str | None
    files: dict[str, str]  # path inside the copy → sha256
    reporter_key_ids: list[str]
    with_nats: bool
    # The generations the copy's attachments are sealed under (ADR 50; none before it).
    attachment_generations: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **self.__dict__}


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): _digest(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def _generations(attachments: Path) -> list[str]:
    """The key generations the copied blobs name in their headers (in use, set aside, staged)."""
    found: set[str] = set()
    for path in attachments.rglob("*"):
        if is_blob_name(path.name) and path.is_file():
            with path.open("rb") as f:
                found.add(named_generation(f.read(NONCE + 32)))
    return sorted(found)


def _sqlite_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.glob("*.sqlite") if p.is_file())


@contextlib.contextmanager
def _all_locked(paths: list[Path]) -> Iterator[None]:
    """A write lock on every file, taken in one order (no deadlock with another backup) and
    held until all are copied: writers wait (their busy timeout) rather than move one store
    past another's copy."""
    connections: list[sqlite3.Connection] = []
    try:
        for path in paths:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            connections.append(conn)
            conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            conn.close()


def _pg_env(settings: Settings) -> tuple[list[str], dict[str, str]]:
    assert settings.database_url is not None
    pg = postgres_params(settings.database_url)
    args = ["--host", pg.host, "--port", str(pg.port), "--username", pg.user, "--dbname", pg.dbname]
    env = {**os.environ, "PGPASSWORD": pg.password} if pg.password else dict(os.environ)
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603  # no shell
    if done.returncode != 0:
        # pg_dump/pg_restore name objects and the server, not the data; keep the last lines.
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise BackupError(f"{what}失败 ({what} failed): {tail}")
    return done.stdout


def backup(settings: Settings, dest: Path, *, now: datetime) -> Manifest:
    """Take one copy into ``dest`` (a new or empty directory)."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"目标目录不为空 (the destination is not empty): {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    if settings.embedded_store:
        paths = _sqlite_files(settings.data_dir)
        if not paths:
            raise BackupError(f"数据目录中没有数据 (no stores in {settings.data_dir})")
        (dest / STORES).mkdir()
        with _all_locked(paths):
            for path in paths:
                # Read through a connection of its own: the lock holder cannot be the source
                # (the backup would wait on its own lock); a reader sees the last commit.
                with (
                    contextlib.closing(sqlite3.connect(path, timeout=30)) as source,
                    contextlib.closing(sqlite3.connect(dest / STORES / path.name)) as copy,
                ):
                    source.backup(copy)
    else:
        args, env = _pg_env(settings)
        _run(
            [
                "pg_dump",
                *args,
                "--format=custom",
                f"--schema={settings.database_schema}",
                "--no-owner",
                "--no-privileges",
                f"--file={dest / DUMP}",
            ],
            env,
            "pg_dump",
        )
    # Development secrets live beside the data (production's come from the environment).
    if (settings.data_dir / DEV_SECRETS).is_file():
        shutil.copy2(settings.data_dir / DEV_SECRETS, dest / DEV_SECRETS)
    # Attachments are written once under their digest and never changed: a copy taken after
    # the stores holds every one the stores name (and perhaps a newer one, unnamed, harmless).
    if (settings.data_dir / ATTACHMENTS).is_dir():
        shutil.copytree(settings.data_dir / ATTACHMENTS, dest / ATTACHMENTS)
    manifest = Manifest(
        kind="embedded" if settings.embedded_store else "postgresql",
        taken_at=now.isoformat(),
        schema=None if settings.embedded_store else settings.database_schema,
        files=_files(dest),
        reporter_key_ids=list(load_secrets(settings).reporter_keys),
        with_nats=settings.nats_url is not None,
        attachment_generations=_generations(dest / ATTACHMENTS),
    )
    (dest / MANIFEST).write_text(json.dumps(manifest.as_json(), ensure_ascii=False, indent=2))
    return manifest


def read_manifest(src: Path) -> Manifest:
    try:
        raw = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise BackupError(f"不是一份备份 (no readable {MANIFEST} in {src})") from e
    if raw.pop("format", None) not in READABLE_FORMATS:
        raise BackupError("备份格式不受支持 (unsupported backup format)")
    manifest = Manifest(**raw)
    damaged = sorted(
        name
        for name, digest in manifest.files.items()
        if not (src / name).is_file() or _digest(src / name) != digest
    )
    if damaged:
        raise BackupError("备份文件缺失或已损坏 (missing or damaged): " + ", ".join(damaged))
    return manifest


def restore(settings: Settings, src: Path, *, replace: bool = False) -> Manifest:
    """Put a copy back. The services must be stopped. Existing data is refused unless
    ``replace``; embedded, it is then kept aside as ``<data_dir>.before-restore``."""
    manifest = read_manifest(src)
    kind = "embedded" if settings.embedded_store else "postgresql"
    if manifest.kind != kind:
        raise BackupError(f"备份为 {manifest.kind},当前配置为 {kind} (the copy is of another kind)")
    if not (src / DEV_SECRETS).is_file():  # sealed with keys the settings must hold
        missing = set(manifest.reporter_key_ids) - set(load_secrets(settings).reporter_keys)
        if missing:
            raise BackupError(
                "当前配置缺少加密举报人身份的密钥 (the reporter keys lack): "
                + ", ".join(sorted(missing))
            )
    configured = settings.attachment_keys
    listed = generation_ids(configured.get_secret_value() if configured is not None else None)
    if missing := set(manifest.attachment_generations) - set(listed):
        raise BackupError(
            "TAIZHANG_ATTACHMENT_KEYS 缺少备份中附件的密钥代,请把它列在最新的之后再恢复,之后运行 "
            "taizhang attachments rekey (the attachment key generations lack): "
            + ", ".join(sorted(missing))
        )
    if kind == "postgresql":
        _restore_postgres(settings, src, manifest, replace=replace)
    else:
        _restore_embedded(settings, src, replace=replace)
    if (src / DEV_SECRETS).is_file():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / DEV_SECRETS, settings.data_dir / DEV_SECRETS)
    if (src / ATTACHMENTS).is_dir():
        shutil.copytree(src / ATTACHMENTS, settings.data_dir / ATTACHMENTS, dirs_exist_ok=True)
    return manifest


def _restore_embedded(settings: Settings, src: Path, *, replace: bool) -> None:
    data_dir = settings.data_dir
    if data_dir.exists() and _sqlite_files(data_dir):
        if not replace:
            raise BackupError(f"数据目录已有数据,加 --replace 才会替换 (data exists in {data_dir})")
        aside = data_dir.with_name(data_dir.name + ".before-restore")
        if aside.exists():
            shutil.rmtree(aside)
        data_dir.rename(aside)
    data_dir.mkdir(parents=True, exist_ok=True)
    for copy in sorted((src / STORES).glob("*.sqlite")):
        shutil.copy2(copy, data_dir / copy.name)


def _restore_postgres(settings: Settings, src: Path, manifest: Manifest, *, replace: bool) -> None:
    args, env = _pg_env(settings)
    schema = settings.database_schema
    if not IDENTIFIER.fullmatch(schema):  # it goes into SQL text below
        raise BackupError(f"schema 名称无效 (invalid schema name): {schema!r}")
    if manifest.schema != schema:
        raise BackupError(f"备份的 schema 为 {manifest.schema},当前为 {schema} (another schema)")
    psql = ["psql", *args, "--no-psqlrc", "--quiet", "--tuples-only", "-v", "ON_ERROR_STOP=1"]
    held = _run(
        [*psql, "-c", f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}'"],  # noqa: S608
        env,
        "psql",
    )
    if int(held.strip() or 0) and not replace:
        raise BackupError(f"schema {schema} 已有数据,加 --replace 才会替换 (data exists)")
    _run(
        [*psql, "-c", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'],
        env,
        "psql",
    )
    # The dump may create the schema itself: leave that one entry out of the restore list.
    listing = _run(["pg_restore", "--list", str(src / DUMP)], env, "pg_restore --list")
    own_schema = re.compile(rf"\bSCHEMA - {re.escape(schema)}\b")
    kept = [line for line in listing.splitlines() if not own_schema.search(line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list") as use_list:
        use_list.write("\n".join(kept) + "\n")
        use_list.flush()
        _run(
            [
                "pg_restore",
                *args,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--use-list={use_list.name}",
                str(src / DUMP),
            ],
            env,
            "pg_restore",
        )
