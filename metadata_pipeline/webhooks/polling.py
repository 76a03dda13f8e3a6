"""Polling branch heads with `git ls-remote`: the fallback for repositories without webhooks, or
whose deliveries went missing.

A head counts as moved when it differs from the last head the caller saw (its cursor) or, for a
repository the caller has never seen, from the head the catalog last recorded; so the same head
never fires twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import Connection, WebhookEvent
from metadata_pipeline.ingest.git_repo import ls_remote_head

logger = logging.getLogger(__name__)

LS_REMOTE_TIMEOUT_SECONDS = 30.0
MAX_PARALLEL_POLLS = 8


@dataclass(frozen=True)
class PollTarget:
    connection_id: uuid.UUID
    name: str
    url: str
    branch: str | None  # None: the remote's default branch (HEAD)
    credential_env: str | None
    recorded_sha: str | None  # the head the catalog last recorded (last_head_sha, else last_extracted_sha)


@dataclass(frozen=True)
class HeadChange:
    connection: str
    connection_id: uuid.UUID
    old_sha: str | None
    new_sha: str
    covered_by_webhook: bool = False  # a stored webhook delivery already announced this head


LsRemote = Callable[[PollTarget], str | None]


def git_ls_remote(target: PollTarget) -> str:
    """The head of the followed branch, via the ingest package's credential-safe `git ls-remote`."""
    return ls_remote_head(target.url, target.branch, target.credential_env, timeout=LS_REMOTE_TIMEOUT_SECONDS)


def poll_targets(session: Session) -> list[PollTarget]:
    """Every active connection, with the head the catalog last recorded for it."""
    rows = session.execute(
        select(
            Connection.connection_id,
            Connection.name,
            Connection.url,
            Connection.branch,
            Connection.credential_env,
            Connection.last_head_sha,
            Connection.last_extracted_sha,
        )
        .where(Connection.is_active.is_(True))
        .order_by(Connection.name)
    ).all()
    return [
        PollTarget(
            r.connection_id,
            r.name,
            r.url,
            r.branch,
            r.credential_env,
            r.last_head_sha or r.last_extracted_sha,
        )
        for r in rows
    ]


def _heads(targets: list[PollTarget], ls_remote: LsRemote) -> dict[uuid.UUID, str]:
    """Current heads, polled in parallel; a repository that fails is logged and left out."""

    def one(target: PollTarget) -> tuple[uuid.UUID, str | None]:
        try:
            return target.connection_id, ls_remote(target)
        except Exception as exc:  # one unreachable remote must not stop the others
            logger.warning("polling %s failed: %s", target.name, exc)
            return target.connection_id, None

    if not targets:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_POLLS, len(targets))) as pool:
        return {cid: sha for cid, sha in pool.map(one, targets) if sha}


def _announced(session: Session, changes: list[HeadChange]) -> set[tuple[uuid.UUID, str]]:
    """(connection, head) pairs a stored webhook delivery already covers."""
    if not changes:
        return set()
    pairs = [(c.connection_id, c.new_sha) for c in changes]
    rows = session.execute(
        select(WebhookEvent.connection_id, WebhookEvent.after_sha).where(
            tuple_(WebhookEvent.connection_id, WebhookEvent.after_sha).in_(pairs)
        )
    ).all()
    return {(r.connection_id, r.after_sha) for r in rows}


def poll_heads(
    session: Session,
    ls_remote: LsRemote = git_ls_remote,
    known: Mapping[str, str] | None = None,
) -> list[HeadChange]:
    """Connections whose followed branch head moved since last seen.

    `known` maps connection ids (as strings) to the head the caller last saw, e.g. a sensor cursor;
    a connection missing from it is compared with the head recorded in the catalog.
    """
    known = known or {}
    targets = poll_targets(session)
    heads = _heads(targets, ls_remote)
    changes: list[HeadChange] = []
    for target in targets:
        head = heads.get(target.connection_id)
        seen = known.get(str(target.connection_id), target.recorded_sha)
        if head and head != seen:
            changes.append(HeadChange(target.name, target.connection_id, seen, head))
    announced = _announced(session, changes)
    return [
        HeadChange(
            c.connection, c.connection_id, c.old_sha, c.new_sha, (c.connection_id, c.new_sha) in announced
        )
        for c in changes
    ]
