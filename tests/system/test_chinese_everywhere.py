"""Chinese everywhere a person reads (issue 22 point 2).

The rule, as this test states it: in a ``zh-CN`` answer (``Accept-Language: zh-CN``, what the
workbench and the portal send) a refusal's ``title`` and every message contain Chinese, and no
English word is left in them — a word of three letters or more counts unless it is quoted
(``'hotline_12388'``: a code the client sends), a field name the answer itself names, or on the
short list below (header names, formats). Every enum of the OpenAPI document carries Chinese
labels for all its values. Clients that ask for nothing keep the bilingual body and the codes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import pytest

from shared.contracts import vocabulary
from shared.contracts.wording import LABELS, labels_for
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import add_units
from tests.support.infra import ServerThread
from tests.system.test_refusal_bodies import refusals

CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Not words a person must translate: header names, schemes, formats, date masks.
ALLOWED = {
    "Authorization",
    "Bearer",
    "token",
    "X-API-Key",
    "API",
    "Key",
    "Idempotency-Key",
    "Retry-After",
    "UUID",
    "JSON",
    "ISO",
    "YYYY-MM-DD",
    "true",
    "false",
    "HTTP",
    "Open311",
    "Excel",
    "Word",
    "PDF",
    "Markdown",
}
NOBODY = "00000000-0000-4000-8000-000000000000"
ZH = {"Accept-Language": "zh-CN"}


def english_words(text: str, codes: set[str]) -> list[str]:
    """The English words a person would read in ``text``."""
    unquoted = re.sub(r"'[^']*'|`[^`]*`|\"[^\"]*\"", "", text)
    words = re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", unquoted)
    return [
        w
        for w in words
        if w not in ALLOWED and w not in codes and len(re.sub("[^A-Za-z]", "", w)) >= 3
    ]


def untranslated(body: dict[str, Any]) -> list[str]:
    """What in a zh-CN problem body is not Chinese: an empty list when all is."""
    fields = {str(e.get("field", "")) for e in body.get("errors") or []}
    fields |= {str(body.get("field", ""))}
    codes = {part for f in fields for part in re.split(r"[.\[\]]", f) if part}
    texts = [body.get("title", ""), body.get("detail", "")]
    for key in ("errors", "missing"):
        texts += [str(item.get("message", "")) for item in body.get(key) or []]
    found = [t for t in texts if t and not CHINESE.search(str(t))]
    return found + [w for t in texts for w in english_words(str(t), codes)]


def test_the_rule_finds_english_in_a_chinese_sentence() -> None:
    assert untranslated({"title": "冲突", "detail": "案件当前状态为 dispatched"}) == ["dispatched"]
    assert "Conflict" in untranslated({"title": "Conflict", "detail": "没有找到该案件"})
    assert untranslated({"title": "未找到", "detail": "取值无效,可选:'general'"}) == []


def test_every_vocabulary_enum_has_a_chinese_label_for_every_value() -> None:
    enums = [v for v in vars(vocabulary).values() if isinstance(v, type) and issubclass(v, StrEnum)]
    assert len(enums) >= 15
    for enum in enums:
        labels = labels_for(e.value for e in enum)
        assert labels is not None, enum.__name__
        assert all(CHINESE.search(label) for label in labels.values()), enum.__name__
    for name, table in LABELS.items():
        assert all(CHINESE.search(label) for label in table.values()), name


def test_every_integration_event_has_a_timeline_label() -> None:
    import shared.contracts.dispatch
    import shared.contracts.intake
    import shared.contracts.tracking  # noqa: F401  (each module registers its events)
    from shared.contracts.base import Contract
    from shared.contracts.wording import EVENT_LABELS

    def below(cls: type[Contract]) -> list[type[Contract]]:
        return [c for sub in cls.__subclasses__() for c in (sub, *below(sub))]

    types = {c.type for c in below(Contract) if "type" in vars(c)}
    assert len(types) > 40
    assert types - set(EVENT_LABELS) == set()
    assert all(CHINESE.search(label) for label in EVENT_LABELS.values())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, Any]]]:
    from services.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("chinese"), api_key_cache_seconds=0)
    app = create_app(settings)
    with ServerThread(app) as running, Api(running.url, settings) as api:
        yield api, app.openapi()


def test_every_enum_of_the_openapi_document_has_chinese_labels(
    server: tuple[Api, dict[str, Any]],
) -> None:
    _, doc = server
    enums: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "enum" in node:
                enums.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(doc)
    assert len(enums) > 20
    for schema in enums:
        labels = schema.get("x-enum-labels")
        assert labels is not None and set(labels) == set(schema["enum"]), schema
        assert all(CHINESE.search(label) for label in labels.values()), schema
        assert all(f"{code} = " in schema["description"] for code in schema["enum"])


def _path(template: str, plain: bool) -> str:
    """A template's parameters filled with values that exist nowhere."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.endswith("id"):
            return NOBODY
        return {"number": "2026-999999", "year": "2099", "code": "ZZ9"}.get(name, "ZZ9")

    return re.sub(r"\{([^}]+)\}", value, template)


def _calls(doc: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    for template, operations in doc["paths"].items():
        for method in operations:
            if method in {"get", "post", "put", "delete", "patch"}:
                yield method, template, False
                yield method, template, True


def _wrong_values(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """Each field of the operation's JSON body (or each query parameter) with a value of the
    wrong type — the validation messages a careless form reaches."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if content:
        return {"json": {name: [[1]] for name in schema.get("properties", {})}}
    query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    return {"params": {name: "x\u00e9" for name in query}}


def _problems_of(api: Api, doc: dict[str, Any], headers: dict[str, str]) -> Iterator[Any]:
    for method, template, plain in _calls(doc):
        path = _path(template, plain)
        if plain:  # the second pass: every field wrong instead of every path parameter
            path, plain = _path(template, False), False
            body = _wrong_values(doc, doc["paths"][template][method])
        else:
            body = {"json": {}} if method in {"post", "put", "patch"} else {}
        r = api.request(method.upper(), path, headers=ZH | headers, **body)
        assert r.status_code < 500, (method, template, r.text)
        if template.startswith("/open311/"):  # GeoReport's own error list (ADR 10)
            continue
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), template
            yield method, template, r.json()
        if method == "get" and not plain and template.startswith("/api/v1/"):
            r = api.get(path, params={"nope": "1"}, headers=ZH | headers)
            assert r.status_code < 500, (template, r.text)
            if r.status_code >= 400:
                yield method, template + "?nope", r.json()


def test_every_operation_refuses_in_chinese_when_asked(server: tuple[Api, dict[str, Any]]) -> None:
    api, doc = server
    add_units(api, "R01")
    callers: list[dict[str, str]] = [
        {},
        api.auth("office"),
        api.auth("operator", "话务员甲"),
        api.auth("unit_liaison", unit="R01"),
        api.auth("evaluator"),
    ]
    seen: set[int] = set()
    failures, uncoded = [], []
    for headers in callers:
        for method, template, body in _problems_of(api, doc, headers):
            seen.add(body["status"])
            if words := untranslated(body):
                failures.append((method, template, words, body["detail"]))
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(body.get("code"))):
                uncoded.append((method, template, body["status"], body.get("code")))
    assert {401, 403, 404, 422} <= seen
    assert not failures, "\n".join(map(str, failures[:40]))
    # one way to refuse (issue 23): every refusal, whichever service, carries a stable code
    assert not uncoded, "\n".join(map(str, uncoded[:40]))


def test_the_recorded_refusals_answer_in_chinese_when_asked(
    server: tuple[Api, dict[str, Any]],
) -> None:
    api, _ = server
    api.headers["Accept-Language"] = "zh-CN"
    try:
        answers = refusals(api)
    finally:
        del api.headers["Accept-Language"]
    failures = {name: untranslated(a["body"]) for name, a in answers.items()}
    assert not {name: words for name, words in failures.items() if words}
    assert answers["case_not_found"]["body"]["title"] == "未找到"
    assert answers["case_not_found"]["body"]["detail"] == "没有找到该案件"
    # the codes stay: a client branches on them whatever language it asked for
    assert answers["tracking_close_out_refused"]["body"]["code"] == "close_out_refused"
    assert answers["validation"]["body"]["errors"][0]["code"] == "enum"


def test_clients_that_ask_for_nothing_keep_the_bilingual_body(
    server: tuple[Api, dict[str, Any]],
) -> None:
    api, _ = server
    r = api.get(f"/api/v1/cases/{uuid.UUID(NOBODY)}", headers=api.auth("office"))
    assert r.status_code == 404
    assert r.json()["title"] == "Not Found"
    assert r.json()["detail"] == "没有找到该案件(not found)"
