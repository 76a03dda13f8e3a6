"""Reading stored webhook deliveries past a cursor, and deciding what each one should trigger.

Plain data in, plain data out: the Dagster sensors turn an `Action` into a run request, the tests
check the decisions directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import Connection, WebhookEvent, Workspace
from metadata_pipeline.webhooks.payloads import ZERO_SHA

ActionKind = Literal["extract", "pull", "skip"]
DISPATCHED = "dispatched"
SKIPPED = "skipped"


@dataclass(frozen=True)
class StoredEvent:
    """A stored delivery joined with the current state of the repository it matched."""

    event_id: uuid.UUID
    sequence: int
    delivery_id: str
    provider: str
    event_type: str
    repository: str | None
    branch: str | None
    before_sha: str | None
    after_sha: str | None
    changed_paths: tuple[str, ...]
    only_pipeline_commits: bool
    default_branch: str | None  # as the payload stated it
    connection_name: str | None = None
    connection_active: bool = True
    connection_branch: str | None = None  # None: follows the default branch
    workspace_name: str | None = None
    workspace_branch: str | None = None


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    repository: str | None = None  # connection name, for `extract`
    workspace: str | None = None  # workspace name, for `pull`
    reason: str = ""


def new_events(session: Session, after_sequence: int, limit: int = 500) -> list[StoredEvent]:
    """Deliveries with a sequence above `after_sequence`, oldest first, at most `limit` of them."""
    payload = WebhookEvent.raw_payload
    # Only the default branch is read out of the payload: loading whole payloads here would be wasteful.
    default_branch = func.coalesce(
        payload[("repository", "default_branch")].as_string(),
        payload[("project", "default_branch")].as_string(),
    )
    rows = session.execute(
        select(
            WebhookEvent.event_id,
            WebhookEvent.sequence,
            WebhookEvent.delivery_id,
            WebhookEvent.provider,
            WebhookEvent.event_type,
            WebhookEvent.repository,
            WebhookEvent.branch,
            WebhookEvent.before_sha,
            WebhookEvent.after_sha,
            WebhookEvent.changed_paths,
            WebhookEvent.only_pipeline_commits,
            default_branch.label("default_branch"),
            Connection.name.label("connection_name"),
            Connection.is_active.label("connection_active"),
            Connection.branch.label("connection_branch"),
            Workspace.name.label("workspace_name"),
            Workspace.source_branch.label("workspace_branch"),
        )
        .outerjoin(Connection, Connection.connection_id == WebhookEvent.connection_id)
        .outerjoin(Workspace, Workspace.workspace_id == WebhookEvent.workspace_id)
        .where(WebhookEvent.sequence > after_sequence)
        .order_by(WebhookEvent.sequence)
        .limit(limit)
    ).all()
    return [
        StoredEvent(
            **{
                **row._asdict(),
                "changed_paths": tuple(row.changed_paths or ()),
                "connection_active": row.connection_active is not False,
            }
        )
        for row in rows
    ]


def _plan_connection(event: StoredEvent) -> Action:
    # No branch configured: the remote's default; if the payload did not say which that is, any
    # push qualifies (extraction itself follows the default branch, so the worst case is a no-op run).
    followed = event.connection_branch or event.default_branch
    if not event.connection_active:
        return Action("skip", repository=event.connection_name, reason="repository is inactive")
    if followed is not None and event.branch != followed:
        return Action(
            "skip", repository=event.connection_name, reason=f"push to {event.branch}, following {followed}"
        )
    return Action("extract", repository=event.connection_name, reason=f"push to {event.branch}")


def _plan_workspace(event: StoredEvent) -> Action:
    if event.branch != event.workspace_branch:
        return Action(
            "skip",
            workspace=event.workspace_name,
            reason=f"push to {event.branch}, workspace follows {event.workspace_branch}",
        )
    return Action("pull", workspace=event.workspace_name, reason=f"metadata pushed to {event.branch}")


def plan_event(event: StoredEvent) -> Action:
    """What a delivery should trigger: extract its dbt repository, pull its workspace, or nothing."""
    if event.event_type != "push":
        return Action("skip", reason=f"{event.event_type} event")
    if event.branch is None:
        return Action("skip", reason="not a branch push")
    if event.after_sha in (None, ZERO_SHA):
        return Action("skip", reason="branch deleted")
    if event.only_pipeline_commits:
        # The pipeline's own commits: acting on them would loop commit -> webhook -> run -> commit.
        return Action("skip", reason="only the pipeline's own commits")
    plans = []
    if event.connection_name is not None:
        plans.append(_plan_connection(event))
    if event.workspace_name is not None:
        plans.append(_plan_workspace(event))
    if not plans:
        return Action("skip", reason="repository is no longer registered")
    return next((p for p in plans if p.kind != "skip"), plans[0])


def mark_events(session: Session, statuses: Mapping[uuid.UUID, str]) -> None:
    """Record what the sensors did with each delivery (`dispatched` or `skipped`), for operators."""
    now = datetime.now(UTC)
    by_status: dict[str, list[uuid.UUID]] = {}
    for event_id, status in statuses.items():
        by_status.setdefault(status, []).append(event_id)
    for status, ids in by_status.items():
        session.execute(
            update(WebhookEvent).where(WebhookEvent.event_id.in_(ids)).values(status=status, processed_at=now)
        )
