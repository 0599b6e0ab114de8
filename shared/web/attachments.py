"""How every service answers the attachment store's refusals (ADR 22), and reads an uploaded
part no further than the store's limit: dispatch's files on a case and intake's files with a
tip are refused alike, with the same stable codes."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from shared.platform import attachments as files
from shared.web.problems import not_found
from shared.web.refusals import Refusal, Refusals

ATTACHMENT_REFUSALS: Refusals = {
    files.AttachmentEmpty: Refusal(422, "attachment_empty", "附件为空"),
    files.AttachmentTooLarge: Refusal(413, "attachment_too_large", "附件超过大小上限"),
    files.AttachmentTypeRefused: Refusal(
        415, "attachment_type_refused", "附件类型不允许(按内容识别)"
    ),
    files.AttachmentUnreadable: Refusal(
        422, "attachment_unreadable", "附件无法解码或无法安全去除元数据"
    ),
    files.AttachmentInfected: Refusal(422, "attachment_infected", "附件未通过病毒扫描"),
    files.ScannerUnavailable: Refusal(503, "scanner_unavailable", "病毒扫描不可用"),
    files.AttachmentMissing: Refusal(
        404, "no_such_attachment", "没有该附件", detail=not_found("attachment").detail
    ),
}


def too_large(limit: int) -> files.AttachmentTooLarge:
    error = files.AttachmentTooLarge(f"附件超过 {limit} 字节上限 (the file is over {limit} bytes)")
    error.details = {"max_bytes": limit}
    return error


def read_upload(file: UploadFile, limit: int) -> bytes:
    """The part's bytes, refused as soon as they pass ``limit``."""
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data
