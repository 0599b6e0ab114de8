"""An S3 emulator for tests: moto's server (``moto[server]`` from PyPI) in a process of its
own on a free loopback port. It speaks the S3 API that MinIO and the city clouds' object
stores speak, through the same client (boto3) — but it is an emulator, not S3: what these
tests prove is our side of the protocol, not any one store's behaviour (ADR 39)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

from pydantic import SecretStr

from shared.platform.settings import Settings
from tests.support.infra import free_port, port_open, wait_for

ACCESS_KEY = "tz-test-access"
SECRET_KEY = "tz-test-secret-that-must-never-be-logged"  # the emulator takes any pair
REGION = "us-east-1"


class S3Emulator:
    """``python -m moto.server`` on a port of its own; :meth:`stop` is the store going away."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Emulator:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open("127.0.0.1", self.port), 30, "the S3 emulator to listen")
        return self

    def stop(self) -> None:
        """Gone at once (killed: an emulator keeps nothing worth a clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> S3Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self) -> Any:
        """The emulator's own client, made once (a boto3 client costs a few tenths of a second)."""
        import boto3

        if self._client is None:
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.url,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                region_name=REGION,
            )
        return self._client

    def new_bucket(self) -> str:
        """A bucket of the test's own (the emulator lives for a whole module)."""
        name = f"tz-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object in the bucket, as stored."""
        client = self.client()
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed
        }

    def settings(self, base: Settings, bucket: str, **update: Any) -> Settings:
        """``base`` with its attachments in ``bucket`` on this emulator."""
        return base.model_copy(
            update={
                "attachment_s3_endpoint": self.url,
                "attachment_s3_bucket": bucket,
                "attachment_s3_access_key": ACCESS_KEY,
                "attachment_s3_secret_key": SecretStr(SECRET_KEY),
                "attachment_s3_region": REGION,
                **update,
            }
        )
