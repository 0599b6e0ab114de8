"""Reports as documents: Markdown and HTML to read, xlsx to work with.

The format is chosen by ``?format=md|html|xlsx``, else by the ``Accept`` header
(``text/markdown``, ``text/html``, the xlsx media type); Markdown when neither says.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from services.tracking.ledger.presentation import Context
from services.tracking.ledger.reports.summaries import Report, Section
from services.tracking.ledger.workbook import XLSX, cell, new_sheet, temporary_xlsx

FORMATS = {"md": "text/markdown", "html": "text/html", "xlsx": XLSX}


def choose_format(requested: str | None, accept: str | None) -> str:
    if requested:
        return requested
    for media in (accept or "").split(","):
        media = media.split(";")[0].strip()
        for name, media_type in FORMATS.items():
            if media == media_type:
                return name
    return "md"


def text(value: Any, ctx: Context) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(ctx.calendar.timezone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def markdown(report: Report, ctx: Context) -> str:
    lines = [
        f"# {report.title}",
        "",
        f"统计期间:{report.period}  ",
        f"生成时间:{text(report.generated_at, ctx)}",
    ]
    for section in report.sections:
        lines += ["", f"## {section.heading}", ""]
        if section.note:
            lines += [section.note, ""]
        if not section.rows:
            lines.append("(无)")
            continue
        lines.append(_md_row([h for h, _ in section.columns]))
        lines.append(_md_row(["---"] * len(section.columns)))
        lines += [_md_row([text(v, ctx) for v in row]) for row in section.rows]
    return "\n".join(lines) + "\n"


def _md_row(cells: list[str]) -> str:
    escaped = [c.replace("|", "\\|").replace("\n", " ") for c in cells]
    return "| " + " | ".join(escaped) + " |"


def html_page(report: Report, ctx: Context) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:1.5em}th,td{border:1px solid #999;padding:.3em .6em}"
        "th{background:#eee}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f"<p>统计期间:{html.escape(report.period)}<br>"
        f"生成时间:{html.escape(text(report.generated_at, ctx))}</p>",
    ]
    for section in report.sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.note:
            parts.append(f"<p>{html.escape(section.note)}</p>")
        parts.append(_html_table(section, ctx) if section.rows else "<p>(无)</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(section: Section, ctx: Context) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in section.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(text(v, ctx))}</td>" for v in row) + "</tr>"
        for row in section.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def workbook(report: Report, ctx: Context) -> Path:
    """A temporary xlsx file: one sheet per section, each with the report's title row and a
    frozen header."""
    path = temporary_xlsx()
    book = Workbook(write_only=True)
    for index, section in enumerate(report.sections, start=1):
        name = f"{index}.{section.heading.split('、')[-1]}"[:31]
        title = f"{report.title} — {section.heading}"
        if section.note:  # in the title row: above the frozen header, on every printed page
            title = f"{title}({section.note})"
        sheet = new_sheet(book, name, title, section.columns)
        for row in section.rows:
            sheet.append([cell(sheet, v, ctx) for v in row])
    book.save(path)
    return path
