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
