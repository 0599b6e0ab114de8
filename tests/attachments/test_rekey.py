"""Rotating the attachments' at-rest key (ADR 50): blobs name the key generation that sealed
them, any generation listed in ``TAIZHANG_ATTACHMENT_KEYS`` opens them, new ones are sealed
under the newest; ``taizhang attachments rekey`` seals the older ones again — counted first
with ``--dry-run``, each read back before the old copy is replaced, a run cut short resumed,
a second run rekeying nothing — after which the old generation is taken out of the settings
and the app on them serves every file and the portal's photo. On the directory and on a
bucket of an S3 emulator (moto's server, as ADR 39's tests). A backup names the generations
its files need, and a restore onto settings without one is refused."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from services.cli import REKEY_LABELS
from services.ops.backup import BackupError, backup, restore
from shared.platform.attachments import AttachmentMissing, AttachmentStore, attachment_store
from shared.platform.blobs import Blobs, DirectoryBlobs
from shared.platform.blobseal import MAGIC, blob_key, sealing_keys
from shared.platform.settings import ConfigurationError, Settings, load_secrets
from tests.conftest import store_settings
from tests.support.attachments import (
    attachments_command,
    ok_bytes,
    public_photo,
    published_with_files,
    served_with_services,
)
from tests.support.files import pdf
from tests.support.pinned import NOW
from tests.support.s3 import S3Emulator

SECRET = b"o" * 40  # the attachment secret: the names' key, and generation a0's
NEW = "n" * 40  # generation k1's secret
NEWER = "m" * 40  # generation k2's


def sealed_before_generations(digest: str, content: bytes) -> bytes:
    """A blob as a release before key generations sealed it: nonce · ciphertext, no header."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(blob_key(SECRET)).encrypt(nonce, content, digest.encode())


def on(root: Path, keys: str | None = None) -> AttachmentStore:
    return AttachmentStore(
        DirectoryBlobs(root), SECRET, max_bytes=100_000, sealing=sealing_keys(keys, SECRET)
    )


def test_a_blob_names_its_generation_and_opens_only_while_that_generation_is_listed(
    tmp_path: Path,
) -> None:
    old = on(tmp_path)
    kept = old.put(pdf("旧密钥"))
    before = old.blobs.read(kept.digest) or b""
    assert before.startswith(MAGIC + b"\x02a0")  # sealed since generations: a0 says so
    legacy_content = pdf("更早的文件")
    legacy = old.digest(legacy_content)
    old.blobs.write(legacy, sealed_before_generations(legacy, legacy_content))
    assert old.get(legacy) == legacy_content

    rotated = on(tmp_path, f"k1:{NEW},a0")
    assert (
        rotated.get(kept.digest) == old.get(kept.digest) and rotated.get(legacy) == legacy_content
    )
    cleaned = old.prepare(pdf("新密钥"))
    fresh = rotated.put(pdf("新密钥"))
    assert (rotated.blobs.read(fresh.digest) or b"").startswith(MAGIC + b"\x02k1")
    assert fresh == cleaned.stored  # names keep their key: the same name
    with pytest.raises(AttachmentMissing):
        old.get(fresh.digest)  # a service not given k1 cannot open it

    only_new = on(tmp_path, f"k1:{NEW}")
    assert only_new.get(fresh.digest) == cleaned.content
    for digest in (kept.digest, legacy):
        with pytest.raises(AttachmentMissing):
            only_new.get(digest)  # a0 taken out of the settings: its blobs no longer open

    # The header is authenticated: a blob of k1 made to claim k2 (also listed) does not open.
    both = on(tmp_path, f"k2:{NEWER},k1:{NEW}")
    sealed = both.blobs.read(fresh.digest) or b""
    claimed = sealed.replace(MAGIC + b"\x02k1", MAGIC + b"\x02k2", 1)
    assert both.generation(fresh.digest, sealed) == "k1"
    assert both.generation(fresh.digest, claimed) is None


@pytest.mark.parametrize(
    "value",
    [f"k1:{'s' * 31}", f"a0:{NEW}", f"k1:{NEW},k1:{NEWER}", f"k 1:{NEW}", f"{'k' * 17}:{NEW}"],
)
def test_a_key_generations_setting_written_wrong_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigurationError, match="TAIZHANG_ATTACHMENT_KEYS") as refused:
        sealing_keys(value, SECRET)
    assert NEW not in str(refused.value) and "s" * 31 not in str(refused.value)
    assert list(sealing_keys(None, SECRET)) == ["a0"]
    assert list(sealing_keys(f"k2:{NEWER}, k1:{NEW}, a0", SECRET)) == ["k2", "k1", "a0"]


# --- taizhang attachments rekey, on both kinds of store -------------------------------------


@pytest.fixture(params=["directory", "s3_emulator"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A deployment on the attachment secret alone (generation a0), on either store."""
    settings = store_settings(tmp_path / "data").model_copy(
        update={"attachment_secret": SecretStr(SECRET.decode())}
    )
    if request.param == "directory":
        return settings
    emulator: S3Emulator = request.getfixturevalue("s3_emulator")
    return emulator.settings(settings, emulator.new_bucket())


def with_keys(settings: Settings, keys: str) -> Settings:
    return settings.model_copy(update={"attachment_keys": SecretStr(keys)})


def rekey(settings: Settings, monkeypatch: pytest.MonkeyPatch, *options: str) -> dict[str, int]:
    return attachments_command(settings, monkeypatch, REKEY_LABELS, "rekey", *options)


def held(blobs: Blobs) -> dict[str, dict[str, bytes]]:
    """Every blob the store holds, by area: in use, set aside, staged."""
    areas = {"in_use": blobs, "set_aside": blobs.aside(), "staged": blobs.staging()}
    return {
        area: {name: where.read(name) or b"" for name, _ in where.listing()}
        for area, where in areas.items()
    }


def test_after_rekey_the_old_generation_is_removed_and_every_file_still_serves(
    deployment: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served_with_services(deployment) as api:
        _, number, files = published_with_files(api, "RK-LEAD")
        office = api.auth("office")
        before = {f["digest"]: ok_bytes(api.get(f["url"], headers=office)) for f in files}
        photo = public_photo(api, number, files[0]["digest"])
    old = attachment_store(deployment, load_secrets(deployment).receipt_secret)
    # One file as a release before generations sealed it; a blob no event names, set aside.
    legacy = files[1]["digest"]
    old.blobs.write(legacy, sealed_before_generations(legacy, before[legacy]))
    orphan = old.put(pdf("无人引用")).digest
    old.blobs.set_aside(orphan)
    first = held(old.blobs)
    in_use, aside = len(first["in_use"]), len(first["set_aside"])
    assert in_use >= len(files) and aside == 1 and first["staged"] == {}

    # The new generation in front, the old one still listed (every service restarted so).
    rotated = with_keys(deployment, f"k1:{NEW},a0")
    counted = rekey(rotated, monkeypatch, "--dry-run")
    assert counted == {
        **dict.fromkeys(REKEY_LABELS, 0),
        "in_use": in_use,
        "set_aside": aside,
        "rekeyed": in_use + aside,
    }
    assert held(old.blobs) == first  # a dry run changes nothing
    assert rekey(rotated, monkeypatch) == counted
    after = held(old.blobs)
    assert after["staged"] == {} and after["in_use"].keys() == first["in_use"].keys()
    new = attachment_store(rotated, load_secrets(rotated).receipt_secret)
    for area in ("in_use", "set_aside"):
        for name, sealed in after[area].items():
            assert new.generation(name, sealed) == "k1" and old.generation(name, sealed) is None

    # A run cut short: one blob put back under a0; one damaged in place with its sealed-anew
    # copy left staged (the write in place cut off). The next run finishes both.
    undone, damaged = sorted(after["in_use"])[:2]
    old.blobs.write(undone, first["in_use"][undone])
    old.blobs.staging().write(damaged, after["in_use"][damaged])
    old.blobs.write(damaged, after["in_use"][damaged][:-5])
    resumed = rekey(rotated, monkeypatch)
    assert (resumed["restored"], resumed["rekeyed"], resumed["failed"]) == (1, 1, 0)
    last = rekey(rotated, monkeypatch)
    assert (last["rekeyed"], last["restored"], last["unreadable"]) == (0, 0, 0)
    assert last["current"] == in_use + aside and held(old.blobs)["staged"] == {}

    # The old generation out of the settings: nothing left under it, every file as before.
    settled = with_keys(deployment, f"k1:{NEW}")
    check = rekey(settled, monkeypatch, "--dry-run")
    assert (check["current"], check["unreadable"]) == (in_use + aside, 0)
    with served_with_services(settled) as api:
        office = api.auth("office")
        for f in files:
            assert ok_bytes(api.get(f["url"], headers=office)) == before[f["digest"]]
        assert public_photo(api, number, files[0]["digest"], "/portal") == photo
    settled_store = attachment_store(settled, load_secrets(settled).receipt_secret)
    assert settled_store.get(orphan) == old.prepare(pdf("无人引用")).content  # back, and opens


def test_a_blob_no_listed_generation_opens_is_counted_left_and_fails_the_command(
    deployment: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = attachment_store(deployment, b"unused")
    kept = old.put(pdf("旧密钥")).digest
    sealed = old.blobs.read(kept)
    too_soon = with_keys(deployment, f"k1:{NEW}")  # a0 removed before the rekey
    counted = attachments_command(
        too_soon, monkeypatch, REKEY_LABELS, "rekey", "--dry-run", exit_code=1
    )
    assert (counted["unreadable"], counted["rekeyed"]) == (1, 0)
    assert old.blobs.read(kept) == sealed


def test_a_backup_names_the_generations_its_files_need_and_restore_refuses_settings_without(
    tmp_path: Path,
) -> None:
    settings = store_settings(tmp_path / "data").model_copy(
        update={"attachment_secret": SecretStr(SECRET.decode())}
    )
    settings.data_dir.mkdir(parents=True)
    sqlite3.connect(settings.data_dir / "intake.sqlite").close()  # a store for the copy
    load_secrets(settings)  # and its development secrets, as a deployment that ran has
    attachment_store(settings, b"").put(pdf("旧密钥"))
    newer = attachment_store(with_keys(settings, f"k1:{NEW},a0"), b"").put(pdf("新密钥"))
    copy = tmp_path / "copy"
    assert backup(settings, copy, now=NOW).attachment_generations == ["a0", "k1"]

    elsewhere = with_keys(settings, f"k1:{NEW}").model_copy(
        update={"data_dir": tmp_path / "restored"}
    )
    with pytest.raises(BackupError, match="TAIZHANG_ATTACHMENT_KEYS") as refused:
        restore(elsewhere, copy)
    assert str(refused.value).endswith(": a0") and NEW not in str(refused.value)
    assert not elsewhere.data_dir.exists()  # a refused restore changes nothing
    listed = with_keys(elsewhere, f"k1:{NEW},a0")
    restore(listed, copy)
    assert attachment_store(listed, b"").get(newer.digest).startswith(b"%PDF")
