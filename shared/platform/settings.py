"""One place for configuration: environment variables prefixed ``TAIZHANG_``.

Nothing here opens a file or a connection at import time; :func:`load_secrets` is called by
whoever builds the application (the server's lifespan, a CLI command).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SERVICES = ("intake", "dispatch", "tracking", "notify", "insight")
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


class AssessmentRules(BaseModel):
    """责任制考核 (issue 19, ADR 24); set as JSON in ``TAIZHANG_ASSESSMENT``. Unset keys keep
    the defaults of ``services/tracking/assessment/domain.py``.

    ``weights``: measure → weight (the measures are named there; unknown ones are refused at
    start). ``thresholds``: the lowest score of 优秀 / 合格 / 基本合格, highest first.
    ``deduction_per_accountability`` / ``max_deduction``: points off per decision against the
    unit. ``groups``: unit kind → assessment group (街道, 区直部门 …). ``red_satisfaction`` /
    ``black_satisfaction`` / ``honours_minimum_cases``: the 红黑榜's lines."""

    weights: dict[str, float] | None = None
    thresholds: dict[Literal["excellent", "competent", "basic"], float] | None = None
    deduction_per_accountability: float | None = Field(default=None, ge=0, le=100)
    max_deduction: float | None = Field(default=None, ge=0, le=100)
    groups: dict[str, str] | None = None
    red_satisfaction: float | None = Field(default=None, ge=0, le=1)
    black_satisfaction: float | None = Field(default=None, ge=0, le=1)
    honours_minimum_cases: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> AssessmentRules:
        if any(w < 0 for w in (self.weights or {}).values()):
            raise ValueError("考核权重不能为负 (weights)")
        if self.thresholds is not None:
            floors = [self.thresholds.get(k) for k in ("excellent", "competent", "basic")]
            if None in floors or not floors[0] > floors[1] > floors[2] >= 0:  # type: ignore[operator]
                raise ValueError("档次分数线须依次为 优秀 > 合格 > 基本合格 ≥ 0 (thresholds)")
        return self


class AccountabilityRules(BaseModel):
    """问责程序 (issue 18, ADR 19); set as JSON in ``TAIZHANG_ACCOUNTABILITY``.

    ``own_level``: this deployment's level; an origin above it is a higher level's source.
    ``supervision_notices_to_open``: a unit's case that passes this many 督办 opens a procedure.
    ``report_back_working_days``: the deadline to report a higher level's case back.
    ``decision_working_days``: past it, an undecided procedure that owes no report back is
    flagged 该问不问 (one that owes one is flagged past its report-back deadline).
    ``award_bar_measures``: which measures bar that year's awards (当年不得评优评先); the
    default follows 杭州办法五 — any measure, since any accountability of a 领导干部 bars it
    (武昌办法第四十三条 would list only the heavier ones). ``floors``: 问责畸轻 — per situation
    (a trigger), the lightest measures a decision may stop at; empty: the documents give none.
    """

    own_level: Literal["district", "city", "province", "central"] = "district"
    supervision_notices_to_open: int = Field(default=2, ge=1, le=50)
    report_back_working_days: int = Field(default=10, ge=1, le=250)
    # 该问不问 for a procedure that owes no report back: undecided this many working days
    # after it opened (the documents give no number; the office sets its own).
    decision_working_days: int = Field(default=30, ge=1, le=250)
    award_bar_measures: list[str] = Field(
        default_factory=lambda: [
            "criticism_education",
            "admonishment_talk",
            "written_self_criticism",
            "circulated_criticism",
            "reassignment",
            "ordered_resignation",
            "dismissal",
            "demotion",
            "disciplinary_sanction",
            "judicial_transfer",
            "leadership_adjustment",
        ]
    )
    floors: dict[str, str] = Field(default_factory=dict)

    @field_validator("award_bar_measures", "floors")
    @classmethod
    def _known_codes(cls, value: Any) -> Any:
        """Measures are the vocabulary's codes; floors are keyed by trigger codes."""
        from shared.contracts.vocabulary import AccountabilityTrigger, Measure

        measures = value.values() if isinstance(value, dict) else value
        unknown = set(measures) - {m.value for m in Measure}
        if isinstance(value, dict):
            unknown |= set(value) - {t.value for t in AccountabilityTrigger}
        if unknown:
            raise ValueError(f"unknown code(s) {sorted(unknown)}")
        return value


# An http(s) address in ASCII without query or fragment: a phone must see where it ends.
PORTAL_URL = r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$"


class NotifySettings(BaseModel):
    """Notifications (ADR 21); set as JSON in ``TAIZHANG_NOTIFY``. E-mail goes out only
    when ``smtp_host`` is set; robots are each person's Apprise URL in the directory; SMS
    only when ``sms_url`` is set (an Apprise URL holding ``{phone}``, checked at start by
    ``shared.platform.apprise_channel.check_sms_url``, by notify and by intake, which texts
    reporters who agreed to it: ADR 37)."""

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    sender: str = "台账通知 <notify@taizhang.invalid>"
    # SMS (短信): an Apprise URL template whose ``{phone}`` becomes the person's number, e.g.
    # "twilio://SID:Token@+8610…/{phone}" or "json://sms-gw.example/send?-to={phone}". It
    # carries the provider's credentials: a secret, never logged. None → no SMS.
    sms_url: SecretStr | None = None
    message_id_domain: str = "taizhang.invalid"
    # How often the deliverer looks for messages due, and how it retries a failed one.
    interval_seconds: float = Field(default=2.0, gt=0, le=300)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_seconds: float = Field(default=30.0, gt=0)
    backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    send_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # A claimed message is claimable again this long after (its sender died mid-way).
    lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # event type → audiences (lead, co_units, unit, office, supervisors); [] silences one.
    audiences: dict[str, list[str]] = Field(default_factory=dict)
    # Local hour at which a person who chose the daily digest gets it.
    digest_hour: int = Field(default=8, ge=0, le=23)
    # Reporters who gave a phone and agreed to be told by SMS (ADR 37; intake sends, as the
    # holder of the phone): never texted between these local times — held until the end.
    reporter_quiet_start: str = Field(default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    reporter_quiet_end: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # The last words of a reporter's text: where to look or ask (a named reporter has no
    # receipt code). Short: an SMS is 70 characters.
    reporter_where: str = Field(default="详情请留意我办答复。", min_length=1, max_length=30)


class Settings(BaseSettings):
    # An empty variable is an unset one: compose passes `${TAIZHANG_NOTIFY:-}` (and any optional
    # setting) as "" when the operator's deploy/.env leaves it out.
    model_config = SettingsConfigDict(env_prefix="TAIZHANG_", extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    # None → embedded SQLite files under data_dir; else a PostgreSQL URL shared by all services.
    database_url: str | None = None
    database_schema: str = "public"
    # Intake's event store on the embedded store (ADR 47). FULL: a registration acknowledged
    # survives a loss of power too, at a disk flush a commit; NORMAL (opt-in): only the
    # process's crash (the last second's commits may be lost to a power cut, the files stay
    # whole). The other event stores are FULL, the read models NORMAL (rebuilt from the events).
    sqlite_intake_synchronous: Literal["NORMAL", "FULL"] = "FULL"
    # Seconds between `taizhang serve`'s checkpoints of its SQLite files, in a thread of their
    # own; 0: SQLite's automatic ones, inside whichever commit fills the log (ADR 47).
    sqlite_checkpoint_seconds: float = Field(default=1.0, ge=0, le=60)
    # Connections per pool per process (each service has a few pools); PostgreSQL's
    # max_connections must cover every process's pools.
    db_pool_size: int = Field(default=4, ge=1, le=50)
    # The PostgreSQL connections this process may hold at most, pools and sessions together:
    # when set, the pool size is derived from it (services/registry.py::budgeted; the sum
    # over every process must stay under the server's max_connections — docs/SCALING.md).
    db_connection_budget: int | None = Field(default=None, ge=1)
    # None → in-process delivery between services; else NATS JetStream.
    nats_url: str | None = None
    nats_replicas: int = Field(default=1, ge=1, le=5)  # 3 on a three-node JetStream cluster
    # Where this process's services' relays run (ADR 48): ``inline`` in the serving process
    # (the default), ``apart`` in a process of their own (``taizhang relay run <service>``);
    # apart needs NATS. Apart, a commit's NOTIFY wakes the relay, which then publishes at
    # most every ``relay_poll_seconds`` unless behind (a batch's round trips cost the same
    # whatever it holds), and looks at the outbox that often when no NOTIFY comes.
    relay: Literal["inline", "apart"] = "inline"
    relay_poll_seconds: float = Field(default=0.2, ge=0.01, le=10.0)
    # How long JetStream waits for an ack before redelivering (a crashed consumer's batch).
    nats_ack_wait_seconds: float = Field(default=10.0, ge=1.0, le=300.0)
    # JetStream's de-duplication window for published message ids.
    nats_duplicate_window_seconds: float = Field(default=600.0, ge=1.0)
    # How long a relay or consumer may fail to reach or verify its stream before the
    # ``delivery`` section of /readyz and /healthz/delivery says ``degraded`` (ADR 17).
    delivery_grace_seconds: float = Field(default=30.0, ge=0.0)
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
    # Attachments (ADR 22): the key of their digests and of their encryption at rest (None →
    # derived from the receipt secret), the size limit, and the virus-scan command (ClamAV:
    # "clamdscan --no-summary"; the file's path is appended; none → no scan).
    attachment_secret: SecretStr | None = None
    # The at-rest keys of attachments by generation (ADR 50), "kid:secret,…" newest first, each
    # secret at least 32 characters; a bare "a0" is the key derived from the attachment secret,
    # which sealed every blob before generations. Unset: "a0" alone. New blobs are sealed under
    # the first; `taizhang attachments rekey` seals the older ones again, after which they may
    # be removed. The digests (the blobs' names) keep the attachment secret's key for ever.
    attachment_keys: SecretStr | None = None
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024**3)
    attachment_scan_command: str | None = None
    attachment_scan_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # Attachments on an S3-compatible bucket (ADR 39: MinIO, a city cloud's object store) for
    # services apart that share no volume; no endpoint → <data_dir>/attachments. Encrypted by
    # us before upload either way. The secret key is a secret: never logged, never echoed.
    attachment_s3_endpoint: str | None = None  # "https://minio.example.org:9000"
    attachment_s3_bucket: str | None = None
    attachment_s3_access_key: str | None = None
    attachment_s3_secret_key: SecretStr | None = None
    attachment_s3_region: str = "us-east-1"  # MinIO's default; a cloud's own name otherwise
    # "path" (MinIO, Ceph: host/bucket/key) or "virtual" (bucket.host/key: Aliyun OSS, COS).
    attachment_s3_addressing: Literal["path", "virtual"] = "path"
    # Objects are "<prefix><digest>"; a prefix lets deployments share a bucket ("tz-prod/").
    attachment_s3_prefix: str = Field(default="", pattern=r"^([A-Za-z0-9._-]+/)*$")
    # Per request, connecting and waiting for an answer (one retry): past it, a 503.
    attachment_s3_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # A result must carry the signed form (主要领导签字) as an attachment; off keeps SPEC §6.
    require_signed_form: bool = False
    # HMAC keys for request fingerprints (ADR 18), "kid:secret,…" newest first, each secret at
    # least 32 characters. Unset: one key derived from the receipt secret (kid "d0"), which
    # stays listed last when keys are set, so replays of requests stored before still match.
    fingerprint_keys: SecretStr | None = None

    # How long a verified API key is remembered; a revoked key works at most this long.
    api_key_cache_seconds: float = 5.0
    # After this long a reporter's identity key is destroyed (crypto-shredding); 0 = never.
    reporter_retention_days: int = Field(default=5 * 365, ge=0)
    # The read audit's rows (ADR 26) are deleted this long after the read; 0 = kept for ever.
    # Swept by the tracking service every scheduler interval, or `taizhang audit prune`.
    read_audit_retention_days: int = Field(default=3 * 365, ge=0)
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
    # 2 ms since a batch is one round trip (ADR 30): 10 ms held half-load requests ~10 ms longer.
    intake_batch_linger_ms: float = Field(default=2.0, ge=0, le=100)
    deadline_policy: DeadlinePolicy = Field(default_factory=DeadlinePolicy)
    accountability: AccountabilityRules = Field(default_factory=AccountabilityRules)
    assessment: AssessmentRules = Field(default_factory=AssessmentRules)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    # Whose ``dissatisfied`` starts a second pass by itself (evaluator kinds, ADR 20); any other
    # kind's is referred to the office to decide. JSON, e.g. '["complainant","npc_deputy"]'.
    second_pass_starters: list[str] = Field(default_factory=lambda: ["complainant"])
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
    # The public portal's look-up page as citizens reach it, e.g. "https://jf.example.gov.cn/portal/"
    # (ADR 44): told with the receipt code in a reporter's text and on the 登记成功 page. ASCII,
    # no query; short, since it goes by SMS. None → the code alone.
    portal_url: str | None = Field(default=None, max_length=60, pattern=PORTAL_URL)
    # The SMS gateway's secret for delivering replies to reporters' texts (上行短信, ADR 49):
    # sent as the X-SMS-Gateway-Secret header of POST /api/v1/sms/replies. None → that
    # route answers 404 (nobody can withdraw a reporter's consent through it). At least 32
    # characters, checked at start (``check_sms_reply_secret``).
    sms_reply_secret: SecretStr | None = None
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

    @field_validator("second_pass_starters")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        """Evaluator kinds only: a misspelt kind would silently start no second pass."""
        from shared.contracts.vocabulary import EvaluatorKind

        unknown = set(value) - {k.value for k in EvaluatorKind}
        if unknown:
            raise ValueError(f"unknown evaluator kind(s) {sorted(unknown)}")
        return value

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
    fingerprint_keys: dict[str, bytes]  # kid → HMAC key; first is current (ADR 18)

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
        fingerprint_keys=fingerprint_keys(settings, receipt_secret.encode()),
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
        fingerprint_keys=fingerprint_keys(settings, receipt_secret.encode()),
    )


_KNOWN_DEFAULTS = {"changeme", "secret", "development", "change-me-in-production"}


def check_sms_reply_secret(settings: Settings) -> None:
    """Refuse at start a gateway secret anyone could guess (the message never shows it)."""
    secret = _reveal(settings.sms_reply_secret)
    if secret is not None and (len(secret) < MIN_SECRET_LENGTH or secret in _KNOWN_DEFAULTS):
        raise ConfigurationError(
            f"TAIZHANG_SMS_REPLY_SECRET is a default or shorter than {MIN_SECRET_LENGTH} characters"
        )


DERIVED_FINGERPRINT_KID = "d0"


def fingerprint_keys(settings: Settings, receipt_secret: bytes) -> dict[str, bytes]:
    """The request-fingerprint keys (ADR 18): TAIZHANG_FINGERPRINT_KEYS newest first, then the
    key derived from the receipt secret (the only one when none are set)."""
    keys: dict[str, bytes] = {}
    configured = _reveal(settings.fingerprint_keys) or ""
    for part in filter(None, (p.strip() for p in configured.split(","))):
        kid, _, secret = part.partition(":")
        if (
            not kid
            or kid == DERIVED_FINGERPRINT_KID
            or len(secret) < MIN_SECRET_LENGTH
            or secret in _KNOWN_DEFAULTS
        ):
            raise ConfigurationError(
                "TAIZHANG_FINGERPRINT_KEYS is written as 'kid:secret,…' (kid not 'd0'), "
                f"each secret at least {MIN_SECRET_LENGTH} characters"
            )
        keys[kid] = secret.encode()
    derived = hmac.new(receipt_secret, b"taizhang/request-fingerprint/v1", hashlib.sha256)
    keys[DERIVED_FINGERPRINT_KID] = derived.digest()
    return keys


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
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this deployment wrote it first
        return _stored_development_secrets(data_dir)
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
