"""`webhooks serve` end to end: a real process serving a real catalog on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from metadata_pipeline.catalog import (
    add_repository,
    ensure_default_tenant,
    make_engine,
    session_scope,
    upgrade,
)
from metadata_pipeline.webhooks import GLOBAL_SECRET_ENV, sign_github
from metadata_pipeline_tests.webhooks.helpers import GLOBAL_SECRET, github_push

# The command group on its own: registering it under `metadata-pipeline` is the CLI package's job.
SERVE = "from metadata_pipeline.cli.webhooks_commands import webhooks; webhooks()"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("webhooks serve did not become healthy")


def test_serve_receives_a_signed_push(tmp_path: Path) -> None:
    catalog_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(catalog_url)
    engine = make_engine(catalog_url)
    with session_scope(engine) as session:
        add_repository(session, ensure_default_tenant(session), "shop", "https://github.com/acme/shop.git")
    port = _free_port()
    env = {
        **os.environ,
        "METADATA_PIPELINE_CATALOG_URL": catalog_url,
        "METADATA_PIPELINE_HOME": str(tmp_path / "home"),
        GLOBAL_SECRET_ENV: GLOBAL_SECRET,
    }
    command = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--max-body-bytes", "100000"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process)
        body = json.dumps(github_push()).encode()
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "cli-1",
            "X-Hub-Signature-256": sign_github(body, GLOBAL_SECRET),
        }
        assert httpx.post(f"{url}/webhooks/github", content=body, headers=headers).status_code == 202
        oversized = b"{" + b" " * 100_000 + b"}"
        assert httpx.post(f"{url}/webhooks/github", content=oversized, headers=headers).status_code == 413
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        engine.dispose()
    assert GLOBAL_SECRET not in stderr  # the secret never reaches the logs
    assert "stored github push webhook cli-1" in stderr
