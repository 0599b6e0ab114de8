"""Official documents (公文) as .docx, with python-docx: the offices edit and print them.

The layout of a 通报 / 报告 / 通知书: the title centred, the 文号 under it, the addressee, the
body paragraphs, the attachment tables (each with its heading), then the issuing office and
the date on the right; charts (static images) after the tables. Fonts are named, not embedded
(the reader's 仿宋 / 黑体 apply).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.run import Run

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Table:
    heading: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    note: str | None = None  # a line under the heading, before the table


@dataclass(frozen=True)
class Chart:
    """A figure after the tables: its heading and the image (PNG) drawn from them."""

    heading: str
    png: bytes


@dataclass(frozen=True)
class OfficialDocument:
    title: str
    number: str  # 文号, e.g. 纠风通〔2026〕3号
    issued_on: date
    issuer: str
    body: Sequence[str] = ()
    addressee: str | None = None
    tables: Sequence[Table] = field(default_factory=tuple)
    charts: Sequence[Chart] = field(default_factory=tuple)


def _font(run: Run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.bold = bold
    properties = run._element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = properties.makeelement(qn("w:rFonts"), {})
        properties.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def to_docx(doc: OfficialDocument) -> bytes:
    document = Document()
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(doc.title), "方正小标宋简体", 22, bold=True)
    number = document.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(number.add_run(doc.number), "仿宋", 16)
    if doc.addressee:
        _font(document.add_paragraph().add_run(f"{doc.addressee}:"), "仿宋", 16)
    for text in doc.body:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.first_line_indent = Pt(32)
        _font(paragraph.add_run(text), "仿宋", 16)
    for table in doc.tables:
        _font(document.add_paragraph().add_run(table.heading), "黑体", 16)
        if table.note:
            _font(document.add_paragraph().add_run(table.note), "仿宋", 14)
        if not table.rows:
            _font(document.add_paragraph().add_run("(无)"), "仿宋", 14)
            continue
        grid = document.add_table(rows=1, cols=len(table.columns))
        grid.style = "Table Grid"
        for cell, heading in zip(grid.rows[0].cells, table.columns, strict=True):
            _font(cell.paragraphs[0].add_run(heading), "黑体", 12)
        for row in table.rows:
            cells = grid.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                _font(cell.paragraphs[0].add_run(value), "仿宋", 12)
    for chart in doc.charts:
        _font(document.add_paragraph().add_run(chart.heading), "黑体", 16)
        document.add_picture(io.BytesIO(chart.png), width=Cm(15.5))
    for line in (doc.issuer, chinese_date(doc.issued_on)):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(paragraph.add_run(line), "仿宋", 16)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# PDF: WeasyPrint from HTML of the same content; the font is a free CJK one found through
# fontconfig (Noto CJK or WenQuanYi: apt fonts-noto-cjk / fonts-wqy-microhei) and embedded, as
# a subset, in the file. Official fonts such as 仿宋_GB2312 are not free.
PDF = "application/pdf"
CJK_FONTS = (
    '"Noto Serif CJK SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", serif'
)


def to_html(doc: OfficialDocument) -> str:
    e = html.escape
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>',
        f"@page {{ size: A4; margin: 37mm 26mm 35mm 28mm }} body {{ font-family: {CJK_FONTS};"
        " font-size: 16pt; line-height: 1.6 } h1 { text-align: center; font-size: 22pt;"
        " margin: 0 } .number { text-align: center } .body { text-indent: 2em }"
        " table { border-collapse: collapse; width: 100%; font-size: 11pt }"
        " th, td { border: 1px solid #000; padding: 2pt 4pt } .sign { text-align: right }"
        " img { width: 100% }",
        "</style></head><body>",
        f"<h1>{e(doc.title)}</h1>",
        f'<p class="number">{e(doc.number)}</p>',
    ]
    if doc.addressee:
        parts.append(f"<p>{e(doc.addressee)}:</p>")
    parts += [f'<p class="body">{e(text)}</p>' for text in doc.body]
    for table in doc.tables:
        parts.append(f"<h2>{e(table.heading)}</h2>")
        if table.note:
            parts.append(f"<p>{e(table.note)}</p>")
        if not table.rows:
            parts.append("<p>(无)</p>")
            continue
        head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in table.rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    for chart in doc.charts:
        image = base64.b64encode(chart.png).decode()
        parts.append(f"<h2>{e(chart.heading)}</h2>")
        parts.append(f'<img alt="{e(chart.heading)}" src="data:image/png;base64,{image}">')
    parts.append(f'<p class="sign">{e(doc.issuer)}<br>{e(chinese_date(doc.issued_on))}</p>')
    parts.append("</body></html>")
    return "".join(parts)


def to_pdf(doc: OfficialDocument) -> bytes:
    from weasyprint import HTML  # heavy: loaded on the first PDF only

    pdf: bytes = HTML(string=to_html(doc)).write_pdf()
    return pdf
