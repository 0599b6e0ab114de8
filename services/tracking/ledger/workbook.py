"""The ledger as the Excel sheet offices bring to meetings (openpyxl, write-only: rows are
streamed to a temporary file as they are read, so a large ledger is never held whole)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.background import BackgroundTask

from services.tracking.ledger.presentation import Context, accountability_summary, is_overdue, label
from services.tracking.ledger.rows import Row
from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    FEEDBACK_LABELS,
    RATING_LABELS,
    STATUS_LABELS,
    TRACK_LABELS,
    CaseStatus,
    Channel,
    FeedbackChannel,
    Rating,
    Track,
)

WRAPPED = Alignment(wrap_text=True, vertical="top")
PAPER_A4 = 9  # OOXML paperSize code
WRAP_FROM = 8  # characters: shorter values fit their columns as they are
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"

# (header, width in characters) — the offices' 台账 layout (issue 22 point 5): who and what
# was reported, how it is handled, by whom (the lead unit and its responsible person), when
# signed for and due, and where it stands.
COLUMNS = [
    ("序号", 6),
    ("编号", 14),
    ("来源渠道", 14),
    ("受理时间", 17),
    ("问题类别", 12),
    ("反映内容摘要", 40),
    ("被反映单位及人员", 24),
    ("办理类别", 12),
    ("责任单位", 18),
    ("责任单位负责人", 16),
    ("协办单位", 18),
    ("签收时间", 17),
    ("办理时限", 12),
    ("办理状态", 11),
    ("是否超期", 10),
    ("办理结果", 40),
    ("反馈情况", 26),
    ("满意度", 9),
    ("二次办理", 9),
    ("问责情况", 34),
    ("销号时间", 17),
]
HEADERS = [h for h, _ in COLUMNS]


def new_sheet(workbook: Workbook, name: str, title: str, columns: list[tuple[str, int]]) -> Any:
    """A write-only sheet with a title row, a bold header row frozen below it, and widths."""
    sheet = workbook.create_sheet(name)
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    sheet.merged_cells.add(f"A1:{get_column_letter(len(columns))}1")
    heading = WriteOnlyCell(sheet, value=title)
    heading.font = Font(bold=True, size=14)
    heading.alignment = Alignment(horizontal="center")
    # Printed as offices file it: landscape A4, as wide as the page, the header on every page.
    # (Before the first row: a write-only sheet writes its properties with it.)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = PAPER_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:2"
    sheet.append([heading])
    sheet.append([_bold(sheet, h) for h, _ in columns])
    return sheet


def _bold(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return cell


def cell(sheet: WriteOnlyWorksheet, value: Any, ctx: Context) -> Any:
    """Moments as local date-times and days as dates, so Excel can sort and filter them.
    Control characters a caller typed into a tip cannot go into the sheet's XML at all: they
    are dropped from the cell rather than failing the whole export."""
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(text) <= WRAP_FROM:
            return text
        wrapped = WriteOnlyCell(sheet, value=text)  # long text wraps within its column
        wrapped.alignment = WRAPPED
        return wrapped
    if isinstance(value, datetime):
        local = value.astimezone(ctx.calendar.timezone).replace(tzinfo=None)
        formatted = WriteOnlyCell(sheet, value=local)
        formatted.number_format = MOMENT_FORMAT
        return formatted
    if isinstance(value, date):
        formatted = WriteOnlyCell(sheet, value=value)
        formatted.number_format = DATE_FORMAT
        return formatted
    return value


def ledger_line(serial: int, row: Row, ctx: Context) -> list[Any]:
    deadline = row.get("handle_deadline")
    units = ctx.unit_names
    return [
        serial,
        row.get("number"),
        label(CHANNEL_LABELS, Channel, row.get("channel")),
        row.get("registered_at"),
        ctx.category_name(row.get("category")),
        row.get("summary") or _abridged(row.get("content")),
        subject_line(row.get("subject")),
        label(TRACK_LABELS, Track, row.get("track")),
        units.get(row.get("lead_unit") or "", row.get("lead_unit")),
        ctx.unit_heads.get(row.get("lead_unit") or ""),
        "、".join(units.get(u, u) for u in row.get("co_units") or []) or None,
        row.get("signed_at"),
        deadline.astimezone(ctx.calendar.timezone).date() if deadline else None,
        label(STATUS_LABELS, CaseStatus, row["status"]),
        overdue_label(row, ctx),
        _result(row),
        feedback_summary(row),
        _rating(row),
        "是" if row["pass_no"] > 1 else "否",
        accountability_summary(row.get("accountability") or []),
        row.get("closed_out_at"),
    ]


def subject_line(subject: dict[str, Any] | None) -> str | None:
    """被反映单位及人员, e.g. ``某街道办事处 张某(科长)``."""
    if not subject:
        return None
    person = subject.get("person")
    if person and subject.get("position"):
        person = f"{person}({subject['position']})"
    return " ".join(p for p in (subject.get("unit"), person) if p) or None


def overdue_label(row: Row, ctx: Context) -> str:
    if is_overdue(row, ctx.now):
        return "是"
    return "逾期办结" if row.get("result_on_time") is False else "否"


def feedback_summary(row: Row) -> str | None:
    """e.g. ``已反馈:网上公示;待反馈:直接反馈``."""
    delivered, required = row.get("delivered_feedback") or [], row.get("required_feedback") or []

    def names(channels: list[str]) -> str:
        return "、".join(label(FEEDBACK_LABELS, FeedbackChannel, c) or c for c in channels)

    pending = [c for c in required if c not in delivered]
    parts = [
        f"已反馈:{names(delivered)}" if delivered else "",
        f"待反馈:{names(pending)}" if pending else "",
    ]
    return ";".join(p for p in parts if p) or None


def _result(row: Row) -> str | None:
    parts = [row.get("result_findings"), row.get("result_rectification")]
    return "\n".join(p for p in parts if p) or None


def _rating(row: Row) -> str | None:
    latest = row.get("latest_evaluation")
    return label(RATING_LABELS, Rating, latest["rating"]) if latest else None


def _abridged(text: str | None, length: int = 60) -> str | None:
    if not text:
        return None
    return text if len(text) <= length else text[:length] + "…"


async def ledger_file(batches: AsyncIterator[list[Row]], ctx: Context) -> Path:
    """The ledger sheet in a temporary file, which the response deletes once sent."""
    path = await asyncio.to_thread(temporary_xlsx)
    title = f"问题台账({ctx.now.astimezone(ctx.calendar.timezone):%Y-%m-%d %H:%M})"
    try:
        await write_ledger(path, title, batches, ctx)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return path


def temporary_xlsx() -> Path:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        return Path(handle.name)


def xlsx_response(path: Path, filename: str) -> FileResponse:
    """Streams the file from disk, then deletes it."""
    return FileResponse(
        path, media_type=XLSX, filename=filename, background=BackgroundTask(path.unlink)
    )


async def write_ledger(
    path: Path, title: str, batches: AsyncIterator[list[Row]], ctx: Context
) -> int:
    """Write the ledger sheet to ``path``; returns the number of cases written."""
    workbook = Workbook(write_only=True)
    sheet = new_sheet(workbook, "台账", title, COLUMNS)
    written = 0
    async for batch in batches:
        lines = [ledger_line(written + i, row, ctx) for i, row in enumerate(batch, start=1)]
        await asyncio.to_thread(_append, sheet, lines, lambda v: cell(sheet, v, ctx))
        written += len(batch)
    await asyncio.to_thread(workbook.save, path)
    return written


def _append(sheet: Any, lines: list[list[Any]], convert: Callable[[Any], Any]) -> None:
    for line in lines:
        sheet.append([convert(v) for v in line])
