"""The dispatch service in one process: its Application, its read tables (the desk and the
schedule) and their projection, the reminder scheduler, and the one path every case endpoint
takes: load the case once, check the caller's row scope on it, run the command."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from services.dispatch.application import DispatchApplication
from services.dispatch.contract import TRANSLATIONS, to_contract
from services.dispatch.domain import Case
from services.dispatch.errors import NotCleaned
from services.dispatch.policy import policies
from services.dispatch.reminders import Scheduler
from services.dispatch.schedule import schedule_projection
from services.dispatch.schemas import CaseView, NumberedCaseView
from services.dispatch.scope import check_access, check_purpose
from shared.contracts import SYSTEM_ACTOR, Contract
from shared.platform.attachments import AttachmentStore, attachment_store
from shared.platform.cleaning import is_clean
from shared.platform.clock import clock_for
from shared.platform.messaging import Consumer
from shared.platform.service import ServiceBase
from shared.web.auth import Principal
from shared.web.authz import Action

STOP_TIMEOUT_SECONDS = 15.0


class DispatchService(ServiceBase[DispatchApplication]):
    name = "dispatch"
    read_migrations = Path(__file__).resolve().parent / "migrations"

    _scheduler: Scheduler | None = None
    _store: AttachmentStore | None = None
    _scheduler_task: asyncio.Task[None] | None = None

    def build(self, env: dict[str, str]) -> DispatchApplication:
        app = DispatchApplication(
            env,
            policy=self.settings.deadline_policy,
            clock=clock_for(self.settings),
            timezone=self.settings.timezone,
            signed_form_required=self.settings.require_signed_form,
        )
        if self.settings.embedded_store and self.settings.seed_directory:
            app.seed(SYSTEM_ACTOR)  # a newcomer's first start: something to click through
        return app

    async def started(self) -> None:
        if self.background:  # a bucket that does not answer is refused at start (ADR 39)
            await asyncio.to_thread(self.store.check_reachable)
        self._scheduler = Scheduler(self.app, self.reads, self.settings.scheduler_interval_seconds)
        if self.background:
            self._scheduler_task = asyncio.create_task(self._scheduler.run())

    async def stopping(self) -> None:
        if self._scheduler is not None and self._scheduler_task is not None:
            self._scheduler.stop()
            _, pending = await asyncio.wait({self._scheduler_task}, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()

    async def gauges(self) -> list[tuple[str, str, dict[str, str], float]]:
        """For the operators' metrics (``shared.web.metrics``): a sweep that stopped."""
        passes = self._scheduler.passes if self._scheduler is not None else 0
        return [("taizhang_deadline_sweeps", "Completed deadline sweeps (催办/督办)", {}, passes)]

    published = frozenset(TRANSLATIONS)

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)

    def consumers(self) -> Sequence[Consumer]:
        return [*policies(self.app), schedule_projection(self.writes)]

    def desk_items(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The triage desk as the office works it: each case's summary, category (code and
        name), whether the reporter is named and how long it has waited; named reports first
        (实名优先), then the oldest."""
        now = self.app.clock.now()
        catalogue = self.app.category_catalogue()
        rules = self.app.routing_rules()
        items = []
        for row in rows:
            case = self.app.find_case(row["case_id"])
            if case is None:
                continue
            items.append(
                row
                | {
                    "summary": case.summary,
                    "category": case.category,
                    "category_name": catalogue.name_of(case.category),
                    "named": case.named,
                    "registered_at": case.registered_at,
                    "waiting_days": max((now - case.registered_at).days, 0),
                    "repeats": len(case.repeats),
                    "suggestion": _suggestion(self.app.suggested_rule(case, rules)),
                }
            )
        items.sort(key=lambda i: (not i["named"], i["registered_at"], i["number"]))
        return items

    # --- the path of every case endpoint ----------------------------------------------------

    def view(self, case_id: UUID, principal: Principal) -> CaseView:
        case = self.app.get_case(case_id)
        check_access(case, principal, Action.READ_CASE)
        return CaseView.of(case)

    def act(
        self,
        case_id: UUID,
        principal: Principal,
        action: Action,
        command: Callable[[DispatchApplication], Case],
    ) -> CaseView:
        """Run the command with the caller's row scope checked on the case it loads."""
        with self.app.guarded(case_id, lambda case: check_access(case, principal, action)):
            view = CaseView.of(command(self.app))
        view.position = self.app.recorder.max_notification_id()  # at or past the command's
        return view

    def act_numbered(
        self,
        case_id: UUID,
        principal: Principal,
        action: Action,
        command: Callable[[DispatchApplication], tuple[Case, int]],
    ) -> NumberedCaseView:
        with self.app.guarded(case_id, lambda case: check_access(case, principal, action)):
            case, n = command(self.app)
        head = self.app.recorder.max_notification_id()
        return NumberedCaseView(n=n, **CaseView.of(case).model_dump() | {"position": head})

    # --- files on a case (ADR 22): scope first, then the bytes, then the event -------------

    @property
    def store(self) -> AttachmentStore:
        if self._store is None:
            self._store = attachment_store(self.settings, self.secrets.receipt_secret)
        return self._store

    def attach(
        self, case_id: UUID, principal: Principal, purpose: str, data: bytes
    ) -> dict[str, Any]:
        """Check the caller may attach to this case, keep the cleaned bytes, record the file."""
        check_access(self.app.get_case(case_id), principal, Action.ATTACH_FILE)
        check_purpose(principal, purpose)
        stored = self.store.put(data)
        fields = {"digest": stored.digest, "media_type": stored.media_type, "size": stored.size}
        check = lambda case: check_access(case, principal, Action.ATTACH_FILE)  # noqa: E731
        with self.app.guarded(case_id, check):
            return self.app.attach(case_id, fields, purpose, principal.actor())

    def attachments(self, case_id: UUID, principal: Principal) -> list[dict[str, Any]]:
        case = self.app.get_case(case_id)
        check_access(case, principal, Action.READ_CASE)
        return list(case.attachments)

    def download(
        self, case_id: UUID, principal: Principal, digest: str
    ) -> tuple[dict[str, Any], bytes]:
        """The file, after its download is recorded on the case (who, when, which file)."""
        check = lambda case: check_access(case, principal, Action.READ_CASE)  # noqa: E731
        with self.app.guarded(case_id, check):
            self.app.get_case(case_id).attachment(digest)  # in scope and on this case
            data = self.store.get(digest)  # readable before the download is recorded
            attachment = self.app.record_download(case_id, digest, principal.actor())
        return attachment, data

    def approve_for_public(
        self, case_id: UUID, principal: Principal, digest: str
    ) -> dict[str, Any]:
        """The office approves an image or video of the case for the public portal. A video
        kept before videos were cleaned is refused: its place and device may still be in it."""
        check = lambda case: check_access(case, principal, Action.PUBLISH_IMAGE)  # noqa: E731
        with self.app.guarded(case_id, check):
            kind = self.app.get_case(case_id).attachment(digest)["media_type"]
            if kind == "video/mp4" and not is_clean(self.store.get(digest), kind):
                raise NotCleaned(
                    "该视频保存于清除元数据之前,可能含拍摄地点和设备信息,请重新上传后再批准公开 "
                    "(kept before videos were cleaned: upload it again)"
                )
            return self.app.approve_for_public(case_id, digest, principal.actor())

    def withdraw_from_public(
        self, case_id: UUID, principal: Principal, digest: str, reason: str
    ) -> dict[str, Any]:
        """The office withdraws a file from the public portal and says why."""
        check = lambda case: check_access(case, principal, Action.PUBLISH_IMAGE)  # noqa: E731
        with self.app.guarded(case_id, check):
            return self.app.withdraw_from_public(case_id, digest, reason, principal.actor())

    async def recount_now(self) -> None:
        """After a year was loaded: count provisional deadlines again without waiting."""
        if self._scheduler is not None:
            await self._scheduler.recount()


def _suggestion(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """The desk's 分办建议: which rule, and what it would do."""
    if rule is None:
        return None
    keys = ("id", "name", "lead_unit", "co_units", "track")
    return {("rule_id" if k == "id" else k): rule.get(k) for k in keys}
