"""Who is calling: bearer JWTs for people, API keys for integrations.

A person's token carries ``sub``, ``name``, ``role`` and, for liaison officers, ``unit``.
Tokens are verified with the shared secret (HS256) or, when a city's single sign-on issues
them, with the keys published at ``TAIZHANG_JWT_JWKS_URL``. API keys are stored only as
SHA-256 hashes (they are 256-bit random strings, so a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import jwt
import sqlalchemy as sa
import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.platform.settings import Secrets, Settings
from shared.web.accesslog import route_template
from shared.web.problems import Problem

log = structlog.get_logger(__name__)


class Role(StrEnum):
    OPERATOR = "operator"
    OFFICE = "office"
    UNIT_LIAISON = "unit_liaison"
    SUPERVISOR = "supervisor"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller; ``id`` is the token's ``sub`` or ``apikey:<key id>``.
    ``kind``: an evaluator's kind (人大代表, 政协委员 …), from its credential only (ADR 20)."""

    id: str
    name: str
    role: Role
    unit: str | None = None
    via: str = "jwt"
    kind: str | None = None

    def actor(self) -> dict[str, Any]:
        """How the caller is recorded on every event it causes."""
        return {"id": self.id, "name": self.name, "role": self.role.value, "unit": self.unit}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SYSTEM = Principal(id="system", name="系统", role=Role.ADMIN, via="system")

_ALGORITHMS_SHARED = ["HS256"]
# Verified tokens remembered per process: at most this many, each at most this long (so a
# key withdrawn from the JWKS stops being accepted within a minute).
TOKEN_CACHE_SIZE = 4096
TOKEN_CACHE_SECONDS = 60.0
_ALGORITHMS_JWKS = ["RS256", "ES256", "PS256"]


def check_kind(role: Role, kind: str | None) -> None:
    """An evaluator's credential names its kind, a third party's (the complainant rates by
    receipt or through the office's 回访, never with a credential); no other role has one."""
    from shared.contracts.vocabulary import EvaluatorKind

    if role != Role.EVALUATOR:
        if kind:
            raise ValueError("only an evaluator credential has --kind")
        return
    third_parties = [k.value for k in EvaluatorKind if k != EvaluatorKind.COMPLAINANT]
    if kind not in third_parties:
        raise ValueError(f"an evaluator credential needs --kind, one of {', '.join(third_parties)}")


def issue_token(
    secrets_: Secrets,
    *,
    role: Role,
    name: str,
    sub: str | None = None,
    unit: str | None = None,
    kind: str | None = None,
    ttl_seconds: int = 24 * 3600,
) -> str:
    if role == Role.UNIT_LIAISON and not unit:
        raise ValueError("a unit liaison token needs --unit")
    check_kind(role, kind)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub or f"{role.value}:{name}",
        "name": name,
        "role": role.value,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if unit:
        claims["unit"] = unit
    if kind:
        claims["kind"] = kind
    return jwt.encode(claims, secrets_.jwt_secret, algorithm="HS256")


class Authenticator:
    """Turns request credentials into a :class:`Principal`, or refuses with 401."""

    def __init__(self, settings: Settings, secrets_: Secrets, engine: AsyncEngine) -> None:
        self._settings = settings
        self._secret = secrets_.jwt_secret
        self._engine = engine
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._key_cache: dict[str, tuple[float, Principal | None]] = {}
        self._tokens: dict[str, tuple[float, Principal]] = {}  # token → (good until, who)
        self._key_ttl = settings.api_key_cache_seconds

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        if api_key:
            return await self._from_api_key(api_key)
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _unauthorized("Authorization 头应为 'Bearer <token>'")
            return self._from_token(token.strip())
        raise _unauthorized("需要登录:请提供 Authorization: Bearer <token> 或 X-API-Key")

    def _from_token(self, token: str) -> Principal:
        """A verified token's principal; a token seen lately is not verified again (signature
        checks are a large part of a request's cost), and never past its expiry."""
        now = time.time()
        cached = self._tokens.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        principal, expires = self._verify(token)
        self._tokens[token] = (min(expires, now + TOKEN_CACHE_SECONDS), principal)
        if len(self._tokens) > TOKEN_CACHE_SIZE:
            self._tokens.pop(next(iter(self._tokens)))  # the oldest
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        options: Any = {"require": ["exp", "sub", "role"]}
        try:
            if self._jwks is not None and jwt.get_unverified_header(token).get("alg") != "HS256":
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = _ALGORITHMS_JWKS
            elif self._secret:
                key, algorithms = self._secret, _ALGORITHMS_SHARED
            else:
                raise jwt.InvalidTokenError("only tokens from the configured JWKS are accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                options=options,
                leeway=self._settings.jwt_leeway_seconds,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("登录凭证已过期,请重新获取 (token expired)") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as e:
            raise _unauthorized(f"登录凭证无效 (invalid token: {e})") from None
        try:
            role = Role(claims["role"])
        except ValueError:
            raise _unauthorized(f"未知角色 {claims['role']!r} (unknown role)") from None
        unit = claims.get("unit")
        if role == Role.UNIT_LIAISON and not unit:
            raise _unauthorized("联络员凭证缺少所属单位 (liaison token without unit)")
        kind = claims.get("kind")
        principal = Principal(
            id=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            role=role,
            unit=str(unit) if unit else None,
            kind=str(kind) if kind and role == Role.EVALUATOR else None,
        )
        return principal, float(claims["exp"])

    async def _from_api_key(self, api_key: str) -> Principal:
        digest = hash_api_key(api_key)
        cached = self._key_cache.get(digest)
        if cached and cached[0] > time.monotonic():
            principal = cached[1]
        else:
            principal = await _lookup_api_key(self._engine, digest)
            # Short cache: a revoked key stops working within seconds on every replica.
            self._key_cache[digest] = (time.monotonic() + self._key_ttl, principal)
        if principal is None:
            raise _unauthorized("API Key 无效或已吊销 (invalid or revoked API key)")
        return principal


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="taizhang"'}
    )


# --- API keys ------------------------------------------------------------------------------

api_keys = sa.table(
    "api_keys",
    sa.column("key_id", sa.String),
    sa.column("name", sa.String),
    sa.column("role", sa.String),
    sa.column("unit", sa.String),
    sa.column("kind", sa.String),
    sa.column("key_hash", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def create_api_key(
    engine: AsyncEngine, *, role: Role, name: str, unit: str | None = None, kind: str | None = None
) -> tuple[str, str]:
    """Returns (key id, the secret); only the hash is stored."""
    if role == Role.UNIT_LIAISON and not unit:
        raise ValueError("a unit liaison key needs --unit")
    check_kind(role, kind)
    key_id = secrets.token_hex(6)
    secret = f"tzk_{key_id}_{secrets.token_urlsafe(32)}"
    async with engine.begin() as conn:
        await conn.execute(
            api_keys.insert().values(
                key_id=key_id,
                name=name,
                role=role.value,
                unit=unit,
                kind=kind,
                key_hash=hash_api_key(secret),
                created_at=datetime.now(UTC),
            )
        )
    return key_id, secret


async def revoke_api_key(engine: AsyncEngine, key_id_or_secret: str) -> bool:
    key_id = key_id_or_secret
    if key_id_or_secret.startswith("tzk_"):
        key_id = key_id_or_secret.split("_")[1]
    async with engine.begin() as conn:
        result = await conn.execute(
            api_keys.update()
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return bool(result.rowcount)


async def list_api_keys(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                api_keys.c.key_id,
                api_keys.c.name,
                api_keys.c.role,
                api_keys.c.unit,
                api_keys.c.kind,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            ).order_by(api_keys.c.created_at)
        )
        return [dict(r._mapping) for r in rows]


async def _lookup_api_key(engine: AsyncEngine, digest: str) -> Principal | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    api_keys.c.key_id,
                    api_keys.c.name,
                    api_keys.c.role,
                    api_keys.c.unit,
                    api_keys.c.kind,
                ).where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        return None
    role = Role(row.role)
    return Principal(
        id=f"apikey:{row.key_id}",
        name=row.name,
        role=role,
        unit=row.unit,
        via="api_key",
        kind=row.kind if role == Role.EVALUATOR else None,
    )


# --- FastAPI dependency --------------------------------------------------------------------


async def current_principal(request: Request) -> Principal:
    """The caller, authenticated once a request: a second dependency that asks (``require``
    and :data:`CurrentPrincipal` on one endpoint) gets the same principal."""
    state = request.state
    known: Principal | None = getattr(state, "principal", None)
    if known is not None:
        return known
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(
        request.headers.get("authorization"), request.headers.get("x-api-key")
    )
    state.principal = principal
    if principal.via == "api_key":
        log.info("api_key_request", key=principal.name, route=route_template(request.scope))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
