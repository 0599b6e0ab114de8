"""``taizhang``: run the services and print credentials for scripts.

Every command reads the same :class:`Settings`, so a token printed here is accepted by a
server started on the same data directory (or with the same secrets).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.progress import TaskID
from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry import ReporterKeys, reporter_keys
from shared.platform.clock import clock_for
from shared.platform.readmodel import create_engine, ensure_schema, migrate, run_sync
from shared.platform.settings import ConfigurationError, Secrets, Settings, load_secrets
from shared.web.auth import Role, create_api_key, issue_token, list_api_keys, revoke_api_key

app = typer.Typer(help="台账 — complaint & problem tracking", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for integrations (hotline call centres, portals)")
app.add_typer(apikey_app, name="apikey")
reporters_app = typer.Typer(help="Reporter identity keys: retention and rotation")
app.add_typer(reporters_app, name="reporters")

projections_app = typer.Typer(help="Read models built from the event stores")
app.add_typer(projections_app, name="projections")
err = Console(stderr=True)

FIRST_TOKEN_MARKER = ".first-admin-token-issued"


def _settings() -> Settings:
    return Settings()


@app.command()
def serve(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="Services to run here (default: all, in one process)"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the services (all in one process by default) on one port."""
    from services.app import create_app
    from services.registry import AVAILABLE

    settings = _settings()
    chosen = services or list(AVAILABLE)
    unknown = [s for s in chosen if s not in AVAILABLE]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}; choose from {list(AVAILABLE)}")
    try:
        secrets = load_secrets(settings)
        clock_for(settings)  # a test clock is refused in production
    except ConfigurationError as e:
        err.print(f"[red]refusing to start:[/red] {e}")
        raise typer.Exit(2) from None
    host = host or settings.host
    port = port or settings.port
    if not settings.is_production:
        _print_first_admin_token(settings, secrets)
    err.print(f"台账 serving {', '.join(chosen)} on http://{host}:{port}")
    err.print(f"OpenAPI docs: http://{host}:{port}/docs")
    if "tracking" in chosen:
        err.print(f"工作台 (web workbench): http://{host}:{port}/ui/")
    run_server(create_app(settings, chosen), host, port)


def run_server(app: object, host: str, port: int) -> None:
    """How every service is served (the benchmarks' HTTP ceiling is served the same way)."""
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=20,
    )


def _print_first_admin_token(settings: Settings, secrets: Secrets) -> None:
    """Once per data directory, so a newcomer can sign in; never in production mode."""
    marker = settings.data_dir / FIRST_TOKEN_MARKER
    if marker.exists():
        return
    token = issue_token(secrets, role=Role.ADMIN, name="admin", ttl_seconds=30 * 24 * 3600)
    err.print("First start on this data directory. An admin token (valid 30 days):")
    err.print(token, soft_wrap=True, highlight=False)
    err.print("More: taizhang token --role office --name 张三")
    marker.touch()


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="operator, office, unit_liaison, …")],
    name: Annotated[str, typer.Option(help="Display name of the person")],
    unit: Annotated[str | None, typer.Option(help="Unit code (liaison officers)")] = None,
    sub: Annotated[str | None, typer.Option(help="Subject id (default: role:name)")] = None,
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
) -> None:
    """Create an API key and print its secret (only the secret, on stdout)."""

    async def create() -> str:
        engine = await _migrated_engine()
        try:
            _, secret = await create_api_key(engine, role=role, name=name, unit=unit)
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
    settings = _settings()
    return reporter_keys(settings, load_secrets(settings))


@reporters_app.command("shred-expired")
def reporters_shred_expired(
    days: Annotated[int | None, typer.Option(help="Retention (default: the setting)")] = None,
) -> None:
    """Destroy the identity keys of tips registered longer ago than the retention."""
    retention = days if days is not None else _settings().reporter_retention_days
    vault = _key_vault()
    try:
        now = clock_for(_settings()).now()  # the deployment's clock, as intake's hourly sweep
        count = vault.destroy_registered_before(now - timedelta(days=retention))
    finally:
        vault.close()
    err.print(f"destroyed {count} case key(s) older than {retention} days")


@reporters_app.command("rewrap")
def reporters_rewrap() -> None:
    """Re-wrap every case key under the first (newest) TAIZHANG_REPORTER_KEYS key."""
    vault = _key_vault()
    try:
        count = vault.rewrap()
    finally:
        vault.close()
    err.print(f"re-wrapped {count} case key(s); older master keys may now be removed")


@projections_app.command("rebuild")
def projections_rebuild() -> None:
    """Replay every stored event into fresh ledger tables (stop the tracking service first)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from services.ops.rebuild import rebuild_ledger

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(source: str, position: int, head: int) -> None:
            if source not in tasks:
                tasks[source] = progress.add_task(source, total=head or 1)
            progress.update(tasks[source], completed=position if head else 1)

        counts = run_sync(rebuild_ledger(_settings(), advance))
    err.print("rebuilt the ledger from " + ", ".join(f"{n} {s} events" for s, n in counts.items()))


@app.command()
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Compare every service's event store with the ledger; exit 1 on any discrepancy."""
    import json

    from services.ops.verify import verify as check

    report = run_sync(check(_settings()))
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_report(report.as_json())
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: dict[str, Any]) -> None:
    counts = report["counts"]
    typer.echo("  ".join(f"{name} {n}" for name, n in counts.items()))
    for finding in report["findings"][:200]:
        number = finding["number"] or "-"
        typer.echo(f"{finding['kind']:<10} {number:<12} {finding['case_id']}  {finding['detail']}")
    if len(report["findings"]) > 200:
        typer.echo(f"… and {len(report['findings']) - 200} more (--json lists them all)")
    typer.echo("ok: the ledger matches the event stores" if report["ok"] else "DISCREPANCIES")


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
