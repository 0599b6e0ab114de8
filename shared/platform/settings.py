"""One place for configuration: environment variables prefixed ``TAIZHANG_``.

Nothing here opens a file or a connection at import time; :func:`load_secrets` is called by
whoever builds the application (the server's lifespan, a CLI command).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SERVICES = ("intake", "dispatch", "tracking")
MIN_SECRET_LENGTH = 32


class DeadlinePolicy(BaseModel):
    """时限 by track (SPEC §4); set as JSON in ``TAIZHANG_DEADLINE_POLICY``.

    ``key_rectification`` has no default handling time: the annual plan gives it with each
    dispatch. Sign-for and handling deadlines both count from the dispatch.
    """

    sign_working_days: int = Field(default=1, ge=1, le=30)
    immediate_sign_hours: int = Field(default=2, ge=1, le=72)
    general_handle_working_days: int = Field(default=15, ge=1, le=250)
    supervised_handle_working_days: int = Field(default=10, ge=1, le=250)
    immediate_handle_working_days: int = Field(default=3, ge=1, le=250)
    return_window_working_days: int = Field(default=2, ge=1, le=30)
    max_extension_working_days: int = Field(default=10, ge=1, le=250)
    reminder_fraction: float = Field(default=0.8, gt=0, lt=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAIZHANG_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    # None → embedded SQLite files under data_dir; else a PostgreSQL URL shared by all services.
    database_url: str | None = None
    database_schema: str = "public"
    # Connections per pool per process (each service has a few pools); PostgreSQL's
    # max_connections must cover every process's pools.
    db_pool_size: int = Field(default=4, ge=1, le=50)
    # None → in-process delivery between services; else NATS JetStream.
    nats_url: str | None = None
    nats_replicas: int = Field(default=1, ge=1, le=5)  # 3 on a three-node JetStream cluster
    # How long JetStream waits for an ack before redelivering (a crashed consumer's batch).
    nats_ack_wait_seconds: float = Field(default=10.0, ge=1.0, le=300.0)
    # JetStream's de-duplication window for published message ids.
    nats_duplicate_window_seconds: float = Field(default=600.0, ge=1.0)
    # Test-only crash points (shared/platform/faults.py), comma-separated; refused in production.
    faults: Annotated[frozenset[str], NoDecode] = frozenset()
    # Prefix of subjects and streams, so deployments (or tests) can share a NATS cluster.
    nats_namespace: str = Field(default="tz", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"
    # Load the sample district directory and routing rules on the embedded store's first start.
    seed_directory: bool = True

    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=60, ge=0, le=300)
    # Base64 AES-256 keys sealing reporter identities; "kid:key,kid:key", newest first.
    reporter_keys: SecretStr | None = None
    # HMAC key for receipt-code digests (never store a receipt code in clear).
    receipt_secret: SecretStr | None = None

    # How long a verified API key is remembered; a revoked key works at most this long.
    api_key_cache_seconds: float = 5.0
    # After this long a reporter's identity key is destroyed (crypto-shredding); 0 = never.
    reporter_retention_days: int = Field(default=5 * 365, ge=0)
    # Public endpoints (receipts, results): requests per minute per client, and burst.
    public_rate_per_minute: float = Field(default=30.0, gt=0)
    public_rate_burst: int = Field(default=10, ge=1)
    # Reverse proxies whose X-Forwarded-For is believed (e.g. "127.0.0.1").
    trusted_proxies: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    # Browser origins allowed to call the API cross-origin; none by default (CORS closed).
    cors_origins: list[str] = []
    max_body_bytes: int = 64 * 1024
    intake_batch_max: int = 64
    # Under load, how long the intake writer may wait for requests it expects (group commit).
    intake_batch_linger_ms: float = Field(default=10.0, ge=0, le=100)
    deadline_policy: DeadlinePolicy = Field(default_factory=DeadlinePolicy)
    # The ledger list counts its matches up to this many; past it ``total`` is this number
    # and ``total_exact`` is false ("1000+", ADR 13), so a page costs the same at any size.
    ledger_count_limit: int = Field(default=1000, ge=1, le=1_000_000)
    # How often dispatch looks for deadlines to remind of or supervise (seconds).
    scheduler_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Prometheus metrics on a port of their own (shared/web/metrics.py); off unless set.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    # A file holding "now" for tests and demos (shared/platform/clock.py); refused in production.
    clock_file: Path | None = None
    # Where the web workbench (/ui/) sends its API calls: None → in-process, to this very app
    # (all-in-one); with services apart, the reverse proxy's base URL in front of all three.
    ui_api_url: str | None = None
    # Log SQL-backed request details; never on by default.
    debug: bool = False

    @field_validator("faults", mode="before")
    @classmethod
    def _known_faults(cls, value: object) -> object:
        """``TAIZHANG_FAULTS=relay_exit_after_publish,…``; a misspelt point is an error, not
        a fault test that silently injects nothing."""
        from shared.platform.faults import KNOWN

        names = (
            [n.strip() for n in value.split(",") if n.strip()] if isinstance(value, str) else value
        )
        unknown = set(names) - KNOWN if isinstance(names, list | set | frozenset | tuple) else set()
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(KNOWN)}")
        return names

    @property
    def embedded_store(self) -> bool:
        return self.database_url is None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@dataclass(frozen=True)
class Secrets:
    jwt_secret: str
    reporter_keys: dict[str, bytes]  # kid → 32-byte key; first is current
    receipt_secret: bytes

    @property
    def current_reporter_kid(self) -> str:
        return next(iter(self.reporter_keys))


class ConfigurationError(RuntimeError):
    """Settings that must not be used to run the system."""


def load_secrets(settings: Settings) -> Secrets:
    """Secrets from the environment; in development, generated once into the data directory."""
    if settings.is_production and settings.faults:
        raise ConfigurationError("TAIZHANG_FAULTS is for tests and refused in production mode")
    if settings.is_production:
        return _secrets_from_environment(settings)
    stored = _stored_development_secrets(settings.data_dir)
    jwt_secret = _reveal(settings.jwt_secret) or stored["jwt_secret"]
    reporter_keys = _reveal(settings.reporter_keys) or stored["reporter_keys"]
    receipt_secret = _reveal(settings.receipt_secret) or stored["receipt_secret"]
    return Secrets(
        jwt_secret=jwt_secret,
        reporter_keys=parse_reporter_keys(reporter_keys),
        receipt_secret=receipt_secret.encode(),
    )


def _reveal(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _secrets_from_environment(settings: Settings) -> Secrets:
    missing = [
        f"TAIZHANG_{name.upper()}"
        for name in ("reporter_keys", "receipt_secret")
        if getattr(settings, name) is None
    ]
    if settings.jwt_secret is None and settings.jwt_jwks_url is None:
        missing.append("TAIZHANG_JWT_SECRET (or TAIZHANG_JWT_JWKS_URL)")
    if missing:
        raise ConfigurationError(
            "production mode needs explicit secrets; missing: " + ", ".join(missing)
        )
    jwt_secret = _reveal(settings.jwt_secret) or ""
    receipt_secret = _reveal(settings.receipt_secret) or ""
    for name, value in (("JWT_SECRET", jwt_secret), ("RECEIPT_SECRET", receipt_secret)):
        if value and (len(value) < MIN_SECRET_LENGTH or value in _KNOWN_DEFAULTS):
            raise ConfigurationError(
                f"TAIZHANG_{name} is a default or shorter than {MIN_SECRET_LENGTH} characters"
            )
    return Secrets(
        jwt_secret=jwt_secret,
        reporter_keys=parse_reporter_keys(_reveal(settings.reporter_keys) or ""),
        receipt_secret=receipt_secret.encode(),
    )


_KNOWN_DEFAULTS = {"changeme", "secret", "development", "change-me-in-production"}


def parse_reporter_keys(value: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        kid, _, encoded = part.partition(":")
        if not encoded:
            raise ConfigurationError("reporter keys are written as 'kid:base64key,…'")
        key = base64.b64decode(encoded)
        if len(key) != 32:
            raise ConfigurationError(f"reporter key {kid!r} must be 32 bytes (AES-256)")
        keys[kid] = key
    if not keys:
        raise ConfigurationError("at least one reporter key is needed")
    return keys


def new_reporter_key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def _stored_development_secrets(data_dir: Path) -> dict[str, str]:
    """Generated once per data directory and kept there, readable only by its owner."""
    path = data_dir / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = {
        "jwt_secret": secrets.token_urlsafe(48),
        "reporter_keys": new_reporter_key("k1"),
        "receipt_secret": secrets.token_urlsafe(48),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(generated, f)
    return generated


@dataclass(frozen=True)
class PostgresParams:
    host: str
    port: int
    dbname: str
    user: str
    password: str


def postgres_params(url: str) -> PostgresParams:
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigurationError(f"TAIZHANG_DATABASE_URL must be a postgresql:// URL, not {url!r}")
    socket_dir = parse_qs(parts.query).get("host", [None])[0]  # postgresql://u@/db?host=/run/pg
    return PostgresParams(
        host=socket_dir or parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
    )
