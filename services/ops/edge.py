"""The edge's routing table (issue 17 point 3, ADR 27): which process answers which path when
the services run apart, read from the services' own routers — never typed by hand.

``deploy/nginx/routes.conf`` is this module's output (``python -m services.ops.edge``); a test
regenerates it and fails while the committed file differs, so a route a service gains cannot
be forgotten at the proxy. The merged OpenAPI document the edge serves is the sum of the same
routers (``services.app.merged_openapi``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from services.registry import AVAILABLE, registered
from shared.web.problems import DEFAULT_CODES

# Processes that own no store: the public portal, which also serves the API's documentation.
FRONT = "portal"
# Page trees outside the OpenAPI documents and the process that serves each.
PAGES = {"ui": "tracking", "portal": FRONT}  # the workbench lives with the ledger (ADR 9)
DOCS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
PROCESSES = (*AVAILABLE, FRONT)
PARAMETER = re.compile(r"\{[^}]+\}")
UPLOAD_MAX = "21m"  # TAIZHANG_ATTACHMENT_MAX_BYTES (20 MiB) and the form around it
# The workbench's forms that carry files (a case's attachments, 登记 with its evidence): the
# attachment limit, like the API paths they call, ahead of their page tree's location.
PAGE_UPLOADS = {"ui": ("^/ui/cases/[^/]+/attachments$", "^/ui/intake$")}


@dataclass(frozen=True)
class ApiPath:
    """One path template of the API and, per method, the service that answers it."""

    template: str
    owners: dict[str, str]  # method (upper case) → service
    upload: bool = False  # a multipart body: the attachment limit, streamed

    @property
    def regex(self) -> str:
        parts = PARAMETER.split(self.template)
        return "^" + "[^/]+".join(re.escape(p) for p in parts) + "$"

    @property
    def sample(self) -> str:
        """The template with each parameter filled by a value any parameter accepts."""
        return PARAMETER.sub("1", self.template)

    @property
    def literal(self) -> int:
        return len(PARAMETER.sub("", self.template))

    @property
    def default(self) -> str:
        """Who answers a method nobody declared (its own 405): the owner of most methods."""
        owners = sorted(self.owners.values())
        return max(owners, key=owners.count)


def openapi(names: Iterable[str]) -> dict[str, Any]:
    """The OpenAPI document of the named services' routers together (none is started)."""
    app = FastAPI(title="台账 — complaint & problem tracking", version="1")
    for name in names:
        for router in registered(name).routers:
            app.include_router(router)
    return app.openapi()


def service_paths(name: str) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = openapi([name])["paths"]
    return paths


def table() -> list[ApiPath]:
    """Every path of every service, most literal first (the order the proxy tries them)."""
    owners: dict[str, dict[str, str]] = {}
    uploads: set[str] = set()
    for name in AVAILABLE:
        for template, item in service_paths(name).items():
            for method, operation in item.items():
                claimed = owners.setdefault(template, {})
                if method.upper() in claimed:
                    raise ValueError(
                        f"{method.upper()} {template}: {claimed[method.upper()]} "
                        f"and {name} both serve it"
                    )
                claimed[method.upper()] = name
                if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
                    uploads.add(template)
    paths = [ApiPath(t, o, t in uploads) for t, o in owners.items()]
    paths.sort(key=lambda p: (-p.literal, p.template))
    _check_order(paths)
    return paths


def _check_order(paths: list[ApiPath]) -> None:
    """Each path's sample reaches its own entry first: a broader template listed earlier
    would take another service's requests."""
    for path in paths:
        first = next(p for p in paths if re.match(p.regex, path.sample))
        if first is not path and first.owners != path.owners:
            raise ValueError(f"{first.template} would take the requests of {path.template}")


def owner(paths: list[ApiPath], method: str, path: str) -> str | None:
    """The process the proxy sends a request to, by the same rules as routes.conf."""
    parts = path.strip("/").split("/")
    if path in DOCS:
        return FRONT
    if parts[0] in PAGES:
        return PAGES[parts[0]]
    if parts[0] == "readyz" and len(parts) == 2 and parts[1] in PROCESSES:
        return parts[1]
    entry = next((p for p in paths if re.match(p.regex, path)), None)
    return None if entry is None else entry.owners.get(method, entry.default)


HEADER = """\
# 台账 edge, server{{}} context: which process answers which path. GENERATED from the services'
# own routers by `python -m services.ops.edge > deploy/nginx/routes.conf` (ADR 27) — do not
# edit; tests/system/test_deploy_config.py fails while this file differs from the routers.
# Needs http.conf and one upstream per process: {processes}.

set $tz_upstream "";  # named in the access log; each location below sets it
add_header X-Request-Id $request_id always;  # the access log line of this answer

# Liveness of the edge itself; each process's readiness is under /readyz/<process>.
location = /healthz {{
  default_type application/json;
  return 200 '{{"status":"ok"}}';
}}
"""

NOT_FOUND = "没有该地址 (no such path)"
TOO_LARGE = "请求体超过上限 (request body over the limit)"
UNAVAILABLE = (
    "服务暂不可用,请稍后用同一 Idempotency-Key 重试 (service unavailable; retry later with the "
    "same key)"
)


def _problem(status: int, title: str, detail: str) -> str:
    """An nginx ``return`` of an RFC 9457 problem+json, as the services answer."""
    code = DEFAULT_CODES[status]
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"  default_type application/problem+json;\n  return {status} '{body}';"


FOOTER = f"""
# A path no service declares: the edge answers, as the services do (RFC 9457 problem+json).
location / {{
{_problem(404, "Not Found", NOT_FOUND)}
}}

# Errors of the edge itself answer like the services do: RFC 9457 problem+json.
error_page 413 = @too_large;
error_page 502 503 504 = @unavailable;
location @too_large {{
{_problem(413, "Content Too Large", TOO_LARGE)}
}}
location @unavailable {{
  add_header Retry-After 5 always;
{_problem(503, "Service Unavailable", UNAVAILABLE)}
}}
"""


def _location(match: str, owner: str, rewrite: str = "") -> str:
    return f"location {match} {{ set $tz_upstream {owner}; proxy_pass http://{owner}{rewrite}; }}"


def _path_location(path: ApiPath) -> str:
    others = {m: s for m, s in sorted(path.owners.items()) if s != path.default}
    if not (others or path.upload):
        return _location(f'~ "{path.regex}"', path.default)
    lines = [f'location ~ "{path.regex}" {{']
    if path.upload:  # streamed to the service, which checks the limit by content too
        lines += [f"  client_max_body_size {UPLOAD_MAX};", "  proxy_request_buffering off;"]
    lines.append(f"  set $tz_upstream {path.default};")
    lines += [
        f"  if ($request_method = {m}) {{ set $tz_upstream {s}; }}" for m, s in others.items()
    ]
    lines += ["  proxy_pass http://$tz_upstream;", "}"]
    return "\n".join(lines)


def _upload_location(regex: str, owner: str) -> str:
    return "\n".join(
        [
            f'location ~ "{regex}" {{',
            f"  client_max_body_size {UPLOAD_MAX};",
            "  proxy_request_buffering off;",
            f"  set $tz_upstream {owner};",
            f"  proxy_pass http://{owner};",
            "}",
        ]
    )


def nginx_routes() -> str:
    """deploy/nginx/routes.conf: the pages, the documents, readiness, then every API path."""
    out = [HEADER.format(processes=", ".join(PROCESSES))]
    out += [_location(f"= /readyz/{p}", p, rewrite="/readyz") for p in PROCESSES]
    out.append("\n# The merged OpenAPI document and its viewers (the front process, ADR 27).")
    out += [_location(f"= {d}", FRONT) for d in DOCS]
    out.append("\n# Page trees (not in the OpenAPI documents).")
    for tree, process in PAGES.items():
        out += [_upload_location(regex, process) for regex in PAGE_UPLOADS.get(tree, ())]
        out.append(_location(f'~ "^/{tree}(/|$)"', process))
    out.append("\n# The API, path by path; the most literal first.")
    out += [_path_location(p) for p in table()]
    return "\n".join(out) + "\n" + FOOTER


if __name__ == "__main__":
    sys.stdout.write(nginx_routes())
