"""What a file says about who made it, where and with what — taken out before it is kept
(ADR 22, last amendment). Images are encoded again from their pixels by the store
itself; the other allowed types are cleaned here, each by what its format holds:

- PDF: the document information (``/Info``: author, creator, producer, dates), XMP streams on
  any object, application data (``/PieceInfo``), embedded files and the JPEG metadata of
  embedded photos (``pdf.py``);
- MP4: ``udta`` (``©xyz`` location, make, model), ``meta`` (QuickTime keys, iTunes tags) and
  ``uuid`` (XMP) boxes, the creation and modification times, and tracks other than video and
  sound (GPS telemetry, timed metadata) with their samples (``isobmff.py``);
- MP3: ID3v1, ID3v2 and APEv2 tags (``audio.py``).

A file that cannot be cleaned safely raises :class:`NotCleanable`; the store refuses it
rather than keep it with its metadata.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.platform.cleaning.errors import NotCleanable


# The parsers (pypdf, mutagen) are imported when a file of their kind first comes: every
# service process imports the store, few ever clean a PDF (pypdf alone took 0.25 s a start).
def clean_pdf(data: bytes) -> bytes:
    from shared.platform.cleaning.pdf import clean_pdf as clean

    return clean(data)


def clean_mp4(data: bytes) -> bytes:
    from shared.platform.cleaning.isobmff import clean_mp4 as clean

    return clean(data)


def clean_mp3(data: bytes) -> bytes:
    from shared.platform.cleaning.audio import clean_mp3 as clean

    return clean(data)


# By the type the content shows (the store's ``ALLOWED_TYPES`` less the images).
CLEANERS: dict[str, Callable[[bytes], bytes]] = {
    "application/pdf": clean_pdf,
    "video/mp4": clean_mp4,
    "audio/mpeg": clean_mp3,
}


IDEMPOTENT = frozenset({"video/mp4", "audio/mpeg"})


def is_clean(data: bytes, media_type: str) -> bool:
    """Whether a PDF, MP4 or MP3 is as its cleaner leaves it, so that a file kept before
    cleaning existed answers no (ADR 42). The MP4 and MP3 cleaners change nothing in a clean
    file; the PDF cleaner compacts its cross-reference table once more on a second pass, so a
    PDF is compared object by object (``pdf.is_clean_pdf``). A file that cannot be cleaned is
    not clean."""
    if media_type == "application/pdf":
        from shared.platform.cleaning.pdf import is_clean_pdf

        return is_clean_pdf(data)
    if media_type not in IDEMPOTENT:
        raise ValueError(f"no cleaner for {media_type}")
    try:
        return CLEANERS[media_type](data) == data
    except NotCleanable:
        return False


__all__ = ["CLEANERS", "NotCleanable", "is_clean"]
