"""What the public feedback portal may show (网上公示 and receipt look-ups).

Only what was published: never the reporter (contracts never carry them), never the content
of the tip as filed, never the name or position of a person under investigation — neither
the tip's ``subject.person`` nor an accountability record's name.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.ledger.presentation import Context, label
from services.tracking.ledger.rows import Row
from services.tracking.ledger.tables import ledger
from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    FEEDBACK_LABELS,
    MEASURE_LABELS,
    RATING_LABELS,
    STATUS_LABELS,
    TARGET_LABELS,
    AccountabilityTarget,
    CaseStatus,
    Channel,
    FeedbackChannel,
    Measure,
    Rating,
)

PUBLISHED = ledger.c.published_at.is_not(None)


async def published_page(
    session: AsyncSession, *, page: int, page_size: int
) -> tuple[list[Row], int]:
    total = await session.execute(sa.select(sa.func.count()).select_from(ledger).where(PUBLISHED))
    rows = await session.execute(
        sa.select(ledger)
        .where(PUBLISHED)
        .order_by(ledger.c.published_at.desc(), ledger.c.number.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return [dict(r._mapping) for r in rows], int(total.scalar_one())


def published_result(row: Row, ctx: Context) -> dict[str, Any]:
    subject = row.get("subject") or {}
    return {
        "number": row.get("number"),
        "channel_label": label(CHANNEL_LABELS, Channel, row.get("channel")),
        "category": row.get("category"),
        "summary": row.get("summary"),
        "district": row.get("district"),
        "subject_unit": subject.get("unit"),
        "lead_unit": ctx.unit(row.get("lead_unit")),
        "registered_at": row.get("registered_at"),
        "published_at": row.get("published_at"),
        "status_label": label(STATUS_LABELS, CaseStatus, row["status"]),
        "publications": [
            {"content": f["content"], "at": f["at"]}
            for f in row.get("feedback") or []
            if f["channel"] == FeedbackChannel.ONLINE_PUBLICATION
        ],
        "rating_label": _rating(row),
        "accountability": [_measures_only(r) for r in row.get("accountability") or []],
        "closed_out_at": row.get("closed_out_at"),
    }


def receipt_status(row: Row) -> dict[str, Any]:
    """What an anonymous reporter sees with the receipt code: progress and every answer."""
    return {
        "number": row.get("number"),
        "status": row["status"],
        "status_label": label(STATUS_LABELS, CaseStatus, row["status"]),
        "registered_at": row.get("registered_at"),
        "updated_at": row.get("updated_at"),
        "feedback": [
            {
                "channel": f["channel"],
                "channel_label": label(FEEDBACK_LABELS, FeedbackChannel, f["channel"]),
                "content": f["content"],
                "at": f["at"],
            }
            for f in row.get("feedback") or []
        ],
        "can_evaluate": row["status"] == CaseStatus.AWAITING_EVALUATION,
        "closed_out_at": row.get("closed_out_at"),
    }


def _measures_only(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "target": label(TARGET_LABELS, AccountabilityTarget, record["target_kind"]),
        "measures": [label(MEASURE_LABELS, Measure, m) for m in record["measures"]],
        "exempted": record["exempted"],
    }


def _rating(row: Row) -> str | None:
    latest = row.get("latest_evaluation")
    return label(RATING_LABELS, Rating, latest["rating"]) if latest else None
