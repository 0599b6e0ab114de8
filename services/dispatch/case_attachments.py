"""Files on a case (附件, ADR 22): who attached what, for which purpose, and who downloaded it.
A mixin of :class:`~services.dispatch.domain.Case`, whose events these commands record.

The events carry the keyed digest, the type, the size and the purpose — never the bytes and
never the file's name (a name often carries a person's name; it is not kept at all).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from services.dispatch.errors import Invalid, NoSuchItem, Refused

if TYPE_CHECKING:
    from services.dispatch.domain import Case

Actor = dict[str, Any]

# What the public portal may show, once the office approved it (issue 21 point 4): photos,
# and the rectification videos many offices publish (ADR 22, last amendment).
PUBLIC_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "video/mp4"})

# What a file is attached as → its label (the result's 佐证材料, the signed form, …).
PURPOSES: dict[str, str] = {
    "evidence": "线索证据",
    "result": "办理结果佐证材料",
    "signed_form": "主要领导签字背书",
    "extension": "延期申请材料",
    "decision": "问责决定文书",
    "feedback": "反馈材料",
}


class CaseAttachments:
    """The case's attachment commands."""

    def attach(
        self,
        *,
        digest: str,
        media_type: str,
        size: int,
        purpose: str,
        now: datetime,
        actor: Actor,
    ) -> dict[str, Any]:
        """Record a stored file on the case; the same file for the same purpose once."""
        case = cast("Case", self)
        if purpose not in PURPOSES:
            raise Invalid("purpose", f"附件用途应为 {'、'.join(PURPOSES)} 之一 (unknown purpose)")
        for known in case.attachments:
            if known["digest"] == digest and known["purpose"] == purpose:
                return known
        case._attachment_added(
            n=len(case.attachments) + 1,
            digest=digest,
            media_type=media_type,
            size=size,
            purpose=purpose,
            attached_at=now,
            actor=actor,
            **case._same(),
        )
        return case.attachments[-1]

    def record_download(self, *, digest: str, now: datetime, actor: Actor) -> dict[str, Any]:
        """Every download is recorded on the case before its bytes leave (the audit trail)."""
        case = cast("Case", self)
        attachment = self.attachment(digest)
        case._attachment_downloaded(
            n=attachment["n"], digest=digest, downloaded_at=now, actor=actor, **case._same()
        )
        return attachment

    def approve_for_public(self, *, digest: str, now: datetime, actor: Actor) -> dict[str, Any]:
        """公开: the office lets the public portal show this image or video with the published
        result (it shows nothing of a case that is not published). Approving it again changes
        nothing."""
        case = cast("Case", self)
        attachment = self.attachment(digest)
        if attachment["media_type"] not in PUBLIC_TYPES:
            raise Refused(
                "只有图片和 MP4 视频可以在公众门户公开 (only images and MP4 videos may be shown)"
            )
        if not attachment.get("public"):
            case._attachment_approved(
                n=attachment["n"],
                digest=digest,
                media_type=attachment["media_type"],
                approved_at=now,
                actor=actor,
                **case._same(),
            )
        return attachment

    def withdraw_from_public(
        self, *, digest: str, reason: str, now: datetime, actor: Actor
    ) -> dict[str, Any]:
        """撤回公开: the portal stops showing the file at once; the office says why.
        Withdrawing one that is not shown changes nothing."""
        case = cast("Case", self)
        attachment = self.attachment(digest)
        if attachment.get("public"):
            case._attachment_withdrawn(
                n=attachment["n"],
                digest=digest,
                withdrawn_at=now,
                actor=actor,
                reason=reason,
                **case._same(),
            )
        return attachment

    def record_cleaned(
        self, *, n: int, old_digest: str, digest: str, size: int, now: datetime, actor: Actor
    ) -> bool:
        """清除元数据: a file kept before its kind was cleaned (ADR 22's last amendment), its
        bytes cleaned since and kept under their own keyed digest — the case names that one
        from now on (ADR 42). Once: a file that names ``digest`` already, or no longer names
        ``old_digest`` (changed meanwhile), is left as it is."""
        case = cast("Case", self)
        if not 1 <= n <= len(case.attachments):
            raise NoSuchItem(f"没有第 {n} 个附件 (no attachment {n})")
        if case.attachments[n - 1]["digest"] != old_digest or old_digest == digest:
            return False
        case._attachment_cleaned(
            n=n,
            old_digest=old_digest,
            digest=digest,
            media_type=case.attachments[n - 1]["media_type"],
            size=size,
            cleaned_at=now,
            actor=actor,
            **case._same(),
        )
        return True

    def attachment(self, digest: str) -> dict[str, Any]:
        case = cast("Case", self)
        for known in case.attachments:
            if known["digest"] == digest:
                return known
        raise NoSuchItem("没有该附件 (no such attachment on this case)")
