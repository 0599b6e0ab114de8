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
        "images": public_images(row),
        "videos": public_images(row, "videos"),
    }


IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4"})
# Each kind the office may approve → the address it is served at under the published result.
PUBLIC_KINDS = {"images": IMAGE_TYPES, "videos": VIDEO_TYPES}


def public_images(row: Row, kind: str = "images") -> list[dict[str, Any]]:
    """The images (or videos) the office approved for the public, each by its address under
    the published result (the case number and the keyed digest; never a name)."""
    number = row.get("number")
    return [
        {
            "n": i["n"],
            "media_type": i["media_type"],
            "url": f"/public/v1/results/{number}/{kind}/{i['digest']}",
        }
        for i in row.get("public_images") or []
        if i["media_type"] in PUBLIC_KINDS[kind]
    ]


async def published_image(
    session: AsyncSession, number: str, digest: str, kind: str = "images"
) -> Row | None:
    """The approved image (or video) ``digest`` of the published case ``number``; None for
    anything else — an unpublished case, a file not (or no longer) approved, another case's
    file, a file of the other kind."""
    found = await session.execute(
        sa.select(ledger.c.public_images).where(ledger.c.number == number, PUBLISHED)
    )
    for images in found.scalars():
        for image in images or []:
            if image["digest"] == digest and image["media_type"] in PUBLIC_KINDS[kind]:
                return dict(image)
    return None


def receipt_status(row: Row, original: Row | None = None) -> dict[str, Any]:
    """What a reporter sees with the receipt code: progress step by step in plain Chinese and
    every answer to it. A merged case's reporter also follows the case it was merged into
    (``original``: its steps and published answers only — never the replies to that case's
    own reporter) and rates it (ADR 20).

    A named (实名) reporter's case (ADR 44) shows the same steps, but not the words the office
    addressed to that reporter — the direct replies and the 不予受理 reason: the office knows
    the reporter's name and writes to them by it (「张三同志:…」), and whoever holds the code
    (read out on a call, seen in a text) would read it. The reporter has them from the office
    directly; the page says so, and when."""
    status = row["status"]
    named = bool(row.get("named"))
    answer = {
        "number": row.get("number"),
        "status": status,
        "status_label": label(STATUS_LABELS, CaseStatus, status),
        "registered_at": row.get("registered_at"),
        "updated_at": row.get("updated_at"),
        "steps": steps(row),
        "not_accepted_reason": row.get("not_accepted_reason")
        if status == CaseStatus.NOT_ACCEPTED and not named
        else None,
        "merged_into": row.get("merged_into") if status == CaseStatus.MERGED else None,
        "feedback": [_answer(f, named) for f in row.get("feedback") or []],
        "can_evaluate": status == CaseStatus.AWAITING_EVALUATION,
        "closed_out_at": row.get("closed_out_at"),
    }
    if original is not None and status == CaseStatus.MERGED:
        public = [f for f in original.get("feedback") or [] if f["channel"] in PUBLIC_ANSWERS]
        answer["original"] = {
            "number": original.get("number"),
            "status": original["status"],
            "status_label": label(STATUS_LABELS, CaseStatus, original["status"]),
            "steps": steps(original),
            "feedback": [_answer(f) for f in public],
            "closed_out_at": original.get("closed_out_at"),
        }
        answer["can_evaluate"] = original["status"] == CaseStatus.AWAITING_EVALUATION
    return answer


PUBLIC_ANSWERS = (FeedbackChannel.ONLINE_PUBLICATION.value, FeedbackChannel.MEDIA_RESPONSE.value)


def steps(row: Row) -> list[dict[str, Any]]:
    """Each step the case has taken, in order, as a reporter would say it (a named
    reporter's 不予受理 reason is the office's to tell directly: ``receipt_status``)."""
    found: list[dict[str, Any]] = [{"step": "您的举报已登记", "at": row.get("registered_at")}]
    if row["status"] == CaseStatus.NOT_ACCEPTED:
        reason = row.get("not_accepted_reason") or ""
        told = NAMED_REASON if row.get("named") else f"理由:{reason}"
        found.append({"step": f"经审查不予受理。{told}", "at": row.get("updated_at")})
    if row["status"] == CaseStatus.MERGED:
        found.append(
            {
                "step": f"与编号 {row.get('merged_into')} 的案件反映同一问题,已合并办理,"
                "请关注该案件的办理情况",
                "at": row.get("updated_at"),
            }
        )
    moments = [
        ("dispatched_at", "已交责任单位办理"),
        ("signed_at", "责任单位已签收,正在办理"),
        ("result_accepted_at", "办理结果已审核通过"),
    ]
    found += [{"step": text, "at": row[key]} for key, text in moments if row.get(key)]
    if (row.get("pass_no") or 1) > 1:
        found.append({"step": "因评价不满意,已启动二次办理", "at": None})
    for f in row.get("feedback") or []:
        channel = label(FEEDBACK_LABELS, FeedbackChannel, f["channel"])
        found.append({"step": f"已反馈({channel})", "at": f["at"]})
    if row.get("closed_out_at"):
        found.append({"step": "已办结销号", "at": row["closed_out_at"]})
    return found


NAMED_REASON = "理由由我办直接告知您"
# A named reporter's direct reply, in place of its words (ADR 44).
TOLD_DIRECTLY = "我办已直接答复您;为保护举报人,答复内容不在此页显示。"


def _answer(f: dict[str, Any], named: bool = False) -> dict[str, Any]:
    """One answer; a direct reply to a named reporter without its words (``content`` null,
    ``note`` says why)."""
    withheld = named and f["channel"] == FeedbackChannel.DIRECT_REPLY
    return {
        "channel": f["channel"],
        "channel_label": label(FEEDBACK_LABELS, FeedbackChannel, f["channel"]),
        "content": None if withheld else f["content"],
        "note": TOLD_DIRECTLY if withheld else None,
        "at": f["at"],
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
