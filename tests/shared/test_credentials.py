"""Credentials a city's single sign-on issues (JWKS), the shared-secret fallback, rate limits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.app import create_app
from shared.platform.settings import Settings
from shared.web.ratelimit import TokenBuckets
from tests.support.api import Api, problem
from tests.support.infra import ServerThread, free_port

TIP = {"channel": "petition", "content": "信访件转办"}


@pytest.fixture
def sso_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_url(sso_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A JWKS endpoint as a city's SSO would publish it."""
    public = json.loads(RSAAlgorithm.to_jwk(sso_key.public_key()))
    body = json.dumps({"keys": [public | {"kid": "sso-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    finally:
        server.shutdown()
        thread.join(5)


def sso_token(key: rsa.RSAPrivateKey, **claims: object) -> str:
    now = int(time.time())
    base = {"sub": "sso:10086", "name": "市热线话务员", "role": "operator", "exp": now + 600}
    return jwt.encode(base | claims, key, algorithm="RS256", headers={"kid": "sso-1"})


def test_tokens_from_the_city_sso_are_verified_with_its_published_keys(
    tmp_path: Path, jwks_url: str, sso_key: rsa.RSAPrivateKey
) -> None:
    settings = Settings(data_dir=tmp_path / "data", jwt_jwks_url=jwks_url, jwt_leeway_seconds=30)
    with ServerThread(create_app(settings, ["intake"])) as server, Api(server.url, settings) as api:
        good = {"Authorization": f"Bearer {sso_token(sso_key)}"}
        r = api.post("/api/v1/tips", json=TIP, headers=good)
        assert r.status_code == 201, r.text
        record = api.get(f"/api/v1/tips/{r.json()['case_id']}", headers=api.auth("office"))
        assert record.json()["registered_by"]["id"] == "sso:10086"

        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = {"Authorization": f"Bearer {sso_token(stranger)}"}
        problem(api.post("/api/v1/tips", json=TIP, headers=forged), 401)

        stale = sso_token(sso_key, exp=int(time.time()) - 120)  # beyond the 30 s leeway
        problem(
            api.post("/api/v1/tips", json=TIP, headers={"Authorization": f"Bearer {stale}"}), 401
        )
        skewed = sso_token(sso_key, exp=int(time.time()) - 10)  # within the leeway
        ok = api.post("/api/v1/tips", json=TIP, headers={"Authorization": f"Bearer {skewed}"})
        assert ok.status_code == 201


def test_a_token_bucket_refuses_a_burst_and_recovers() -> None:
    buckets = TokenBuckets(per_minute=60, burst=3)
    assert [buckets.take("1.2.3.4", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("1.2.3.4", now=100.0)
    assert 0 < wait <= 1.0
    assert buckets.take("5.6.7.8", now=100.0) == 0.0  # another client has its own bucket
    assert buckets.take("1.2.3.4", now=101.01) == 0.0


def test_public_receipt_lookups_are_rate_limited_per_client(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", public_rate_burst=3, public_rate_per_minute=6)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        answers = [api.get(f"/public/v1/receipts/ABCD-EFGH-JKMN-PQR{i}") for i in range(4)]
        assert [a.status_code for a in answers[:3]] == [404, 404, 404]
        limited = problem(answers[3], 429)
        assert "频繁" in limited["detail"]
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 10
        # Behind the trusted proxy, each forwarded client has its own bucket.
        other = api.get("/public/v1/receipts/x", headers={"X-Forwarded-For": "203.0.113.9"})
        assert other.status_code == 404
        # The native API is not limited this way.
        assert api.get("/api/v1/ledger", headers=api.auth("office")).status_code == 200
