"""Which registered repository a webhook delivery is about: a dbt repository (connection) or a
metadata repository (a workspace's remote), matched on normalized URLs or `owner/name`."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, select

from metadata_pipeline.catalog.models import Connection, Workspace
from metadata_pipeline.webhooks.payloads import Delivery, repo_key


@dataclass(frozen=True)
class Target:
    """A registered repository a delivery can belong to: a dbt repo (connection) or a metadata repo."""

    kind: Literal["connection", "workspace"]
    id: uuid.UUID
    company_id: uuid.UUID
    name: str
    branch: str | None  # the branch it follows; None = the repository's default branch
    secret_env: str | None  # name of the env var holding its own webhook secret


@dataclass(frozen=True)
class Match:
    connection: Target | None
    workspace: Target | None

    @property
    def company_id(self) -> uuid.UUID:
        owner = self.connection or self.workspace
        assert owner is not None
        return owner.company_id

    @property
    def secret_envs(self) -> tuple[str, ...]:
        return tuple(t.secret_env for t in (self.connection, self.workspace) if t and t.secret_env)


class _Snapshot:
    """Targets indexed by normalized URL and by `owner/name` path, loaded in one read."""

    def __init__(self, targets: Iterable[tuple[str, Target]]) -> None:
        self.by_url: dict[str, list[Target]] = {}
        self.by_path: dict[str, list[Target]] = {}
        for url, target in targets:
            key = repo_key(url)
            self.by_url.setdefault(key, []).append(target)
            host, sep, path = key.partition("/")
            if sep and host and path:  # a hosted URL; local paths have no owner/name
                self.by_path.setdefault(path, []).append(target)

    def candidates(self, delivery: Delivery) -> list[Target]:
        found: list[Target] = []
        for url in delivery.repo_urls:
            found += [t for t in self.by_url.get(repo_key(url), []) if t not in found]
        if not found and delivery.full_name:
            # Only when no URL matched: `owner/name` alone could name a repo on another host.
            found = list(self.by_path.get(delivery.full_name.strip().lower(), []))
        return found


def _load_targets(engine: Engine) -> _Snapshot:
    # Reads across companies: the receiver must run as a role that row-level security lets through.
    with engine.connect() as conn:
        connections = conn.execute(
            select(
                Connection.connection_id,
                Connection.company_id,
                Connection.name,
                Connection.url,
                Connection.branch,
                Connection.webhook_secret_env,
            ).order_by(Connection.name)
        ).all()
        workspaces = conn.execute(
            select(
                Workspace.workspace_id,
                Workspace.company_id,
                Workspace.name,
                Workspace.remote_url,
                Workspace.source_branch,
            )
            .where(Workspace.remote_url.is_not(None))
            .order_by(Workspace.name)
        ).all()
    targets = [
        (r.url, Target("connection", r.connection_id, r.company_id, r.name, r.branch, r.webhook_secret_env))
        for r in connections
    ]
    targets += [
        (r.remote_url, Target("workspace", r.workspace_id, r.company_id, r.name, r.source_branch, None))
        for r in workspaces
    ]
    return _Snapshot(targets)


def _best(candidates: list[Target], kind: str, branch: str | None) -> Target | None:
    """The target following the pushed branch, else one following the default branch, else any."""
    of_kind = [t for t in candidates if t.kind == kind]
    for wanted in (branch, None):
        for target in of_kind:
            if target.branch == wanted:
                return target
    return of_kind[0] if of_kind else None


class RepositoryIndex:
    """Registered repositories, cached for `ttl_seconds` so each delivery is not a table scan.

    A miss reloads at once, so a repository registered a moment ago is never answered 404.
    """

    def __init__(
        self, engine: Engine, ttl_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None

    def _current(self, force: bool = False) -> _Snapshot:
        with self._lock:
            now = self._clock()
            if force or self._snapshot is None or now - self._loaded_at > self._ttl:
                self._snapshot = _load_targets(self._engine)
                self._loaded_at = now
            return self._snapshot

    def match(self, delivery: Delivery) -> Match | None:
        candidates = self._current().candidates(delivery)
        if not candidates:
            candidates = self._current(force=True).candidates(delivery)
        if not candidates:
            return None
        return Match(
            connection=_best(candidates, "connection", delivery.branch),
            workspace=_best(candidates, "workspace", delivery.branch),
        )
