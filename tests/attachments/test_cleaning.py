"""Metadata out of every kind of file the store keeps (ADR 22, last amendment): a PDF's author,
creator, XMP, earlier revisions and its photo's EXIF; an MP4's recording place (``©xyz``, the
QuickTime location key), make, model, XMP, recording times and GPS track; an MP3's ID3 tags.
Each file still opens afterwards; one that cannot be cleaned is refused, never kept, and a
damaged one is refused or cleaned, never a crash."""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from PIL import Image
from pypdf import PdfReader, PdfWriter

from shared.platform.attachments import AttachmentError, AttachmentStore, AttachmentUnreadable
from shared.platform.blobs import DirectoryBlobs
from shared.platform.cleaning import is_clean
from shared.platform.cleaning.isobmff import boxes
from tests.support.files import (
    GPS_SAMPLE,
    MARKER,
    PLACE,
    RECORDED_AT,
    VIDEO_SAMPLE,
    XMP,
    exif_of,
    mp3_with_id3,
    mp4_with_location,
    pdf,
    pdf_with_metadata,
    pdf_with_password,
)


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(DirectoryBlobs(tmp_path / "att"), b"s" * 32, max_bytes=1_000_000)


def kept(store: AttachmentStore, data: bytes) -> bytes:
    return store.get(store.put(data).digest)


def test_a_pdf_loses_author_xmp_old_revisions_and_its_photos_exif(store: AttachmentStore) -> None:
    original = pdf_with_metadata()
    assert MARKER.encode() in original and b"TestCam" in original  # what a clerk's scan holds
    back = kept(store, original)
    assert MARKER.encode() not in back and XMP[:20] not in back
    assert b"TestCam" not in back and b"shot at home" not in back and b"/Author" not in back
    reader = PdfReader(io.BytesIO(back))
    assert reader.metadata is None and reader.xmp_metadata is None
    assert len(reader.pages) == 1 and "/Metadata" not in reader.pages[0]
    (photo,) = reader.pages[0].images
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.size == (64, 48) and exif_of(photo.data) == {}


def test_a_pdf_is_clean_only_as_the_cleaner_writes_it(store: AttachmentStore) -> None:
    """ADR 42: a PDF kept before cleaning is told from one cleaned at upload (the cleaner's
    second pass compacts the cross-reference table: the objects are compared, not the file);
    one that gained a revision or an /Info since is not clean, nor one that cannot be cleaned."""
    for original in (pdf(), pdf_with_metadata()):
        assert not is_clean(original, "application/pdf")
        assert is_clean(kept(store, original), "application/pdf")
    back = kept(store, pdf_with_metadata())
    again = PdfWriter(PdfReader(io.BytesIO(back)), incremental=True)
    again.add_metadata({"/Author": MARKER})
    out = io.BytesIO(back)
    again.write(out)
    assert not is_clean(out.getvalue(), "application/pdf")
    assert not is_clean(
        back.replace(b"/Root 1 0 R", b"/Root 1 0 R\n/Info 1 0 R"), "application/pdf"
    )
    assert not is_clean(pdf_with_password(), "application/pdf")


def test_an_mp4_loses_place_device_xmp_times_and_gps_track_and_still_parses(
    store: AttachmentStore,
) -> None:
    original = mp4_with_location()
    back = kept(store, original)
    assert PLACE not in back and MARKER.encode() not in back and b"TestPhone" not in back
    assert b"com.apple.quicktime.location" not in back and XMP[:20] not in back
    assert RECORDED_AT not in back and GPS_SAMPLE not in back
    # Nothing moved: same length, the video sample where its chunk offset says.
    assert len(back) == len(original) and is_clean(back, "video/mp4")
    kinds = [b.kind for b in boxes(back, 0, len(back))]
    assert kinds == [b"ftyp", b"moov", b"free", b"mdat"]
    (stco,) = [i for i in range(len(back)) if back[i : i + 4] == b"stco"]
    (offset,) = struct.unpack_from(">I", back, stco + 12)
    assert back[offset : offset + len(VIDEO_SAMPLE)] == VIDEO_SAMPLE
    assert MP4(io.BytesIO(back)).info.length == 1.0  # mutagen reads the tree and mvhd
    assert not is_clean(original, "video/mp4")


def test_mutagen_alone_would_keep_the_place_an_mp4_was_recorded() -> None:
    """Why the box tree is walked here: mutagen removes the iTunes tags only."""
    f = io.BytesIO(mp4_with_location())
    MP4(f).delete(f)
    assert PLACE in f.getvalue()


def test_an_mp3_loses_its_id3_tags_and_keeps_its_frames(store: AttachmentStore) -> None:
    original = mp3_with_id3()
    back = kept(store, original)
    assert MARKER.encode() not in back and "举报人".encode() not in back
    assert b"ID3" not in back[:3] and b"TAG" not in back[-128:-125]
    assert back == original[original.index(b"\xff\xfb") :][: len(back)]
    assert MP3(io.BytesIO(back)).info.bitrate == 128_000 and is_clean(back, "audio/mpeg")


def test_a_file_that_cannot_be_cleaned_is_refused_not_kept(
    store: AttachmentStore, tmp_path: Path
) -> None:
    broken = bytearray(mp4_with_location())
    moov = broken.index(b"moov") - 4
    broken[moov : moov + 4] = (10**6).to_bytes(4, "big")  # larger than the file
    for data in (pdf_with_password(), bytes(broken)):
        with pytest.raises(AttachmentUnreadable):
            store.put(data)
    assert not list((tmp_path / "att").rglob("*"))  # nothing kept


def damaged(data: bytes, seed: int) -> Iterator[bytes]:
    """The file with a few of its bytes changed, 60 ways (a fixed seed: the same each run)."""
    rng = random.Random(seed)
    for _ in range(60):
        copy = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        yield bytes(copy)


@pytest.mark.parametrize(
    ("made", "kept_clean"),
    [(mp4_with_location, True), (mp3_with_id3, True), (pdf_with_metadata, False)],
)
def test_a_damaged_file_is_refused_or_kept_clean_never_a_crash(
    store: AttachmentStore, made: Callable[[], bytes], kept_clean: bool
) -> None:
    """What a damaged upload may do: be refused (4xx), or be kept — and then, for MP4 and MP3,
    without the place or the name. (A PDF whose damage renamed its /Metadata key keeps what
    that key named: only refusing or a crash-free answer is asserted for it.)"""
    outcomes = set()
    for data in damaged(made(), seed=21):
        try:
            back = kept(store, data)
        except AttachmentError as refused:
            outcomes.add(type(refused).__name__)
            continue
        outcomes.add("kept")
        if kept_clean:
            assert MARKER.encode() not in back and PLACE not in back
    assert "kept" in outcomes  # damage in the media itself is not the cleaner's to refuse
    assert outcomes <= {"kept", "AttachmentUnreadable", "AttachmentTypeRefused"}
