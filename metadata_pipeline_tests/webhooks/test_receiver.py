"""The receiver over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL catalogs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import Engine, func, select

from metadata_pipeline.catalog import make_engine, session_scope
from metadata_pipeline.catalog.models import Connection, WebhookEvent, Workspace
from metadata_pipeline.webhooks import GLOBAL_SECRET_ENV, create_app, sign_github
from metadata_pipeline_tests.webhooks.conftest import MAX_BODY_BYTES
from metadata_pipeline_tests.webhooks.helpers import (
    GLOBAL_SECRET,
    METADATA_URL,
    PIPELINE_MESSAGE,
    SHOP_SECRET,
    commit,
    github_push,
    gitlab_push,
    running_server,
)


def post_github(
    client: httpx.Client,
    payload: Any,
    *,
    delivery_id: str | None = None,
    secret: str = SHOP_SECRET,
    event: str = "push",
    body: bytes | None = None,
    drop: str | None = None,
) -> httpx.Response:
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign_github(raw, secret),
    }
    headers.pop(drop or "", None)
    return client.post("/webhooks/github", content=raw, headers=headers)


def post_gitlab(
    client: httpx.Client, payload: dict, *, token: str = GLOBAL_SECRET, event_uuid: str | None = "auto"
) -> httpx.Response:
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token}
    if event_uuid:
        headers["X-Gitlab-Event-UUID"] = str(uuid.uuid4()) if event_uuid == "auto" else event_uuid
    return client.post("/webhooks/gitlab", content=json.dumps(payload).encode(), headers=headers)


def stored(engine: Engine) -> list[WebhookEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.sequence)))


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_signed_push_is_stored_once_with_everything_planning_needs(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    payload = github_push(
        commits=[commit(added=("models/new.sql",)), commit(modified=("models/orders.sql", "models/new.sql"))]
    )
    response = post_github(client, payload, delivery_id="d-1")
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "delivery_id": "d-1", "sequence": 1}
    [event] = stored(catalog_engine)
    with session_scope(catalog_engine) as session:
        shop_id = session.scalar(select(Connection.connection_id).where(Connection.name == "shop"))
    assert (event.provider, event.event_type, event.repository, event.branch) == (
        "github",
        "push",
        "acme/shop",
        "main",
    )
    assert (event.before_sha, event.after_sha) == ("a" * 40, "b" * 40)
    assert event.changed_paths == ["models/new.sql", "models/orders.sql"]
    assert event.connection_id == shop_id and event.workspace_id is None
    assert event.only_pipeline_commits is False
    assert event.status == "received" and event.received_at is not None
    assert event.raw_payload == payload


def test_replayed_delivery_is_answered_200_and_stored_once(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    payload = github_push()
    assert post_github(client, payload, delivery_id="same").status_code == 202
    replay = post_github(client, payload, delivery_id="same")
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert len(stored(catalog_engine)) == 1


def test_concurrent_deliveries_store_each_id_once_with_distinct_sequences(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    ids = [f"race-{i % 10}" for i in range(40)]  # every id sent four times, all at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(lambda d: post_github(client, github_push(), delivery_id=d).status_code, ids))
    assert codes.count(202) == 10 and codes.count(200) == 30
    events = stored(catalog_engine)
    assert sorted(e.delivery_id for e in events) == sorted(set(ids))
    assert [e.sequence for e in events] == list(range(1, 11))


@pytest.mark.parametrize(
    ("mutation", "status"),
    [
        ({"secret": "wrong-secret"}, 401),
        ({"drop": "X-Hub-Signature-256"}, 401),
        ({"drop": "X-GitHub-Event"}, 400),
        ({"drop": "X-GitHub-Delivery"}, 400),
        ({"body": b"{not json", "secret": SHOP_SECRET}, 400),
        ({"body": b"[1, 2]", "secret": SHOP_SECRET}, 400),
    ],
    ids=[
        "bad-signature",
        "missing-signature",
        "missing-event",
        "missing-delivery",
        "malformed-json",
        "not-object",
    ],
)
def test_rejected_requests_store_nothing(
    client: httpx.Client, catalog_engine: Engine, mutation: dict, status: int
) -> None:
    response = post_github(client, github_push(), **mutation)
    assert response.status_code == status, response.text
    assert stored(catalog_engine) == []


def test_the_global_secret_is_accepted_too(client: httpx.Client, catalog_engine: Engine) -> None:
    assert post_github(client, github_push(), secret=GLOBAL_SECRET).status_code == 202


def test_unknown_repository_is_404_only_for_an_authenticated_sender(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    other = github_push(clone_url="https://github.com/acme/other.git", full_name="acme/other")
    assert post_github(client, other, secret=GLOBAL_SECRET).status_code == 404
    assert post_github(client, other, secret="guess").status_code == 401
    assert stored(catalog_engine) == []


def test_oversized_body_is_413_by_content_length_and_by_stream(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    big = json.dumps({**github_push(), "padding": "x" * MAX_BODY_BYTES}).encode()
    assert post_github(client, None, body=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed size must be checked
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "chunked",
        "X-Hub-Signature-256": sign_github(big, SHOP_SECRET),
    }
    response = client.post("/webhooks/github", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert stored(catalog_engine) == []


def test_ping_is_stored_and_answered(client: httpx.Client, catalog_engine: Engine) -> None:
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "repository": github_push()["repository"]}
    assert post_github(client, ping, event="ping").status_code == 202
    [event] = stored(catalog_engine)
    assert event.event_type == "ping" and event.branch is None


def test_other_events_are_authenticated_then_ignored(client: httpx.Client, catalog_engine: Engine) -> None:
    issue = {"action": "opened", "repository": github_push()["repository"]}
    assert post_github(client, issue, event="issues", secret="guess").status_code == 401
    response = post_github(client, issue, event="issues")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert stored(catalog_engine) == []


def test_form_encoded_github_delivery(client: httpx.Client, catalog_engine: Engine) -> None:
    body = urlencode({"payload": json.dumps(github_push())}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "form-1",
        "X-Hub-Signature-256": sign_github(body, SHOP_SECRET),
    }
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 202
    assert stored(catalog_engine)[0].repository == "acme/shop"


def test_repository_matched_by_ssh_url_regardless_of_case_and_git_suffix(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    payload = github_push(clone_url="git@github.com:ACME/shop.git", full_name="ACME/shop")
    assert post_github(client, payload).status_code == 202
    assert stored(catalog_engine)[0].connection_id is not None


def test_metadata_repository_push_matches_the_workspace(client: httpx.Client, catalog_engine: Engine) -> None:
    payload = github_push(
        clone_url=METADATA_URL + ".git", full_name="acme/metadata", commits=[commit(message=PIPELINE_MESSAGE)]
    )
    assert post_github(client, payload, secret=GLOBAL_SECRET).status_code == 202
    [event] = stored(catalog_engine)
    with session_scope(catalog_engine) as session:
        workspace_id = session.scalar(
            select(Workspace.workspace_id).where(Workspace.remote_url == METADATA_URL)
        )
    assert event.workspace_id == workspace_id and event.connection_id is None
    assert event.only_pipeline_commits is True


def test_gitlab_token_good_bad_and_missing(client: httpx.Client, catalog_engine: Engine) -> None:
    assert post_gitlab(client, gitlab_push(), token=GLOBAL_SECRET).status_code == 202
    assert post_gitlab(client, gitlab_push(), token="wrong").status_code == 401
    no_token = client.post(
        "/webhooks/gitlab",
        content=json.dumps(gitlab_push()).encode(),
        headers={"X-Gitlab-Event": "Push Hook"},
    )
    assert no_token.status_code == 401
    [event] = stored(catalog_engine)
    assert (event.provider, event.repository, event.branch, event.changed_paths) == (
        "gitlab",
        "data/lake",
        "main",
        ["models/lake.sql"],
    )


def test_gitlab_without_event_uuid_deduplicates_on_the_body(
    client: httpx.Client, catalog_engine: Engine
) -> None:
    payload = gitlab_push()
    assert post_gitlab(client, payload, event_uuid=None).status_code == 202
    assert post_gitlab(client, payload, event_uuid=None).status_code == 200
    [event] = stored(catalog_engine)
    assert event.delivery_id.startswith("sha256:")


def test_no_secret_configured_rejects_everything(
    client: httpx.Client, catalog_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(GLOBAL_SECRET_ENV)
    # The GitLab repository has no secret of its own: with the global one gone, nothing verifies it.
    assert post_gitlab(client, gitlab_push(), token="").status_code == 401
    assert post_gitlab(client, gitlab_push(), token="anything").status_code == 401
    assert stored(catalog_engine) == []


def test_a_repository_registered_after_startup_is_found(client: httpx.Client, catalog_engine: Engine) -> None:
    other = github_push(clone_url="https://github.com/acme/late.git", full_name="acme/late")
    assert post_github(client, other, secret=GLOBAL_SECRET).status_code == 404
    with session_scope(catalog_engine) as session:
        shop = session.scalar(select(Connection).where(Connection.name == "shop"))
        session.add(Connection(company_id=shop.company_id, name="late", url="https://github.com/acme/late"))
    assert post_github(client, other, secret=GLOBAL_SECRET).status_code == 202
    with session_scope(catalog_engine) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1


def test_an_unusable_catalog_answers_503_not_202(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GLOBAL_SECRET_ENV, GLOBAL_SECRET)
    engine = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    with running_server(create_app(engine)) as base_url, httpx.Client(base_url=base_url) as http:
        response = post_github(http, github_push(), secret=GLOBAL_SECRET)
    assert response.status_code == 503 and response.json() == {"error": "catalog unavailable"}
