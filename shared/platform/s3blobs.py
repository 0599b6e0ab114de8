"""Sealed attachment blobs on an S3-compatible bucket (ADR 39): MinIO, Ceph, a city cloud's
object store — for services apart that share no volume. Objects are ``<prefix><digest>``,
encrypted by the attachment store before they leave the process (the bucket's own
encryption is not counted on), through boto3, the client every such store is tested with.

Settings: ``TAIZHANG_ATTACHMENT_S3_*`` (``shared/platform/settings.py``). The secret key is
read once here and given to the client only: no message, log line or error carries it (nor
the access key); a refusal names the setting to look at.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.platform.blobs import BlobStoreUnavailable, is_blob_name
from shared.platform.settings import ConfigurationError, Settings

log = structlog.get_logger(__name__)

ENDPOINT = "TAIZHANG_ATTACHMENT_S3_ENDPOINT"
BUCKET = "TAIZHANG_ATTACHMENT_S3_BUCKET"
KEYS = "TAIZHANG_ATTACHMENT_S3_ACCESS_KEY / TAIZHANG_ATTACHMENT_S3_SECRET_KEY"
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
CONNECT_SECONDS_AT_MOST = 3.0  # an endpoint that does not connect is down: answer 503 soon
SET_ASIDE = "set-aside/"  # the sweep's, beside the blobs in use (ADR 39)
STAGING = "rekey/"  # copies on their way in (the rekey's, ADR 50)


class S3Blobs:
    """The bucket as a :class:`shared.platform.blobs.Blobs` backend."""

    def __init__(self, settings: Settings) -> None:
        _check_complete(settings)
        assert settings.attachment_s3_secret_key is not None  # _check_complete said so
        self.bucket = str(settings.attachment_s3_bucket)
        self.prefix = settings.attachment_s3_prefix
        self._client = _new_client(
            endpoint_url=settings.attachment_s3_endpoint,
            aws_access_key_id=settings.attachment_s3_access_key,
            aws_secret_access_key=settings.attachment_s3_secret_key.get_secret_value(),
            config=_config(settings),
        )

    def read(self, name: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            data: bytes = answer["Body"].read()
        except ClientError as e:
            if _code(e) in NOT_FOUND:
                return None
            raise _unavailable("get", e) from None
        except BotoCoreError as e:
            raise _unavailable("get", e) from None
        return data

    def write(self, name: str, sealed: bytes) -> None:
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(name),
                Body=sealed,
                ContentType="application/octet-stream",
            )
        except (ClientError, BotoCoreError) as e:
            raise _unavailable("put", e) from None

    def exists(self, name: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as e:
            if _code(e) in NOT_FOUND:
                return False
            raise _unavailable("head", e) from None
        except BotoCoreError as e:
            raise _unavailable("head", e) from None
        return True

    def delete(self, name: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (ClientError, BotoCoreError) as e:
            raise _unavailable("delete", e) from None

    def aside(self) -> S3Blobs:
        return self._area(SET_ASIDE)

    def staging(self) -> S3Blobs:
        return self._area(STAGING)

    def _area(self, folder: str) -> S3Blobs:
        """The same bucket and client, under ``<prefix><folder>``."""
        area = copy.copy(self)
        area.prefix = f"{self.prefix}{folder}"
        return area

    def check(self) -> None:
        """At start: a bucket that is not there or keys it refuses are a setting to mend, and
        the service refuses to start naming it (never its value). A store that does not answer
        now is an outage, not a mistake: the service starts and answers 503 for files until it
        is back — tips without files, the ledger and every other route go on meanwhile."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            code = _code(e)
            if code in NOT_FOUND or code == "NoSuchBucket":
                raise ConfigurationError(f"{BUCKET}: 存储桶不存在 (no such bucket)") from None
            if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
                raise ConfigurationError(
                    f"{KEYS}: 对象存储拒绝了这对密钥 (the store refused these keys: {code})"
                ) from None
            log.warning("attachment_store_unavailable_at_start", code=code, setting=ENDPOINT)
        except BotoCoreError as e:
            log.warning(
                "attachment_store_unavailable_at_start", error=type(e).__name__, setting=ENDPOINT
            )

    def probe(self) -> None:
        """The bucket answers (a ``HeadBucket``, within the client's timeouts)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as e:
            raise _unavailable("head_bucket", e) from None

    # --- the sweep's: set aside under "<prefix>set-aside/", a copy and a delete -------------

    def listing(self) -> Iterator[tuple[str, datetime]]:
        return self._objects(self.prefix)

    def set_aside(self, name: str) -> None:
        self._move(self._key(name), self._aside(name))

    def set_aside_listing(self) -> Iterator[tuple[str, datetime]]:
        return self._objects(f"{self.prefix}{SET_ASIDE}")

    def recover(self, name: str) -> bytes | None:
        if self.exists(name):  # kept again meanwhile: the copy aside is one too many
            self.purge(name)
        else:
            try:
                self._move(self._aside(name), self._key(name))
            except ClientError as e:
                if _code(e) in NOT_FOUND:
                    return None
                raise _unavailable("recover", e) from None
            except BotoCoreError as e:
                raise _unavailable("recover", e) from None
        return self.read(name)

    def purge(self, name: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._aside(name))

    def _objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """The blobs right under ``prefix`` (not deeper: the set-aside ones are apart)."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if is_blob_name(name):
                    yield name, item["LastModified"]

    def _move(self, source: str, target: str) -> None:
        source_of = {"Bucket": self.bucket, "Key": source}
        self._client.copy_object(Bucket=self.bucket, Key=target, CopySource=source_of)
        self._client.delete_object(Bucket=self.bucket, Key=source)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _aside(self, name: str) -> str:
        return f"{self.prefix}{SET_ASIDE}{name}"


def _config(settings: Settings) -> Config:
    timeout = settings.attachment_s3_timeout_seconds
    return Config(
        region_name=settings.attachment_s3_region,
        s3={"addressing_style": settings.attachment_s3_addressing},
        connect_timeout=min(timeout, CONNECT_SECONDS_AT_MOST),
        read_timeout=timeout,
        # One retry: a person waits on the upload; past it the API says 503, try later.
        retries={"total_max_attempts": 2, "mode": "standard"},
        # Checksums only where S3 requires them: several S3-compatible stores refuse the
        # newer default's CRC trailers. The blob's AES-GCM tag proves it whole anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _new_client(**options: Any) -> Any:
    """A client from the process's one boto3 session: a fresh session loads S3's model again
    (0.2–0.7 s a client; the all-in-one process makes three). A session is not thread-safe,
    its clients are: they are made under a lock."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **options)


def _check_complete(settings: Settings) -> None:
    """Every setting the bucket needs, and an endpoint without credentials in it."""
    missing = [
        f"TAIZHANG_ATTACHMENT_S3_{name.upper()}"
        for name in ("bucket", "access_key", "secret_key")
        if getattr(settings, f"attachment_s3_{name}") is None
    ]
    if missing:
        raise ConfigurationError(f"{ENDPOINT} 已设置,还缺 (also needs): {', '.join(missing)}")
    parts = urlsplit(settings.attachment_s3_endpoint or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{ENDPOINT} 须为 http(s):// 地址 (must be an http(s) URL)")
    if parts.username or parts.password:  # said without echoing the URL: it holds a key
        raise ConfigurationError(f"{ENDPOINT} 不应含密钥,请用 (put the keys in) {KEYS}")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _unavailable(operation: str, error: Exception) -> BlobStoreUnavailable:
    """What went wrong, for operators: the operation and the store's code or the client's
    error class — never the request, its URL or its headers."""
    reason = _code(error) if isinstance(error, ClientError) else type(error).__name__
    log.warning("attachment_store_unavailable", backend="s3", operation=operation, reason=reason)
    return BlobStoreUnavailable(f"附件存储暂不可用 ({operation}: {reason})")
