"""The intake service in one process: its Application, the group-commit writer every
registration goes through, its key vault, and the hourly shredding of expired identities."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog

from services.intake.application import IntakeApplication, Registration, TipSubmission
from services.intake.contract import TRANSLATIONS, to_contract
from services.intake.fingerprints import rewrite_unkeyed_fingerprints
from services.intake.groupcommit import GroupCommitter
from services.intake.keyvault import KeyVault
from services.intake.reporter_sms.delivery import ReporterTexter
from services.intake.reporter_sms.projection import QuietHours, reporter_sms_projection
from services.intake.reporter_sms.tables import MIGRATIONS
from shared.contracts import Contract
from shared.platform.apprise_channel import check_sms_url
from shared.platform.attachments import AttachmentStore, attachment_store
from shared.platform.clock import Clock, clock_for
from shared.platform.messaging import Consumer
from shared.platform.protection import Fingerprinter, Sealer
from shared.platform.service import ServiceBase
from shared.platform.settings import Secrets, Settings

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
        self.quiet = QuietHours(settings.notify, settings.timezone)
        check_sms_url(settings.notify)

    def build(self, env: dict[str, str]) -> IntakeApplication:
        self._keys = key_vault(self.settings, self.secrets)
        fingerprints = Fingerprinter(self.secrets.fingerprint_keys)
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
        self._texter = ReporterTexter(
            self.writes,
            self.settings.notify,
            self.app.reporter_phone,
            self.quiet,
            self.clock.now,
            self.settings.faults,
            receipt_of=self.app.receipt_code,
        )
        if self.background:  # without sms_url nothing new is recorded: no polling every 2 s
            once = self.settings.notify.sms_url is None
            self._texting = asyncio.create_task(self._texter.run(once=once))

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

    @property
    def texter(self) -> ReporterTexter:
        if self._texter is None:
            raise RuntimeError("intake service is not started")
        return self._texter

    async def register(self, submission: TipSubmission) -> Registration:
        assert self._committer is not None
        return await self._committer.submit_async(submission, REGISTER_TIMEOUT_SECONDS)

    async def _shred_expired_hourly(self) -> None:
        """Destroy identity keys past their retention (crypto-shredding), once an hour."""
        retention = timedelta(days=self.settings.reporter_retention_days)
        while True:
            try:
                cutoff = self.clock.now() - retention
                shredded = await asyncio.to_thread(self.app.shred_registered_before, cutoff)
                if shredded:
                    log.info("reporter_keys_shredded", count=shredded, before=cutoff.isoformat())
            except Exception as e:  # the database may be away; try again next hour
                log.warning("reporter_key_shredding_failed", error=repr(e))
            await asyncio.sleep(3600)
