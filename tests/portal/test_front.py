"""The portal apart (ADR 27): a process without a store that serves the public pages and the
merged OpenAPI document of every service."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.app import create_front
from services.ops.edge import AVAILABLE, service_paths
from shared.platform.settings import ConfigurationError, Settings


def test_the_portal_apart_refuses_to_start_without_the_proxy_to_call(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TAIZHANG_UI_API_URL"):
        create_front(Settings(data_dir=tmp_path))


def test_the_portal_apart_serves_one_document_of_every_services_paths(tmp_path: Path) -> None:
    front = create_front(Settings(data_dir=tmp_path, ui_api_url="http://127.0.0.1:9"))
    with TestClient(front) as client:
        assert client.get("/readyz").json() == {"status": "ok"}
        document = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
        assert client.get("/portal/").status_code == 200
    for name in AVAILABLE:
        for template, item in service_paths(name).items():
            assert set(item) <= set(document["paths"][template]), f"{name}: {template}"
    assert "/readyz" not in document["paths"]  # each process's own, not the edge's
    assert list(tmp_path.iterdir()) == []  # it opened no store, wrote no secret
