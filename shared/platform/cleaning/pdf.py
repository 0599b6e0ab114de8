"""PDF without what names its author or its machine, through ``pypdf``: the document is
written anew from its catalogue (``/Root``) only, so the document information (``/Info``:
author, creator, producer, dates) and every earlier revision of an incrementally saved file
are left behind; then, on every object written, XMP streams (``/Metadata``, on the catalogue,
pages, images or fonts), application data (``/PieceInfo``) and embedded files (their bytes and
their names) go, and each embedded JPEG loses its EXIF/XMP segments (a photo wrapped into a PDF
keeps its GPS otherwise). Text and pictures are what the document shows; they stay.

An encrypted PDF opens only if it has no user password (a permissions-only password, common
from scanners); otherwise it cannot be cleaned and is refused.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    PdfObject,
    StreamObject,
)

from shared.platform.cleaning.errors import NotCleanable
from shared.platform.cleaning.jpeg import without_metadata

DROPPED_KEYS = ("/Metadata", "/PieceInfo", "/EmbeddedFiles", "/AF", "/EF", "/UF", "/Desc")
# The cross-reference table and trailer as pypdf writes them, nothing else after the objects:
# only the catalogue and the table's size, no /Info, no earlier revision (ADR 42).
WRITTEN_TAIL = re.compile(
    rb"\nxref\n0 \d+\n(?:\d{10} \d{5} [fn] \n)*"
    rb"trailer\n<<\n/Size \d+\n/Root \d+ 0 R\n>>\nstartxref\n\d+\n%%EOF\n\Z"
)
# pypdf tells of every repair it makes to a damaged file; operators need none of it.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def clean_pdf(data: bytes) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise NotCleanable("PDF with a password")
        pages = len(reader.pages)
        writer = PdfWriter()
        writer.clone_reader_document_root(reader)  # /Root only: no /Info, no old revisions
        for obj in _reachable(writer.root_object):
            _strip(obj)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
        cleaned = out.getvalue()
        check = PdfReader(io.BytesIO(cleaned), strict=False)
        if len(check.pages) != pages or check.metadata or check.xmp_metadata:
            raise NotCleanable("PDF does not read back as it should")
    except NotCleanable:
        raise
    except Exception as e:  # pypdf on uploaded bytes may fail any way: refused, never a 500
        raise NotCleanable(f"PDF does not clean: {type(e).__name__}") from None
    return cleaned


def is_clean_pdf(data: bytes) -> bool:
    """Whether a PDF is as :func:`clean_pdf` writes it (ADR 42: files kept before PDFs were
    cleaned). The cleaner is not idempotent to the byte — a file it wrote after dropping
    objects lists them as free in its cross-reference table, and a second pass leaves them
    out — so a PDF is clean when cleaning it again writes the same objects, byte for byte,
    and it ends in a table and trailer as pypdf writes them (nothing but the catalogue: no
    /Info, no earlier revision, nothing after). What the cleaner would take out of any object
    (XMP, a photo's EXIF, an embedded file) changes those bytes."""
    ends = WRITTEN_TAIL.search(data)
    if ends is None:
        return False
    try:
        again = clean_pdf(data)
    except NotCleanable:
        return False
    ends_again = WRITTEN_TAIL.search(again)
    return ends_again is not None and again[: ends_again.start()] == data[: ends.start()]


def _reachable(root: DictionaryObject) -> Iterator[DictionaryObject]:
    """Every dictionary (and stream) the catalogue reaches, each once."""
    seen: set[int] = set()
    todo: list[PdfObject | None] = [root]
    while todo:
        obj = todo.pop()
        if isinstance(obj, IndirectObject):
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            yield obj
            todo.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            todo.extend(obj)


def _strip(obj: DictionaryObject) -> None:
    for key in DROPPED_KEYS:
        obj.pop(key, None)
    if isinstance(obj, StreamObject) and (
        obj.get("/Type") == "/Metadata" or obj.get("/Subtype") == "/XML"
    ):
        obj._data = b""  # an XMP stream reached under another key than /Metadata
    if obj.get("/Type") == "/Filespec":
        obj.pop("/F", None)  # the embedded file's name
    # A JPEG as embedded, by its bytes (whatever its /Filter says); pypdf's set_data
    # re-encodes only Flate streams, so the encoded bytes are replaced.
    if isinstance(obj, StreamObject) and obj._data[:3] == b"\xff\xd8\xff":
        obj._data = without_metadata(obj._data)
