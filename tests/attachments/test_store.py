"""The attachment store on its own: types by content, limits, EXIF gone, keyed digests, the
virus-scan hook, blobs encrypted at rest."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from shared.platform.attachments import (
    AttachmentInfected,
    AttachmentMissing,
    AttachmentStore,
    AttachmentTooLarge,
    AttachmentTypeRefused,
    AttachmentUnreadable,
    ScanHook,
    ScannerUnavailable,
)
from tests.support.files import (
    EICAR_MARKER,
    GPS_IFD,
    exif_of,
    fake_scanner,
    jpeg_with_gps,
    pdf,
    renamed_executable,
)

SECRET = b"s" * 32


def store(root: Path, **kw: object) -> AttachmentStore:
    return AttachmentStore(root / "att", SECRET, max_bytes=100_000, **kw)  # type: ignore[arg-type]


def test_a_jpeg_comes_back_upright_and_without_exif_gps_or_comment(tmp_path: Path) -> None:
    photo = jpeg_with_gps()
    assert GPS_IFD in exif_of(photo) and -1 in exif_of(photo)
    s = store(tmp_path)
    stored = s.put(photo)
    back = s.get(stored.digest)
    assert stored.media_type == "image/jpeg" and stored.size == len(back)
    assert exif_of(back) == {}
    assert b"TestCam" not in back and b"shot at home" not in back
    with Image.open(io.BytesIO(back)) as image:
        assert image.size == (64, 48)


def test_the_digest_is_keyed_and_the_blob_is_not_in_clear(tmp_path: Path) -> None:
    document = pdf()
    s = store(tmp_path)
    stored = s.put(document)
    assert stored.digest != hashlib.sha256(document).hexdigest()
    other = AttachmentStore(tmp_path / "other", b"t" * 32, max_bytes=100_000).put(document)
    assert other.digest != stored.digest  # another deployment's key, another name
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "att").rglob("*") if p.is_file())
    assert b"signed form" not in on_disk
    assert b"signed form" in s.get(stored.digest)  # what the PDF shows is kept (ADR 22)
    assert s.put(document) == stored  # the same content is kept once


def test_types_are_judged_by_content_and_size_by_the_limit(tmp_path: Path) -> None:
    s = store(tmp_path)
    with pytest.raises(AttachmentTypeRefused):
        s.put(renamed_executable())
    with pytest.raises(AttachmentTypeRefused):
        s.put(b"just some text that calls itself a jpeg")
    with pytest.raises(AttachmentTooLarge):
        s.put(b"%PDF-1.4\n" + b"0" * 100_000)
    with pytest.raises(AttachmentUnreadable):
        s.put(b"\xff\xd8\xff\xe0" + b"\x00" * 200)  # JPEG magic, no image
    with pytest.raises(AttachmentMissing):
        s.get("../../etc/passwd")
    with pytest.raises(AttachmentMissing):
        s.get("0" * 64)


def test_the_scan_hook_refuses_what_the_scanner_flags(tmp_path: Path) -> None:
    s = store(tmp_path, scanner=ScanHook([fake_scanner(tmp_path)]))
    with pytest.raises(AttachmentInfected):
        s.put(pdf(EICAR_MARKER.decode()))
    assert s.put(pdf()).media_type == "application/pdf"
    assert len((tmp_path / "scanned.log").read_text().splitlines()) == 2
    assert not list((tmp_path / "att").glob(".scan-*"))  # the scanned copy is gone
    broken = store(tmp_path, scanner=ScanHook([str(tmp_path / "no-such-scanner")]))
    with pytest.raises(ScannerUnavailable):
        broken.put(pdf())
