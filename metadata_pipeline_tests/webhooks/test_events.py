"""Reading deliveries past a cursor (SQLite and PostgreSQL) and planning what each triggers."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import Engine, select

from metadata_pipeline.catalog import session_scope
from metadata_pipeline.catalog.models import WebhookEvent
from metadata_pipeline.webhooks import Action, StoredEvent, mark_events, new_events, plan_event
from metadata_pipeline_tests.webhooks.helpers import (
    METADATA_URL,
    PIPELINE_MESSAGE,
    Registered,
    commit,
    deliver,
    github_push,
)

PUSH = StoredEvent(
    event_id=uuid.uuid4(),
    sequence=1,
    delivery_id="d",
    provider="github",
    event_type="push",
    repository="acme/shop",
    branch="main",
    before_sha="a" * 40,
    after_sha="b" * 40,
    changed_paths=("models/orders.sql",),
    only_pipeline_commits=False,
    default_branch="main",
    connection_name="shop",
)
METADATA_PUSH = replace(PUSH, connection_name=None, workspace_name="main", workspace_branch="main")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (PUSH, Action("extract", repository="shop", reason="push to main")),
        (
            replace(PUSH, connection_branch="release", branch="release"),
            Action("extract", "shop", None, "push to release"),
        ),
        (replace(PUSH, branch="feature"), Action("skip", "shop", None, "push to feature, following main")),
        (replace(PUSH, connection_active=False), Action("skip", "shop", None, "repository is inactive")),
        (replace(PUSH, only_pipeline_commits=True), Action("skip", reason="only the pipeline's own commits")),
        (replace(PUSH, event_type="ping", branch=None), Action("skip", reason="ping event")),
        (replace(PUSH, branch=None), Action("skip", reason="not a branch push")),
        (replace(PUSH, after_sha="0" * 40), Action("skip", reason="branch deleted")),
        (replace(PUSH, connection_name=None), Action("skip", reason="repository is no longer registered")),
        (METADATA_PUSH, Action("pull", workspace="main", reason="metadata pushed to main")),
        (
            replace(METADATA_PUSH, only_pipeline_commits=True),
            Action("skip", reason="only the pipeline's own commits"),
        ),
        (
            replace(METADATA_PUSH, branch="dev"),
            Action("skip", workspace="main", reason="push to dev, workspace follows main"),
        ),
    ],
    ids=[
        "extract",
        "followed-branch",
        "other-branch",
        "inactive",
        "pipeline-commits",
        "ping",
        "tag",
        "deleted",
        "unregistered",
        "pull",
        "pipeline-metadata",
        "workspace-branch",
    ],
)
def test_plan_event(event: StoredEvent, expected: Action) -> None:
    assert plan_event(event) == expected


def test_new_events_past_the_cursor_in_sequence_order(catalog_engine: Engine, registered: Registered) -> None:
    deliver(catalog_engine, github_push(), "one")
    deliver(catalog_engine, github_push(ref="refs/heads/feature"), "two")
    metadata = github_push(
        clone_url=METADATA_URL, full_name="acme/metadata", commits=[commit(message=PIPELINE_MESSAGE)]
    )
    deliver(catalog_engine, metadata, "three")
    with session_scope(catalog_engine) as session:
        events = new_events(session, 0)
        assert [e.delivery_id for e in new_events(session, 1)] == ["two", "three"]
        assert [e.delivery_id for e in new_events(session, 0, limit=1)] == ["one"]
        assert new_events(session, 3) == []
    one, two, three = events
    assert [e.sequence for e in events] == [1, 2, 3]
    assert (one.connection_name, one.connection_branch, one.default_branch, one.changed_paths) == (
        "shop",
        None,
        "main",
        ("models/orders.sql",),
    )
    assert [plan_event(e).kind for e in events] == ["extract", "skip", "skip"]
    assert (three.workspace_name, three.workspace_branch, three.only_pipeline_commits) == (
        "main",
        "main",
        True,
    )


def test_mark_events_records_status_and_time(catalog_engine: Engine, registered: Registered) -> None:
    deliver(catalog_engine, github_push(), "one")
    deliver(catalog_engine, github_push(), "two")
    with session_scope(catalog_engine) as session:
        one, two = new_events(session, 0)
        mark_events(session, {one.event_id: "dispatched", two.event_id: "skipped"})
    with session_scope(catalog_engine) as session:
        rows = session.execute(
            select(WebhookEvent.delivery_id, WebhookEvent.status, WebhookEvent.processed_at)
        ).all()
    assert {(r.delivery_id, r.status) for r in rows} == {("one", "dispatched"), ("two", "skipped")}
    assert all(r.processed_at is not None for r in rows)
