"""``taizhang`` commands beside a deployment (issue 17, point 5): they take its settings from
``--env-file`` and refuse to fall back on the embedded default when they cannot reach it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import jwt

from shared.platform.settings import Settings, load_secrets
from tests.support.deployment import TAIZHANG
from tests.support.infra import free_port


def taizhang(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    return subprocess.run(
        [TAIZHANG, *args],
        env=clean | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_token_is_made_with_the_deployments_secrets_from_its_env_file(tmp_path: Path) -> None:
    data = tmp_path / "deployment-data"
    settings = Settings(data_dir=data)
    secrets = load_secrets(settings)  # the deployment's (development) secrets
    env_file = tmp_path / "taizhang.env"
    env_file.write_text(f"TAIZHANG_DATA_DIR={data}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    made = taizhang(
        "--env-file", str(env_file), "token", "--role", "office", "--name", "张三", cwd=elsewhere
    )

    assert made.returncode == 0, made.stderr
    claims = jwt.decode(made.stdout.strip(), secrets.jwt_secret, algorithms=["HS256"])
    assert claims["role"] == "office"  # signed with the deployment's secret
    assert not (elsewhere / "data").exists()  # no embedded default made on the side


def test_a_deployment_that_cannot_be_reached_is_refused_not_replaced(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env_file = tmp_path / "taizhang.env"
    env_file.write_text(
        f"TAIZHANG_DATABASE_URL=postgresql://postgres:secret@127.0.0.1:{port}/test\n"
        f"TAIZHANG_DATA_DIR={tmp_path / 'data'}\n"
    )

    refused = taizhang("--env-file", str(env_file), "verify", cwd=tmp_path)

    assert refused.returncode == 2
    assert f"cannot reach the deployment's PostgreSQL at 127.0.0.1:{port}" in refused.stderr
    assert "secret" not in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_missing_env_file_is_refused(tmp_path: Path) -> None:
    refused = taizhang("--env-file", str(tmp_path / "nope.env"), "verify", cwd=tmp_path)
    assert refused.returncode == 2
    assert "no env file at" in refused.stderr


def test_verify_where_no_deployment_is_says_so_and_names_a_local_env_file(tmp_path: Path) -> None:
    local = tmp_path / "run" / "local"
    local.mkdir(parents=True)
    (local / "taizhang.env").write_text("TAIZHANG_DATA_DIR=run/local/data\n")

    refused = taizhang("verify", cwd=tmp_path)

    assert refused.returncode == 2
    assert "--env-file run/local/taizhang.env" in refused.stderr
    assert "no such table" not in refused.stderr
