"""OpenAPI links: which answer supplies the identifiers other operations need (a registered tip's
``case_id`` for every case operation, its receipt code for the public portal, a new unit's code).
Clients and generators read them; schemathesis's stateful phase follows them, so the fuzzer reaches
real cases instead of guessing UUIDs that 404."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from shared.web.openapi_labels import add_enum_labels

# (method and path of the answer, path parameter it supplies, where in the answer body, which paths)
LINK_SOURCES = [
    ("post", "/api/v1/tips", "case_id", "/case_id", "/api/v1/"),
    ("post", "/api/v1/tips", "code", "/receipt_code", "/public/v1/receipts/"),
    ("post", "/api/v1/units", "code", "/code", "/api/v1/units/"),
]


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for method, source_path, param, pointer, target_prefix in LINK_SOURCES:
        source = paths.get(source_path, {}).get(method)
        if source is None:
            continue
        links = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {f"path.{param}": f"$response.body#{pointer}"},
            }
            for path, operations in paths.items()
            if path.startswith(target_prefix) and f"{{{param}}}" in path
            for operation in operations.values()
            if isinstance(operation, dict) and "operationId" in operation
        }
        for status, answer in source.get("responses", {}).items():
            if status.startswith("2") and links:
                answer.setdefault("links", {}).update(links)
    return schema


def install_links(app: FastAPI) -> None:
    """Adds the links (and every enum's Chinese labels) to the schema FastAPI generates (once,
    when it is first asked for)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_enum_labels(add_links(generate()))
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
