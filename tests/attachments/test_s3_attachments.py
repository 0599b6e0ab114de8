"""Attachments on an S3-compatible bucket (ADR 39), against an S3 emulator: moto's server,
started once for this module in a process of its own. It is an emulator, not S3 — these
tests prove our side of the protocol through the client MinIO and the city clouds' stores
are used with (boto3), not any one store's behaviour.

Through the all-in-one app (SQLite): upload → download, sealed in the bucket and nowhere on
disk, with the refusals the directory store gives. The store gone after start: 503 with a
stable code, and nothing registered. At start: a bucket that is not there or settings left
out are refused naming the setting — never the secret key, which no log line carries either;
a store that does not answer is an outage, warned of, and the service starts. A directory
store moved into a bucket by ``taizhang attachments move-to-bucket`` (ADR 42), then served."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing

from services.ops.attachment_sweep import sweep
from services.registry import build_service
from shared.platform.attachments import attachment_store
from shared.platform.settings import ConfigurationError, Settings, load_secrets
from tests.conftest import store_settings
from tests.support.api import Api, problem, stored_notifications
from tests.support.attachments import (
    attachments_command,
    ok_bytes,
    public_photo,
    published_with_files,
    served_with_services,
)
from tests.support.dispatch import (
    UNROUTED,
    act,
    add_units,
    case_events,
    ok,
    open_case,
)
from tests.support.files import (
    GPS_IFD,
    exif_of,
    jpeg_with_gps,
    pdf,
    renamed_executable,
)
from tests.support.infra import ServerThread, free_port
from tests.support.s3 import SECRET_KEY, S3Emulator

LEAD, OTHER = "S3-LEAD", "S3-OTHER"
LIMIT = 200_000
LEAD_LIAISON = {"role": "unit_liaison", "unit": LEAD, "name": "联络员甲"}


@pytest.fixture(scope="module")
def s3_api(s3_emulator: S3Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The all-in-one app with its attachments in a bucket of the emulator's."""
    from services.app import create_app

    base = store_settings(tmp_path_factory.mktemp("s3") / "data")
    settings = s3_emulator.settings(base, s3_emulator.new_bucket(), attachment_max_bytes=LIMIT)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def dispatched_case(api: Api) -> str:
    add_units(api, LEAD, OTHER)
    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[]))
    return case_id


def upload(api: Api, case_id: str, data: bytes, **who: Any) -> httpx.Response:
    return api.post(
        f"/api/v1/cases/{case_id}/attachments",
        files={"file": ("张三家门口.jpg", data, "image/jpeg")},
        data={"purpose": "result"},
        headers=api.auth(**(who or LEAD_LIAISON)),
    )


def test_a_file_goes_up_to_the_bucket_sealed_and_comes_back_without_gps(
    s3_api: Api, s3_emulator: S3Emulator
) -> None:
    case_id = dispatched_case(s3_api)
    photo = ok(upload(s3_api, case_id, jpeg_with_gps()), 201)
    got = s3_api.get(photo["url"], headers=s3_api.auth(**LEAD_LIAISON))
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert GPS_IFD not in exif_of(got.content) and exif_of(got.content) == {}

    # In the bucket under its keyed digest, sealed; nothing of it in the data directory.
    held = s3_emulator.objects(str(s3_api.settings.attachment_s3_bucket))
    assert set(held) == {photo["digest"]}
    assert held[photo["digest"]] != got.content and b"JFIF" not in held[photo["digest"]]
    assert not (Path(s3_api.settings.data_dir) / "attachments").exists()
    assert case_events(s3_api, case_id).count("Case.AttachmentDownloaded") == 1


def test_the_bucket_store_refuses_what_the_directory_store_refuses(
    s3_api: Api, s3_emulator: S3Emulator
) -> None:
    case_id = dispatched_case(s3_api)
    photo = ok(upload(s3_api, case_id, jpeg_with_gps()), 201)
    before = case_events(s3_api, case_id)
    other = {"role": "unit_liaison", "unit": OTHER}
    assert problem(upload(s3_api, case_id, pdf(), **other), 404)
    assert problem(s3_api.get(photo["url"], headers=s3_api.auth(**other)), 404)
    exe = problem(upload(s3_api, case_id, renamed_executable()), 415)
    assert exe["code"] == "attachment_type_refused"
    big = problem(upload(s3_api, case_id, pdf() + b"0" * LIMIT), 413)
    assert big["code"] == "attachment_too_large"
    unknown = f"/api/v1/cases/{case_id}/attachments/{'0' * 64}"
    assert problem(s3_api.get(unknown, headers=s3_api.auth("office")), 404)
    assert case_events(s3_api, case_id) == before
    held = s3_emulator.objects(str(s3_api.settings.attachment_s3_bucket))
    assert list(held) == [photo["digest"]]  # nothing refused was kept (the same photo: once)


def open311_key(settings: Settings) -> str:
    from shared.platform.readmodel import create_engine, run_sync
    from shared.web.auth import Role, create_api_key

    async def make() -> str:
        engine = create_engine(settings)
        try:
            return (await create_api_key(engine, role=Role.OPERATOR, name="市民App"))[1]
        finally:
            await engine.dispose()

    return run_sync(make())


@contextlib.contextmanager
def gone(emulator: S3Emulator, bucket: str) -> Iterator[None]:
    """The object store goes away under the running app; after, it is back, empty."""
    emulator.stop()
    try:
        yield
    finally:
        emulator.start()
        emulator.client().create_bucket(Bucket=bucket)


def test_a_store_gone_after_start_is_a_503_with_a_code_and_nothing_is_registered(
    s3_api: Api, s3_emulator: S3Emulator
) -> None:
    api, settings = s3_api, s3_api.settings
    case_id = dispatched_case(api)
    kept = ok(upload(api, case_id, pdf()), 201)
    assert api.get("/readyz").json()["checks"]["attachments"] == "ok"
    with gone(s3_emulator, str(settings.attachment_s3_bucket)):
        # /readyz says so beside readiness, which it does not flip: tips go on meanwhile.
        readiness = api.get("/readyz")
        assert readiness.status_code == 200, readiness.text
        assert readiness.json()["checks"]["attachments"] == "unavailable: BlobStoreUnavailable"
        before = case_events(api, case_id)
        tips_before = len(stored_notifications(settings, "intake"))

        refused = problem(upload(api, case_id, jpeg_with_gps()), 503)
        assert refused["code"] == "attachment_store_unavailable"
        assert "附件存储暂不可用" in refused["detail"]
        zh_cn = api.auth(**LEAD_LIAISON) | {"Accept-Language": "zh-CN"}  # the workbench's
        down = api.get(kept["url"], headers=zh_cn)
        assert problem(down, 503)["code"] == "attachment_store_unavailable"
        assert problem(down, 503)["detail"] == "附件存储暂不可用,请稍后重试"
        assert down.headers["retry-after"]
        tip = api.post(
            "/api/v1/tips/with-attachments",
            data={"tip": json.dumps(UNROUTED, ensure_ascii=False)},
            files=[("files", ("a.pdf", pdf("another"), "application/pdf"))],
            headers=api.auth("operator", name="热线系统"),
        )
        assert problem(tip, 503)["code"] == "attachment_store_unavailable"
        form = {"api_key": open311_key(settings), "service_code": "arbitrary_charges"}
        form |= {"description": "办证多收费", "address_string": "积玉桥街道和平大道 1 号"}
        form |= {"attribute[subject_unit]": "某局"}
        media = [("media", ("a.jpg", jpeg_with_gps()))]
        spec = api.post("/open311/v2/requests.json", data=form, files=media)
        assert spec.status_code == 503, spec.text
        assert spec.json()[0]["code"] == 503  # in the spec's shape

        # Neither an attachment, nor a download, nor a tip was recorded.
        assert case_events(api, case_id) == before
        assert len(stored_notifications(settings, "intake")) == tips_before


def test_the_sweep_sets_aside_then_purges_only_blobs_no_event_names(s3_api: Api) -> None:
    api, settings = s3_api, s3_api.settings
    case_id = dispatched_case(api)
    named = ok(upload(api, case_id, pdf("named by its case")), 201)["digest"]
    store = attachment_store(settings, api.secrets.receipt_secret)
    orphan = store.put(pdf("kept for a request that then failed")).digest  # no event names it

    def where() -> tuple[set[str], set[str]]:
        return {n for n, _ in store.blobs.listing()}, {
            n for n, _ in store.blobs.set_aside_listing()
        }

    young = sweep(settings, grace=timedelta(days=1), purge_after=timedelta(0))
    assert young.set_aside == 0 and young.young >= 1 and orphan in where()[0]
    dry = sweep(settings, grace=timedelta(0), purge_after=timedelta(0), dry_run=True)
    assert dry.set_aside >= 1 and orphan in where()[0]  # counted, not moved

    first = sweep(settings, grace=timedelta(0), purge_after=timedelta(days=30))
    in_use, aside = where()
    assert named in in_use and orphan in aside and orphan not in in_use
    assert first.referenced >= 1 and first.purged == 0

    # A sweep that raced the request naming a blob: reading it brings it back, and so does
    # the next sweep.
    as_kept = store.get(named)  # the PDF as cleaned on the way in
    store.blobs.set_aside(named)
    got = api.get(f"/api/v1/cases/{case_id}/attachments/{named}", headers=api.auth("office"))
    assert got.status_code == 200 and got.content == as_kept
    store.blobs.set_aside(named)
    second = sweep(settings, grace=timedelta(0), purge_after=timedelta(0))
    in_use, aside = where()
    assert second.brought_back == 1 and named in in_use
    assert second.purged >= 1 and orphan not in in_use | aside


@pytest.fixture
def bucket_settings(s3_emulator: S3Emulator, tmp_path: Path) -> Settings:
    return s3_emulator.settings(store_settings(tmp_path / "data"), s3_emulator.new_bucket())


def refused_at_start(settings: Settings) -> str:
    store = attachment_store(settings, b"r" * 32)
    with pytest.raises(ConfigurationError) as refused:
        store.check_reachable()
    return str(refused.value)


def test_at_start_a_missing_bucket_is_refused_by_name_and_a_store_that_is_down_only_warned_of(
    bucket_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):  # botocore's own debug lines included
        attachment_store(bucket_settings, b"r" * 32).check_reachable()  # there: no refusal
        gone = bucket_settings.model_copy(update={"attachment_s3_bucket": "tz-no-such-bucket"})
        assert "TAIZHANG_ATTACHMENT_S3_BUCKET" in refused_at_start(gone)
        closed = f"http://127.0.0.1:{free_port()}"
        away = bucket_settings.model_copy(update={"attachment_s3_endpoint": closed})
        # an outage, not a setting to mend: the service starts (tips without files go on)
        with structlog.testing.capture_logs() as logged:
            attachment_store(away, b"r" * 32).check_reachable()
        [warned] = [e for e in logged if e["event"] == "attachment_store_unavailable_at_start"]
        assert warned["setting"] == "TAIZHANG_ATTACHMENT_S3_ENDPOINT"
        assert closed not in str(warned)
    assert caplog.records
    assert not [r for r in caplog.records if SECRET_KEY in r.getMessage()]


def test_settings_left_out_are_named_and_the_secret_key_is_never_shown(
    bucket_settings: Settings,
) -> None:
    missing = bucket_settings.model_copy(
        update={"attachment_s3_bucket": None, "attachment_s3_secret_key": None}
    )
    with pytest.raises(ConfigurationError) as refused:
        attachment_store(missing, b"r" * 32)
    message = str(refused.value)
    assert "TAIZHANG_ATTACHMENT_S3_BUCKET" in message
    assert "TAIZHANG_ATTACHMENT_S3_SECRET_KEY" in message
    assert "ACCESS_KEY" not in message
    in_url = bucket_settings.model_copy(
        update={"attachment_s3_endpoint": f"http://key:{SECRET_KEY}@127.0.0.1:9000"}
    )
    with pytest.raises(ConfigurationError) as refused:
        attachment_store(in_url, b"r" * 32)
    assert SECRET_KEY not in str(refused.value) and "ACCESS_KEY" in str(refused.value)
    assert SECRET_KEY not in repr(bucket_settings) and SECRET_KEY not in str(bucket_settings)


def test_a_service_refuses_to_start_when_its_bucket_is_not_there(
    bucket_settings: Settings,
) -> None:
    update = {"attachment_s3_bucket": "tz-no-such-bucket", "seed_directory": False}
    gone = bucket_settings.model_copy(update=update)
    service = build_service("dispatch", gone, load_secrets(gone))

    async def start() -> None:
        try:
            await service.start()
        finally:
            await service.stop()

    with pytest.raises(ConfigurationError, match="TAIZHANG_ATTACHMENT_S3_BUCKET"):
        asyncio.run(start())


# --- taizhang attachments move-to-bucket (ADR 42), on this module's emulator -------------
# A deployment on the directory store with a published case's files (an approved photo, a
# PDF, a video): the directory moved into a bucket — counted first with ``--dry-run``, then
# copied and verified, a run cut short (an object lost, one damaged) resumed, a last run
# copying nothing, the directory left as it was — and then the services, configured for the
# bucket with the directory out of their reach, serve every file through the API and the
# portal's approved photo, the same bytes as before.


def move(settings: Settings, monkeypatch: pytest.MonkeyPatch, *options: str) -> dict[str, int]:
    from services.cli import MOVE_LABELS

    return attachments_command(settings, monkeypatch, MOVE_LABELS, "move-to-bucket", *options)


def test_a_directory_store_moved_into_a_bucket_serves_every_file(
    s3_emulator: S3Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = store_settings(tmp_path / "data")
    with served_with_services(settings) as api:
        _, number, files = published_with_files(api)
        office = api.auth("office")
        before = {f["digest"]: ok_bytes(api.get(f["url"], headers=office)) for f in files}
        photo = public_photo(api, number, files[0]["digest"])
    directory = settings.data_dir / "attachments"
    blobs = {p.name: p.read_bytes() for p in directory.glob("[0-9a-f][0-9a-f]/*")}
    assert set(before) <= set(blobs)

    bucket = s3_emulator.new_bucket()
    on_bucket = s3_emulator.settings(settings, bucket)
    counted = move(on_bucket, monkeypatch, "--dry-run")
    assert (counted["copied"], s3_emulator.objects(bucket)) == (len(blobs), {})
    assert move(on_bucket, monkeypatch) == counted
    assert s3_emulator.objects(bucket) == blobs  # the sealed bytes as they were

    # A run cut short (one object never written, one cut off): resumed by running again.
    lost, damaged = sorted(blobs)[:2]
    s3_emulator.client().delete_object(Bucket=bucket, Key=lost)
    s3_emulator.client().put_object(Bucket=bucket, Key=damaged, Body=blobs[damaged][:-5])
    resumed = move(on_bucket, monkeypatch)
    assert (resumed["copied"], resumed["already_there"]) == (2, len(blobs) - 2)
    last = move(on_bucket, monkeypatch)
    assert (last["copied"], last["already_there"], last["failed"]) == (0, len(blobs), 0)
    assert s3_emulator.objects(bucket) == blobs
    assert {p.name: p.read_bytes() for p in directory.glob("[0-9a-f][0-9a-f]/*")} == blobs

    # The services on the bucket, the directory out of their reach: every file as before.
    directory.rename(tmp_path / "kept-directory")
    with served_with_services(on_bucket) as api:
        office = api.auth("office")
        for f in files:
            assert ok_bytes(api.get(f["url"], headers=office)) == before[f["digest"]]
        assert public_photo(api, number, files[0]["digest"], "/portal") == photo
    assert not directory.exists()  # nothing was written back to a directory
