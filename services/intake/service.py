"""The intake service in one process: its Application, the group-commit writer every
registration goes through, its key vault, and the hourly shredding of expired identities."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any
from uuid import UUID

import structlog

from services.intake.application import IntakeApplication, Registration, TipSubmission
from services.intake.contract import TRANSLATIONS, to_contract
from services.intake.fingerprints import rewrite_unkeyed_fingerprints
from services.intake.groupcommit import GroupCommitter
from services.intake.keyvault import KeyVault
from services.intake.reporter_sms.delivery import ReporterTexter
from services.intake.reporter_sms.optout import REPLY_ACTOR, REPLY_REASON
from services.intake.reporter_sms.phones import PhoneIndex, forget_registered_before
from services.intake.reporter_sms.projection import QuietHours, reporter_sms_projection
from services.intake.reporter_sms.replies import ReplyDesk
from services.intake.reporter_sms.steps import TWO_PARTS, longest_first_text
from services.intake.reporter_sms.tables import MIGRATIONS
from shared.contracts import Contract
from shared.platform.apprise_channel import check_sms_url
from shared.platform.attachments import AttachmentStore, attachment_store
from shared.platform.clock import Clock, clock_for
from shared.platform.messaging import Consumer
from shared.platform.protection import Fingerprinter, Sealer
from shared.platform.service import ServiceBase
from shared.platform.settings import Secrets, Settings, check_sms_reply_secret

REGISTER_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 15.0

log = structlog.get_logger(__name__)


def key_vault(settings: Settings, secrets: Secrets) -> KeyVault:
    """The reporters' identity keys (one per case), sealed with the configured master keys."""
    return KeyVault(settings, Sealer(secrets.reporter_keys))


class IntakeService(ServiceBase[IntakeApplication]):
    name = "intake"
    extra_connections = 2  # the reporter key vault's own pool (keyvault.py)
    read_migrations = MIGRATIONS  # the SMS notices to reporters (ADR 37)
    read_pool_size = 1  # a row per step told: small and rarely busy

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        super().__init__(settings, secrets)
        self.clock: Clock = clock_for(settings)  # case numbers' year, keys' retention
        self._committer: GroupCommitter[TipSubmission, Registration] | None = None
        self._keys: KeyVault | None = None
        self._retention: asyncio.Task[None] | None = None
        self._store: AttachmentStore | None = None
        self._texter: ReporterTexter | None = None
        self._texting: asyncio.Task[None] | None = None
        self._replies: ReplyDesk | None = None
        self._phones: PhoneIndex | None = None
        self.quiet = QuietHours(settings.notify, settings.timezone)
        check_sms_url(settings.notify)
        check_sms_reply_secret(settings)
        self._check_length()

    def _check_length(self) -> None:
        """Say at start when a reporter's longest text takes three SMS parts (ADR 49)."""
        notify = self.settings.notify
        longest = longest_first_text(self.settings.portal_url, notify.reporter_where)
        if notify.sms_url is not None and longest > TWO_PARTS:
            log.warning("reporter_sms_over_two_parts", characters=longest, limit=TWO_PARTS)

    def build(self, env: dict[str, str]) -> IntakeApplication:
        self._keys = key_vault(self.settings, self.secrets)
        fingerprints = self.fingerprints
        app = IntakeApplication(
            env,
            keys=self._keys,
            receipt_secret=self.secrets.receipt_secret,
            fingerprints=fingerprints,
            timezone=self.settings.timezone,
            clock=self.clock.now,
        )
        rewrite_unkeyed_fingerprints(app, fingerprints)  # ADR 18's one-off exception
        self._committer = GroupCommitter(
            app.register,
            max_batch=self.settings.intake_batch_max,
            linger=self.settings.intake_batch_linger_ms / 1000,
            name="intake-writer",
        )
        self._committer.start()
        return app

    async def started(self) -> None:
        if self.background:  # a bucket that does not answer is refused at start (ADR 39)
            await asyncio.to_thread(self.store.check_reachable)
        if self.settings.reporter_retention_days and self.background:
            self._retention = asyncio.create_task(self._shred_expired_hourly())
        self._phones = PhoneIndex(self.writes, self.fingerprints, self.app.registered_at)
        self._replies = ReplyDesk(
            self.writes,
            self._phones,
            self.fingerprints,
            self._withdraw_by_reply,
            self.clock.now,
        )
        self._texter = ReporterTexter(
            self.writes,
            self.settings.notify,
            self.app.reporter_phone,
            self.quiet,
            self.clock.now,
            self.settings.faults,
            receipt_of=self.app.receipt_code,
            phones=self._phones.remember if self.takes_replies else None,
        )
        if self.background:  # without sms_url nothing new is recorded: no polling every 2 s
            once = self.settings.notify.sms_url is None
            self._texting = asyncio.create_task(self._text(once))

    async def _text(self, once: bool) -> None:
        """The texter, after indexing the phones texted before replies were taken (ADR 49)."""
        assert self._phones is not None
        assert self._texter is not None
        if not once and self.takes_replies:
            try:
                indexed = await self._phones.backfill(self.app.reporter_phone, self.clock.now())
                if indexed:
                    log.info("reporter_phones_indexed", count=indexed)
            except Exception as e:  # the database may be away: the next start tries again
                log.warning("reporter_phone_indexing_failed", error=type(e).__name__)
        await self._texter.run(once=once)

    def _withdraw_by_reply(self, case_id: UUID) -> bool:
        return self.app.withdraw_sms_consent(case_id, REPLY_ACTOR, REPLY_REASON)

    async def stopping(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
        if self._texter is not None and self._texting is not None:
            self._texter.stop()
            _, pending = await asyncio.wait({self._texting}, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()
        if self._committer is not None:
            await asyncio.to_thread(self._committer.stop)

    async def stop(self) -> None:
        await super().stop()
        if self._keys is not None:
            self._keys.close()

    @property
    def store(self) -> AttachmentStore:
        """The attachment store every service reaches (ADR 22): a tip's own files."""
        if self._store is None:
            self._store = attachment_store(self.settings, self.secrets.receipt_secret)
        return self._store

    published = frozenset(TRANSLATIONS)

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)

    def consumers(self) -> Sequence[Consumer]:
        """Dispatch's and tracking's steps, for the reporters who agreed to SMS (ADR 37) —
        only where the deployment sends SMS: without ``sms_url`` intake follows no other
        service and runs alone (embedded) as before."""
        if self.settings.notify.sms_url is None:
            return []
        texted = reporter_sms_projection(
            self.writes,
            self.app.texted_case,
            self.settings.notify,
            self.quiet,
            self.clock.now,
            portal_url=self.settings.portal_url,
        )
        return [texted]

    @cached_property
    def fingerprints(self) -> Fingerprinter:
        """The keyed digests of request fingerprints (ADR 18) and of texted phones (ADR 49)."""
        return Fingerprinter(self.secrets.fingerprint_keys)

    @property
    def replies(self) -> ReplyDesk:
        if self._replies is None:
            raise RuntimeError("intake service is not started")
        return self._replies

    @property
    def phones(self) -> PhoneIndex:
        if self._phones is None:
            raise RuntimeError("intake service is not started")
        return self._phones

    @property
    def texter(self) -> ReporterTexter:
        if self._texter is None:
            raise RuntimeError("intake service is not started")
        return self._texter

    async def register(self, submission: TipSubmission) -> Registration:
        assert self._committer is not None
        registration = await self._committer.submit_async(submission, REGISTER_TIMEOUT_SECONDS)
        phone = (submission.reporter or {}).get("phone")
        if submission.sms_consent and phone:  # a 「TD」 before the first text withdraws it too
            await self.index_phone(registration.case_id, str(phone))
        return registration

    @property
    def takes_replies(self) -> bool:
        """Whether the SMS gateway delivers replies here (ADR 49): only then are texted
        phones indexed, by keyed digest."""
        return self.settings.sms_reply_secret is not None

    async def index_phone(self, case_id: UUID, phone: str) -> None:
        """The consenting reporter's phone, findable by a reply (ADR 49). Best effort: the
        texter indexes it again right before each text."""
        if not self.takes_replies or self._phones is None:
            return
        try:
            await self._phones.remember(case_id, phone)
        except Exception as e:  # the tip is registered: never refuse it for its index
            log.warning("reporter_phone_indexing_failed", error=type(e).__name__)

    async def _shred_expired_hourly(self) -> None:
        """Destroy identity keys past their retention (crypto-shredding), once an hour."""
        retention = timedelta(days=self.settings.reporter_retention_days)
        while True:
            try:
                cutoff = self.clock.now() - retention
                shredded = await asyncio.to_thread(self.app.shred_registered_before, cutoff)
                if shredded:
                    log.info("reporter_keys_shredded", count=shredded, before=cutoff.isoformat())
                forgotten = await forget_registered_before(self.writes, cutoff)  # ADR 49
                if forgotten:
                    log.info("reporter_phones_shredded", count=forgotten)
            except Exception as e:  # the database may be away; try again next hour
                log.warning("reporter_key_shredding_failed", error=repr(e))
            await asyncio.sleep(3600)
