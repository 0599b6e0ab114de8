"""The attachment store on its own: types by content, limits, EXIF gone, keyed digests, the
virus-scan hook, blobs encrypted at rest — on both backends: the directory, and a bucket of
an S3 emulator (moto's server, started once for this module; ADR 39)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from pydantic import SecretStr

from shared.platform.attachments import (
    AttachmentInfected,
    AttachmentMissing,
    AttachmentStore,
    AttachmentTooLarge,
    AttachmentTypeRefused,
    AttachmentUnreadable,
    ScanHook,
    ScannerUnavailable,
    attachment_store,
)
from shared.platform.blobs import BlobStoreUnavailable, DirectoryBlobs
from shared.platform.settings import Settings
from tests.support.files import (
    EICAR_MARKER,
    GPS_IFD,
    exif_of,
    fake_scanner,
    jpeg_with_gps,
    pdf,
    renamed_executable,
)
from tests.support.s3 import S3Emulator

SECRET = b"s" * 32


@dataclass
class Backend:
    """A store on one backend, and what that backend holds, as stored (sealed)."""

    make: Callable[[bytes], AttachmentStore]
    held: Callable[[], list[bytes]]


@pytest.fixture(params=["directory", "s3_emulator"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    root = tmp_path / "att"
    if request.param == "directory":
        return Backend(
            lambda secret: AttachmentStore(DirectoryBlobs(root), secret, max_bytes=100_000),
            lambda: [p.read_bytes() for p in root.rglob("*") if p.is_file()],
        )
    emulator: S3Emulator = request.getfixturevalue("s3_emulator")
    bucket = emulator.new_bucket()
    base = Settings(data_dir=tmp_path / "data", attachment_max_bytes=100_000)
    settings = emulator.settings(base, bucket)
    return Backend(
        lambda secret: attachment_store(
            settings.model_copy(update={"attachment_secret": SecretStr(secret.decode())}), b""
        ),
        lambda: list(emulator.objects(bucket).values()),
    )


def store(root: Path, **kw: object) -> AttachmentStore:
    return AttachmentStore(
        DirectoryBlobs(root / "att"), SECRET, max_bytes=100_000, scratch=root / "att", **kw
    )  # type: ignore[arg-type]


def test_a_jpeg_comes_back_upright_and_without_exif_gps_or_comment(backend: Backend) -> None:
    photo = jpeg_with_gps()
    assert GPS_IFD in exif_of(photo) and -1 in exif_of(photo)
    s = backend.make(SECRET)
    stored = s.put(photo)
    back = s.get(stored.digest)
    assert stored.media_type == "image/jpeg" and stored.size == len(back)
    assert exif_of(back) == {}
    assert b"TestCam" not in back and b"shot at home" not in back
    with Image.open(io.BytesIO(back)) as image:
        assert image.size == (64, 48)


def test_the_digest_is_keyed_and_the_blob_is_not_in_clear(backend: Backend) -> None:
    document = pdf()
    s = backend.make(SECRET)
    stored = s.put(document)
    assert stored.digest != hashlib.sha256(document).hexdigest()
    assert s.has(stored.digest)
    held = backend.held()
    assert len(held) == 1 and b"signed form" not in held[0]
    assert b"signed form" in s.get(stored.digest)  # what the PDF shows is kept (ADR 22)
    assert s.put(document) == stored and backend.held() == held  # the same content: kept once
    other = backend.make(b"t" * 32)  # another deployment's key: another name, nothing opens
    assert other.put(document).digest != stored.digest
    with pytest.raises(AttachmentMissing):
        other.get(stored.digest)


def test_types_are_judged_by_content_and_size_by_the_limit(backend: Backend) -> None:
    s = backend.make(SECRET)
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
    assert backend.held() == [] and not s.has("0" * 64)  # nothing refused was kept


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


def test_a_blob_set_aside_comes_back_when_read_and_is_gone_once_purged(backend: Backend) -> None:
    s = backend.make(SECRET)
    named, unnamed = s.put(pdf()), s.put(pdf("another"))
    kept = {d.digest: s.get(d.digest) for d in (named, unnamed)}  # as cleaned on the way in
    s.blobs.set_aside(named.digest)
    assert [name for name, _ in s.blobs.listing()] == [unnamed.digest]
    assert [name for name, _ in s.blobs.set_aside_listing()] == [named.digest]
    assert s.get(named.digest) == kept[named.digest]  # read (an event names it): back in use
    assert {name for name, _ in s.blobs.listing()} == {named.digest, unnamed.digest}
    assert list(s.blobs.set_aside_listing()) == []

    s.blobs.set_aside(unnamed.digest)
    s.blobs.purge(unnamed.digest)
    with pytest.raises(AttachmentMissing):
        s.get(unnamed.digest)
    assert s.put(pdf("another")) == unnamed and s.get(unnamed.digest) == kept[unnamed.digest]


def test_the_sweep_command_sets_aside_a_blob_no_event_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``taizhang attachments sweep`` on a deployment whose one blob no event names (its
    request failed after keeping it): set aside, counts printed, no digest."""
    from typer.testing import CliRunner

    from services.cli import SWEEP_LABELS, app

    monkeypatch.setenv("TAIZHANG_DATA_DIR", str(tmp_path / "data"))
    settings = Settings(data_dir=tmp_path / "data")
    orphan = attachment_store(settings, b"r" * 32).put(pdf()).digest
    answer = CliRunner().invoke(app, ["attachments", "sweep", "--grace-days", "0"])
    assert answer.exit_code == 0, answer.output
    assert f"{SWEEP_LABELS['set_aside']}: 1" in answer.output
    assert f"{SWEEP_LABELS['purged']}: 0" in answer.output and orphan not in answer.output
    aside = tmp_path / "data" / "attachments" / ".set-aside"
    assert [p.name for p in aside.iterdir()] == [orphan]


def test_a_directory_that_refuses_the_write_is_unavailable_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "att").write_text("a mount gone wrong: a file where the directory should be")
    s = store(tmp_path)
    with pytest.raises(BlobStoreUnavailable):  # the API's 503 attachment_store_unavailable
        s.put(pdf())
    with pytest.raises(BlobStoreUnavailable):
        s.get("0" * 64)
    with pytest.raises(BlobStoreUnavailable):  # what /readyz reports as "attachments"
        s.probe()


def test_a_directory_not_made_yet_under_a_writable_folder_probes_ok(tmp_path: Path) -> None:
    """The directory is made on the first write: before it, the folder it goes in counts."""
    store(tmp_path).probe()
    assert not (tmp_path / "att").exists()  # probing made nothing
