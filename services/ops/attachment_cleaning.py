"""``taizhang attachments clean-kept``: on upgrade, the files kept before their kind was
cleaned (ADR 22's last amendment) cleaned and recorded on their cases (ADR 42;
:mod:`services.dispatch.kept_files`). Dispatch is started for it without its background
work (no reminders from a tool), beside a running deployment. Counts only, in the output and
the log: no digest, no case."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from services.dispatch.kept_files import CleanReport, clean_kept_files
from services.registry import build_service
from shared.contracts import SYSTEM_ACTOR
from shared.platform.settings import Settings, load_secrets

log = structlog.get_logger(__name__)


async def clean_kept(settings: Settings, *, dry_run: bool = False) -> CleanReport:
    settings = settings.model_copy(update={"db_pool_size": min(settings.db_pool_size, 2)})
    dispatch: Any = build_service("dispatch", settings, load_secrets(settings))
    await dispatch.start(background=False)
    try:
        report: CleanReport = await asyncio.to_thread(
            clean_kept_files,
            dispatch.app,
            dispatch.store,
            actor=SYSTEM_ACTOR,
            dry_run=dry_run,
            faults=settings.faults,
        )
    finally:
        await dispatch.stop()
    log.info("kept_attachments_cleaned", dry_run=dry_run, **report.as_json())
    return report
