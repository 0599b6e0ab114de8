"""The ``taizhang`` command run as an operator would, on a test's own store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.platform.settings import Settings

TAIZHANG = str(Path(sys.executable).parent / "taizhang")


def store_env(settings: Settings) -> dict[str, str]:
    """Only what names the store (and this tree, when tests run from a worktree)."""
    env = {"TAIZHANG_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    env |= {"PYTHONPATH": path} if (path := os.environ.get("PYTHONPATH")) else {}
    if settings.database_url:
        env |= {
            "TAIZHANG_DATABASE_URL": settings.database_url,
            "TAIZHANG_DATABASE_SCHEMA": settings.database_schema,
        }
    return env


def run_taizhang(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAIZHANG, *args],
        env=store_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
