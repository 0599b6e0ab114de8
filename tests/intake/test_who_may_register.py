"""Who may register: operators and the office; everyone else is refused clearly."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.platform.readmodel import create_engine, run_sync
from shared.web.auth import Role, create_api_key, revoke_api_key
from tests.support.api import Api, problem

TIP = {"channel": "mayor_hotline", "content": "道路破损无人修"}


@pytest.fixture(scope="module")
def api(module_api: Api) -> Api:
    """One app for the module: who may register does not depend on what is stored."""
    return module_api


def test_anonymous_callers_get_401(api: Api) -> None:
    body = problem(api.post("/api/v1/tips", json=TIP), 401)
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize(
    "header",
    [
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "tzk_nope_nope"},
    ],
)
def test_bad_credentials_get_401(api: Api, header) -> None:
    problem(api.post("/api/v1/tips", json=TIP, headers=header), 401)


def test_expired_and_foreign_tokens_get_401(api: Api) -> None:
    now = int(time.time())
    claims = {"sub": "x", "name": "x", "role": "operator"}
    expired = jwt.encode(claims | {"exp": now - 3600}, api.secrets.jwt_secret, algorithm="HS256")
    foreign = jwt.encode(claims | {"exp": now + 3600}, "another-secret-" * 4, algorithm="HS256")
    no_exp = jwt.encode(claims, api.secrets.jwt_secret, algorithm="HS256")
    for token in (expired, foreign, no_exp):
        r = api.post("/api/v1/tips", json=TIP, headers={"Authorization": f"Bearer {token}"})
        problem(r, 401)
    assert (
        "过期"
        in problem(
            api.post("/api/v1/tips", json=TIP, headers={"Authorization": f"Bearer {expired}"}), 401
        )["detail"]
    )


@pytest.mark.parametrize("role", ["unit_liaison", "supervisor", "evaluator", "admin"])
def test_roles_other_than_operator_and_office_may_not_register(api: Api, role) -> None:
    r = api.post("/api/v1/tips", json=TIP, headers=api.auth(role, unit="JD01"))
    assert role in problem(r, 403)["detail"]


@pytest.mark.parametrize("role", ["operator", "office"])
def test_operators_and_the_office_may_register(api: Api, role) -> None:
    assert api.post("/api/v1/tips", json=TIP, headers=api.auth(role)).status_code == 201


def test_an_api_key_registers_until_it_is_revoked(api: Api) -> None:
    async def make() -> tuple[str, str]:
        engine = create_engine(api.settings)
        try:
            return await create_api_key(engine, role=Role.OPERATOR, name="12388 呼叫中心")
        finally:
            await engine.dispose()

    async def revoke(key_id: str) -> bool:
        engine = create_engine(api.settings)
        try:
            return await revoke_api_key(engine, key_id)
        finally:
            await engine.dispose()

    key_id, secret = run_sync(make())
    r = api.post("/api/v1/tips", json=TIP, headers={"X-API-Key": secret})
    assert r.status_code == 201
    record = api.get(f"/api/v1/tips/{r.json()['case_id']}", headers=api.auth("office")).json()
    assert record["registered_by"] == {
        "id": f"apikey:{key_id}",
        "name": "12388 呼叫中心",
        "role": "operator",
        "unit": None,
    }
    assert run_sync(revoke(key_id))
    problem(api.post("/api/v1/tips", json=TIP, headers={"X-API-Key": secret}), 401)
