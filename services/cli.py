"""``taizhang``: run the services and print credentials for scripts.

Every command reads the same :class:`Settings`, so a token printed here is accepted by a
server started on the same data directory (or with the same secrets).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import TaskID
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ops.deployment import (
    Unreachable,
    check_reachable,
    load_env_file,
    unnoticed_deployment,
)
from shared.platform.clock import clock_for
from shared.platform.readmodel import create_engine, ensure_schema, migrate, run_sync
from shared.platform.settings import ConfigurationError, Secrets, Settings, load_secrets
from shared.web.auth import Role, create_api_key, issue_token, list_api_keys, revoke_api_key

if TYPE_CHECKING:  # the registry imports every service: only the commands that need it do
    from services.registry import ReporterKeys

app = typer.Typer(help="台账 — complaint & problem tracking", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for integrations (hotline call centres, portals)")
app.add_typer(apikey_app, name="apikey")
reporters_app = typer.Typer(help="Reporter identity keys: retention and rotation")
app.add_typer(reporters_app, name="reporters")

projections_app = typer.Typer(help="Read models built from the event stores")
app.add_typer(projections_app, name="projections")
audit_app = typer.Typer(help="The read audit (ADR 26): its retention (ADR 32)")
app.add_typer(audit_app, name="audit")
accountability_app = typer.Typer(help="The 问责程序 (issue 18): upgrade steps")
app.add_typer(accountability_app, name="accountability")
relay_app = typer.Typer(help="The relays' records of their streams (ADR 17, RELIABILITY.md)")
app.add_typer(relay_app, name="relay")
attachments_app = typer.Typer(
    help="The attachment store (ADR 22, 39, 42, 50): the sweep, moving to a bucket, cleaning "
    "old files, sealing under a new key"
)
app.add_typer(attachments_app, name="attachments")
err = Console(stderr=True)

FIRST_TOKEN_MARKER = ".first-admin-token-issued"


# Where this command's settings came from (named when a deployment cannot be reached).
_SOURCE = {"settings": "the environment"}


@app.callback()
def choose_deployment(
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            envvar="TAIZHANG_ENV_FILE",
            help="A deployment's settings (deploy/local/up.sh writes run/local/taizhang.env)",
        ),
    ] = None,
) -> None:
    """Which deployment the command works on: the environment's, or an env file's."""
    if env_file is not None:
        try:
            load_env_file(env_file)
        except Unreachable as e:
            err.print(f"[red]refusing to run:[/red] {e}")
            raise typer.Exit(2) from None
        _SOURCE["settings"] = str(env_file)
    elif (found := unnoticed_deployment()) is not None:
        err.print(
            f"note: {found} holds a local deployment's settings; this command uses the "
            f"embedded default unless you pass --env-file {found}"
        )


def _settings(reachable: bool = True) -> Settings:
    """The settings; a deployment named by them must answer (never an embedded default
    made on the side instead)."""
    settings = Settings()
    if reachable:
        try:
            check_reachable(settings, _SOURCE["settings"])
        except Unreachable as e:
            err.print(f"[red]refusing to run:[/red] {e}")
            raise typer.Exit(2) from None
    return settings


@app.command()
def serve(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="Services to run here (default: all, in one process)"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the services (all in one process by default) on one port; `serve portal` runs the
    public portal and the merged API docs apart, in front of the others (ADR 27)."""
    from services.app import create_app
    from services.registry import AVAILABLE

    settings = _settings(reachable=False)  # a service waits for its database itself
    if services == ["portal"]:
        _serve_front(settings, host or settings.host, port or settings.port)
        return
    chosen = services or list(AVAILABLE)
    unknown = [s for s in chosen if s not in AVAILABLE]
    if unknown:
        choices = [*AVAILABLE, "portal (alone)"]
        raise typer.BadParameter(f"unknown service(s) {unknown}; choose from {choices}")
    try:
        if settings.relay == "apart" and not settings.nats_url:
            raise ConfigurationError("TAIZHANG_RELAY=apart needs TAIZHANG_NATS_URL")
        secrets = load_secrets(settings)
        clock_for(settings)  # a test clock is refused in production
    except ConfigurationError as e:
        err.print(f"[red]refusing to start:[/red] {e}")
        raise typer.Exit(2) from None
    host = host or settings.host
    port = port or settings.port
    if not settings.is_production:
        _print_first_admin_token(settings, secrets, err)
    err.print(f"台账 serving {', '.join(chosen)} on http://{host}:{port}")
    err.print(f"OpenAPI docs: http://{host}:{port}/docs")
    if "tracking" in chosen:
        err.print(f"工作台 (web workbench): http://{host}:{port}/ui/")
    run_server(create_app(settings, chosen, frozen_heap=True), host, port)


def _serve_front(settings: Settings, host: str, port: int) -> None:
    from services.app import create_front

    try:
        front = create_front(settings)
    except ConfigurationError as e:
        err.print(f"[red]refusing to start:[/red] {e}")
        raise typer.Exit(2) from None
    err.print(f"台账 serving the portal and the API docs on http://{host}:{port}")
    run_server(front, host, port)


def run_server(app: object, host: str, port: int) -> None:
    """How every service is served (the benchmarks' HTTP ceiling is served the same way)."""
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="info",
        access_log=False,  # ours writes route templates only (shared.web.accesslog, ADR 18)
        timeout_graceful_shutdown=20,
    )


def _print_first_admin_token(settings: Settings, secrets: Secrets, console: Console) -> None:
    """Once per data directory, so a newcomer can sign in; never in production mode, and only
    on an interactive terminal: a token written to a log file is a credential anyone who reads
    the logs holds (ADR 18)."""
    marker = settings.data_dir / FIRST_TOKEN_MARKER
    if settings.is_production or marker.exists():
        return
    if not console.file.isatty():
        console.print("First start: run `taizhang token --role admin --name admin` for a token.")
        return
    token = issue_token(secrets, role=Role.ADMIN, name="admin", ttl_seconds=30 * 24 * 3600)
    console.print("First start on this data directory. An admin token (valid 30 days):")
    console.print(token, soft_wrap=True, highlight=False)
    console.print("More: taizhang token --role office --name 张三")
    marker.touch()


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="operator, office, unit_liaison, …")],
    name: Annotated[str, typer.Option(help="Display name of the person")],
    unit: Annotated[str | None, typer.Option(help="Unit code (liaison officers)")] = None,
    sub: Annotated[str | None, typer.Option(help="Subject id (default: role:name)")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Evaluator kind (evaluators): npc_deputy, cppcc_member, …")
    ] = None,
    ttl_hours: Annotated[int, typer.Option(help="Validity in hours")] = 24,
) -> None:
    """Print a signed bearer token (only the token, on stdout)."""
    settings = _settings()
    try:
        secret = issue_token(
            load_secrets(settings),
            role=role,
            name=name,
            unit=unit,
            sub=sub,
            kind=kind,
            ttl_seconds=ttl_hours * 3600,
        )
    except (ValueError, ConfigurationError) as e:
        raise typer.BadParameter(str(e)) from None
    typer.echo(secret)


@apikey_app.command("create")
def apikey_create(
    role: Annotated[Role, typer.Option(help="Usually operator")],
    name: Annotated[str, typer.Option(help="Name of the integration, shown in logs")],
    unit: Annotated[str | None, typer.Option(help="Unit code (liaison keys)")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Evaluator kind (evaluator keys): npc_deputy, …")
    ] = None,
) -> None:
    """Create an API key and print its secret (only the secret, on stdout)."""

    async def create() -> str:
        engine = await _migrated_engine()
        try:
            _, secret = await create_api_key(engine, role=role, name=name, unit=unit, kind=kind)
            return secret
        finally:
            await engine.dispose()

    try:
        typer.echo(run_sync(create()))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


@apikey_app.command("revoke")
def apikey_revoke(key: Annotated[str, typer.Argument(help="Key id, or the key itself")]) -> None:
    """Revoke an API key; it stops working within seconds."""

    async def revoke() -> bool:
        engine = await _migrated_engine()
        try:
            return await revoke_api_key(engine, key)
        finally:
            await engine.dispose()

    if not run_sync(revoke()):
        err.print("no such active key")
        raise typer.Exit(1)
    err.print("revoked")


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never their secrets)."""

    async def listing() -> list[dict[str, object]]:
        engine = await _migrated_engine()
        try:
            return await list_api_keys(engine)
        finally:
            await engine.dispose()

    for row in run_sync(listing()):
        state = "revoked" if row["revoked_at"] else "active"
        typer.echo(f"{row['key_id']}\t{row['role']}\t{row['unit'] or '-'}\t{state}\t{row['name']}")


def _key_vault() -> ReporterKeys:
    from services.registry import reporter_keys

    settings = _settings()
    return reporter_keys(settings, load_secrets(settings))


@reporters_app.command("shred-expired")
def reporters_shred_expired(
    days: Annotated[int | None, typer.Option(help="Retention (default: the setting)")] = None,
) -> None:
    """Destroy the identity keys of tips registered longer ago than the retention, and the
    keyed digests of their texted phones (ADR 49)."""
    from services.registry import shred_reporter_phones

    retention = days if days is not None else _settings().reporter_retention_days
    now = clock_for(_settings()).now()  # the deployment's clock, as intake's hourly sweep
    cutoff = now - timedelta(days=retention)
    vault = _key_vault()
    try:
        count = vault.destroy_registered_before(cutoff)
    finally:
        vault.close()
    phones = shred_reporter_phones(_settings(), cutoff)
    err.print(f"destroyed {count} case key(s) older than {retention} days")
    err.print(f"removed {phones} texted phone digest(s) of those tips")


@reporters_app.command("rewrap")
def reporters_rewrap() -> None:
    """Re-wrap every case key under the first (newest) TAIZHANG_REPORTER_KEYS key."""
    vault = _key_vault()
    try:
        count = vault.rewrap()
    finally:
        vault.close()
    err.print(f"re-wrapped {count} case key(s); older master keys may now be removed")


@audit_app.command("prune")
def audit_prune(
    days: Annotated[int | None, typer.Option(help="Retention (default: the setting)")] = None,
) -> None:
    """Delete the read audit's rows older than the retention (0 keeps everything)."""
    from services.ops.retention import prune_read_audit

    retention = days if days is not None else _settings().read_audit_retention_days
    count = run_sync(prune_read_audit(_settings(), retention))
    err.print(f"deleted {count} read audit row(s) older than {retention} days")


def _print_counts(
    counts: dict[str, Any],
    labels: dict[str, str],
    dry_run: bool,
    out: Callable[[str], object] = typer.echo,
) -> None:
    """A maintenance command's counts, each under its Chinese label (counts only: no digest,
    no case), and a dry run said to have changed nothing."""
    for key, count in counts.items():
        out(f"{labels[key]}: {count}")
    if dry_run:
        err.print("(--dry-run: 未作任何改动 nothing changed)")


# What each count of ``attachments sweep`` means (counts only: no digest, no case).
SWEEP_LABELS = {
    "referenced": "事件引用的附件",
    "young": "未被引用但在宽限期内(保留)",
    "set_aside": "移出(未被任何事件引用)",
    "brought_back": "移回(又被事件引用)",
    "purged": "清除(移出已超过期限)",
}


@attachments_app.command("sweep")
def attachments_sweep(
    grace_days: Annotated[
        float, typer.Option(help="Leave blobs written within this many days", min=0)
    ] = 7,
    purge_after_days: Annotated[
        float, typer.Option(help="Purge blobs set aside this many days ago", min=1)
    ] = 30,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, change nothing")] = False,
) -> None:
    """Set aside the blobs no event names (a request that failed after keeping its files),
    purge those set aside long ago; a blob an event names is never lost (ADR 39)."""
    from services.ops.attachment_sweep import sweep

    report = sweep(
        _settings(),
        grace=timedelta(days=grace_days),
        purge_after=timedelta(days=purge_after_days),
        dry_run=dry_run,
    )
    _print_counts(report.as_json(), SWEEP_LABELS, dry_run, out=err.print)


# What each count of ``attachments move-to-bucket`` means (counts only: no digest, no case).
MOVE_LABELS = {
    "in_directory": "目录中的附件",
    "copied": "已复制到存储桶并核对一致",
    "already_there": "存储桶中已有且一致(未复制)",
    "failed": "复制后核对不一致(未计为已迁移,请再运行一次)",
    "left_set_aside": "已移出的附件(无事件引用,留在目录)",
}


@attachments_app.command("move-to-bucket")
def attachments_move_to_bucket(
    directory: Annotated[
        Path | None,
        typer.Option(help="The directory store (default: <data_dir>/attachments)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, copy nothing")] = False,
) -> None:
    """Copy every blob of the directory store into the bucket TAIZHANG_ATTACHMENT_S3_* names,
    each verified by reading it back; safe to run again, never deletes the directory (ADR 42)."""
    from services.ops.attachment_move import move_to_bucket
    from shared.platform.blobs import BlobStoreUnavailable

    try:
        report = move_to_bucket(_settings(), directory=directory, dry_run=dry_run)
    except (ConfigurationError, BlobStoreUnavailable) as e:
        err.print(f"[red]未迁移 (not moved):[/red] {escape(str(e))}")
        raise typer.Exit(2) from None
    _print_counts(report.as_json(), MOVE_LABELS, dry_run)
    if report.failed:
        raise typer.Exit(1)


# What each count of ``attachments rekey`` means (counts only: no digest, no case, no key).
REKEY_LABELS = {
    "in_use": "使用中的附件",
    "set_aside": "已移出的附件(无事件引用,也重新加密)",
    "current": "已在最新密钥代下(未改动)",
    "rekeyed": "已用最新密钥代重新加密并核对一致",
    "failed": "重新加密后核对不一致(保持原样,请再运行一次)",
    "unreadable": "任何已列出的密钥代都无法打开(损坏,或其密钥已被移除;保持原样)",
    "restored": "上次中断留下的暂存副本已放回(原附件无法打开)",
}


@attachments_app.command("rekey")
def attachments_rekey(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, change nothing")] = False,
) -> None:
    """Seal every blob of an older TAIZHANG_ATTACHMENT_KEYS generation again under the newest,
    each read back before the old copy is replaced; safe to run again (ADR 50). Afterwards the
    older generations may be removed from the settings."""
    from services.ops.attachment_rekey import rekey
    from shared.platform.blobs import BlobStoreUnavailable

    try:
        newest, report = rekey(_settings(), dry_run=dry_run)
    except (ConfigurationError, BlobStoreUnavailable) as e:
        err.print(f"[red]未完成 (stopped):[/red] {escape(str(e))}")
        raise typer.Exit(2) from None
    err.print(f"最新密钥代 (newest generation): {newest}")
    _print_counts(report.as_json(), REKEY_LABELS, dry_run)
    if report.failed or report.unreadable:
        raise typer.Exit(1)


# What each count of ``attachments clean-kept`` means (counts only: no digest, no case).
CLEAN_KEPT_LABELS = {
    "cases": "有附件的案件",
    "files": "附件",
    "images": "图片(上传时已重新编码,无需清除)",
    "clean": "已无元数据",
    "cleaned": "已清除元数据并记入案件",
    "not_cleanable": "无法清除(损坏或加密,保持原样)",
    "missing": "存储中缺失或无法打开(保持原样)",
    "busy": "案件正被修改(请再运行一次)",
}


@attachments_app.command("clean-kept")
def attachments_clean_kept(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, change nothing")] = False,
) -> None:
    """Clean the PDF, MP4 and MP3 files kept before they were cleaned at upload: each under
    its new digest, recorded on its case (Case.AttachmentCleaned); safe to run again (ADR 42)."""
    from services.ops.attachment_cleaning import clean_kept
    from shared.platform.blobs import BlobStoreUnavailable

    try:
        report = run_sync(clean_kept(_settings(), dry_run=dry_run))
    except BlobStoreUnavailable as e:
        err.print(f"[red]未完成 (stopped):[/red] {escape(str(e))};请稍后再运行一次")
        raise typer.Exit(2) from None
    _print_counts(report.as_json(), CLEAN_KEPT_LABELS, dry_run)
    if report.busy:
        raise typer.Exit(1)


# What each count of ``accountability backfill`` means (counts only: no case, no name).
BACKFILL_LABELS = {
    "events": "读取的已存事件",
    "triggers": "其中的问责程序启动事由",
    "opened": "开启的问责程序",
    "added": "补记到未决程序的启动事由",
    "already": "程序已有的启动事由",
    "closed_out": "已销号案件的启动事由(不开启)",
    "decided": "程序已作出决定的启动事由(不重开)",
    "unknown": "跟踪未收录案件的启动事由",
    "tallies": "补齐的督办计数",
    "conflicts": "与运行中的服务冲突(请再运行一次)",
    "unit_triggers": "考核记录的连续两年末位",
    "unit_opened": "为单位开启的问责程序",
}


@accountability_app.command("backfill")
def accountability_backfill(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would open; save nothing")
    ] = False,
) -> None:
    """Open the procedures that triggers stored before the accountability wing existed call
    for (cases still open; a unit's last place two years running). Safe to run again."""
    from services.ops.accountability import backfill_accountability

    counts = run_sync(backfill_accountability(_settings(), dry_run=dry_run))
    for key, value in counts.items():
        typer.echo(f"{key}\t{value}\t{BACKFILL_LABELS[key]}")
    if dry_run:
        err.print("试运行:未保存任何内容 (dry run: nothing saved)")


@projections_app.command("rebuild")
def projections_rebuild(
    workers: Annotated[
        int | None,
        typer.Option(help="Processes for the replay (default: one per core; SQLite: one)"),
    ] = None,
) -> None:
    """Replay every stored event into staging tables and swap them in (the service keeps
    serving the old ledger meanwhile)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from services.ops.rebuild import rebuild_ledger
    from services.ops.staging import RebuildRunning

    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("剩余 (ETA)"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err) as progress:
        tasks: dict[str, TaskID] = {}
        heads: dict[str, int] = {}
        reached: dict[str, int] = {}

        def advance(source: str, position: int, head: int) -> None:
            """One bar per store and one for all: the events read of the events stored."""
            if not tasks:
                tasks["all"] = progress.add_task("all", total=None)
            if source not in tasks:
                tasks[source] = progress.add_task(source, total=head or 1)
            heads[source], reached[source] = max(head, 1), position
            progress.update(tasks[source], total=heads[source], completed=position or 0)
            total = sum(heads.values())
            progress.update(tasks["all"], total=total, completed=sum(reached.values()))

        try:
            counts = run_sync(rebuild_ledger(_settings(), advance, workers))
        except RebuildRunning as e:
            err.print(f"[red]{e}[/red]")
            raise typer.Exit(1) from e
    err.print("rebuilt the ledger from " + ", ".join(f"{n} {s} events" for s, n in counts.items()))


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) directory for the copy")],
) -> None:
    """Take one consistent copy of the stores, attachments and (embedded) development secrets."""
    from services.ops.backup import BackupError
    from services.ops.backup import backup as take

    settings = _settings()
    try:
        manifest = take(settings, dest, now=clock_for(settings).now())
    except BackupError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    err.print(f"备份完成 (backed up) {len(manifest.files)} file(s) to {dest}")
    if manifest.kind == "postgresql":
        err.print(
            "密钥不在备份中:请另行保管 TAIZHANG_REPORTER_KEYS 等 (the secrets are not in the copy; "
            "keep them apart — a copy with the master key defeats the shredding of older keys)"
        )


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A directory written by `taizhang backup`")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the data that is there now")
    ] = False,
) -> None:
    """Put a copy back (the services stopped); then start them and run `taizhang verify`."""
    from services.ops.backup import BackupError
    from services.ops.backup import restore as put_back

    try:
        manifest = put_back(_settings(), src, replace=replace)
    except BackupError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    err.print(f"恢复完成 (restored) the copy taken at {manifest.taken_at}")
    if manifest.with_nats:
        err.print(
            "使用 NATS 时:先删除本部署的 JetStream 流,再运行 taizhang relay adopt --all "
            "(with NATS: delete the deployment's streams, then `taizhang relay adopt --all` — "
            "docs/OPERATIONS.md)"
        )


@app.command()
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Compare every service's event store with the ledger; exit 1 on any discrepancy."""
    import json

    from services.ops.verify import verify as check

    settings = _settings()
    if settings.database_url is None and not (settings.data_dir / "readmodels.sqlite").exists():
        hint = unnoticed_deployment() or Path("<the deployment's env file>")
        err.print(
            f"[red]no deployment here:[/red] {settings.data_dir.resolve()} holds no stores; "
            f"to check a deployment, pass --env-file {hint}"
        )
        raise typer.Exit(2)
    report = run_sync(check(settings))
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_report(report.as_json())
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def demo(
    as_of: Annotated[
        str | None, typer.Option(help="The demo's today, ISO 8601 with a zone (default: now)")
    ] = None,
    cases: Annotated[int, typer.Option(min=1, max=5000, help="How many tips")] = 300,
) -> None:
    """Seed a realistic 区 (a year of cases in every state) into a fresh data directory."""
    from datetime import UTC, datetime

    from services.ops.demo import DemoFailed, DemoRefused, run_demo

    settings = _settings()
    moment = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    if moment.tzinfo is None:
        raise typer.BadParameter("--as-of needs a zone, e.g. 2026-12-01T09:00+08:00")
    try:
        report = run_sync(run_demo(settings, moment, cases))
    except (DemoRefused, DemoFailed) as e:
        err.print(f"[red]演示数据未写入 (refused):[/red] {escape(str(e))}")
        raise typer.Exit(2) from None
    fates = "、".join(f"{fate} {n}" for fate, n in sorted(report.by_fate.items()))
    typer.echo(f"已写入演示案件 {report.cases} 件({report.steps} 步):{fates}")
    typer.echo("下一步: taizhang serve,然后打开 http://127.0.0.1:8000/ui/")


def _print_report(report: dict[str, Any]) -> None:
    counts = report["counts"]
    typer.echo("  ".join(f"{name} {n}" for name, n in counts.items()))
    for finding in report["findings"][:200]:
        number = finding["number"] or "-"
        typer.echo(f"{finding['kind']:<10} {number:<12} {finding['case_id']}  {finding['detail']}")
    if len(report["findings"]) > 200:
        typer.echo(f"… and {len(report['findings']) - 200} more (--json lists them all)")
    typer.echo("ok: the ledger matches the event stores" if report["ok"] else "DISCREPANCIES")


ServiceOption = Annotated[str, typer.Option("--service", help="The producing service: intake, …")]


def _relay_records(work: Any) -> Any:
    """Run ``work(records)`` on the deployment's relay records."""
    from shared.platform.messaging.streams import StreamRecords

    async def run() -> Any:
        engine = await _migrated_engine()
        try:
            return await work(StreamRecords(engine))
        finally:
            await engine.dispose()

    return run_sync(run())


@relay_app.command("run")
def relay_run(
    service: Annotated[str, typer.Argument(help="The service whose outbox it publishes")],
    host: Annotated[str | None, typer.Option(help="Address of its health routes")] = None,
    port: Annotated[int | None, typer.Option(help="Port of its health routes")] = None,
) -> None:
    """Run SERVICE's relay in this process, apart from the service's HTTP process (which
    then runs with TAIZHANG_RELAY=apart): one active relay per service among all processes
    (a PostgreSQL advisory lock); /healthz, /readyz and /healthz/delivery on the port (ADR 48)."""
    settings = _settings(reachable=False)  # it waits for its database itself
    if not settings.nats_url or settings.database_url is None:
        err.print(
            "[red]未启动 (refusing to start):[/red] 独立运行的转发进程需要 TAIZHANG_NATS_URL 和 "
            "PostgreSQL (a relay apart needs TAIZHANG_NATS_URL and PostgreSQL)",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    from services.app import create_relay  # the services: imported once the settings hold
    from services.registry import AVAILABLE

    if service not in AVAILABLE:
        raise typer.BadParameter(
            f"没有服务 {service!r} (unknown service); 可选 (choose from) {list(AVAILABLE)}"
        )
    host, port = host or settings.host, port or settings.port
    err.print(f"台账 {service} 转发进程 (relay),健康检查 http://{host}:{port}/healthz/delivery")
    run_server(create_relay(settings, service), host, port)


@relay_app.command("status")
def relay_status() -> None:
    """Each relay's stream as recorded: identity, position, state (stranger = refused)."""
    for r in _relay_records(lambda records: records.all()):
        typer.echo(
            f"{r.source}\t{r.state}\tposition {r.position}\tstream {r.stream} created "
            f"{r.created} on {r.server}\tseq {r.first_seq}..{r.last_seq}\t"
            f"generation {r.generation}\t{r.detail}"
        )


@relay_app.command("adopt")
def relay_adopt(
    services: Annotated[
        list[str] | None,
        typer.Option("--service", help="A producing service (repeat for several)"),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every relay recorded (after a restore)")
    ] = False,
    from_position: Annotated[
        int, typer.Option("--from", help="First outbox position to publish again", min=1)
    ] = 1,
) -> None:
    """Take the stream each relay finds now (recreated, or on another server) as its own and
    publish the outbox into it again from POSITION (default: everything)."""
    from shared.platform.messaging.streams import ADOPT

    if every:
        services = [r.source for r in _relay_records(lambda records: records.all())]
    if not services:
        raise typer.BadParameter("name a relay with --service S, or adopt --all")
    for service in services:
        _ask_relay(service, from_position, ADOPT)
        err.print(f"the {service} relay adopts its stream and publishes again from {from_position}")


@relay_app.command("republish")
def relay_republish(
    service: ServiceOption,
    from_position: Annotated[
        int, typer.Option("--from", help="First outbox position to publish again", min=1)
    ],
) -> None:
    """Publish the outbox again from POSITION into the recorded stream (consumers drop what
    they already have)."""
    _ask_relay(service, from_position, None)
    err.print(f"the {service} relay publishes again from {from_position}")


def _ask_relay(service: str, from_position: int, state: str | None) -> None:
    done = _relay_records(lambda records: records.ask(service, from_position - 1, state))
    if not done:
        err.print(f"no relay of {service!r} has recorded a stream yet (is it running on NATS?)")
        raise typer.Exit(1)


async def _migrated_engine() -> AsyncEngine:
    from shared.platform.readmodel import SHARED_MIGRATIONS

    settings = _settings()
    await ensure_schema(settings)
    engine = create_engine(settings)
    await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")
    return engine


def main() -> None:
    os.environ.setdefault("PYTHONUTF8", "1")
    app()
