"""Shared by the webhook and automation tests: payload builders, registered repositories, a real
uvicorn server on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from sqlalchemy import Engine, update

from metadata_pipeline.catalog import Tenant, add_repository, session_scope
from metadata_pipeline.catalog.models import Workspace
from metadata_pipeline.webhooks.matching import RepositoryIndex
from metadata_pipeline.webhooks.payloads import github_delivery
from metadata_pipeline.webhooks.store import DeliveryStore, StoreResult

SHOP_SECRET_ENV = "TEST_SHOP_WEBHOOK_SECRET"
SHOP_SECRET = "shop-secret-value"
GLOBAL_SECRET = "global-secret-value"
SHOP_URL = "https://github.com/Acme/Shop.git"
LAKE_URL = "git@gitlab.example.com:data/lake.git"
METADATA_URL = "https://github.com/acme/metadata"
PIPELINE_MESSAGE = "Update dataset metadata\n\nMetadata-Pipeline-Commit: true\n"


@dataclass(frozen=True)
class Registered:
    shop: str = "shop"  # dbt repo on GitHub, own secret, follows the default branch
    lake: str = "lake"  # dbt repo on GitLab, global secret, follows `main`
    workspace: str = "main"  # the default workspace, its metadata remote on GitHub


def register_repositories(engine: Engine, tenant: Tenant) -> Registered:
    with session_scope(engine) as session:
        add_repository(
            session, tenant, "shop", SHOP_URL, provider="github", webhook_secret_env=SHOP_SECRET_ENV
        )
        add_repository(session, tenant, "lake", LAKE_URL, branch="main", provider="gitlab")
        session.execute(
            update(Workspace)
            .where(Workspace.workspace_id == tenant.workspace_id)
            .values(remote_url=METADATA_URL)
        )
    return Registered()


def commit(
    message: str = "Change models", *, added: tuple[str, ...] = (), modified: tuple[str, ...] = ()
) -> dict:
    return {
        "id": uuid.uuid4().hex + uuid.uuid4().hex[:8],
        "message": message,
        "added": list(added),
        "modified": list(modified),
        "removed": [],
    }


def github_push(
    *,
    clone_url: str = "https://github.com/acme/shop.git",
    full_name: str = "acme/shop",
    ref: str = "refs/heads/main",
    after: str = "b" * 40,
    commits: list[dict] | None = None,
    default_branch: str = "main",
) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": "a" * 40,
        "after": after,
        "commits": commits if commits is not None else [commit(modified=("models/orders.sql",))],
        "repository": {
            "full_name": full_name,
            "clone_url": clone_url,
            "html_url": clone_url.removesuffix(".git"),
            "default_branch": default_branch,
        },
    }


def gitlab_push(
    *, ref: str = "refs/heads/main", after: str = "c" * 40, commits: list[dict] | None = None
) -> dict:
    return {
        "object_kind": "push",
        "ref": ref,
        "before": "a" * 40,
        "after": after,
        "commits": commits if commits is not None else [commit(added=("models/lake.sql",))],
        "total_commits_count": len(commits) if commits is not None else 1,
        "project": {
            "path_with_namespace": "data/lake",
            "git_ssh_url": "git@gitlab.example.com:data/lake.git",
            "git_http_url": "https://gitlab.example.com/data/lake.git",
            "default_branch": "main",
        },
    }


def deliver(
    engine: Engine, payload: dict[str, Any], delivery_id: str | None = None, event: str = "push"
) -> StoreResult:
    """Store a GitHub delivery as the receiver would, without HTTP."""
    delivery = github_delivery(event, delivery_id or str(uuid.uuid4()), payload)
    match = RepositoryIndex(engine).match(delivery)
    assert match is not None, f"no registered repository for {delivery.repository}"
    store = DeliveryStore(engine)
    try:
        return store.store(delivery, match)
    finally:
        store.close()


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port in a background thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
