"""Branch-head polling against real local bare repositories, on SQLite and PostgreSQL catalogs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, update

from metadata_pipeline.catalog import Tenant, add_repository, session_scope
from metadata_pipeline.catalog.models import Connection
from metadata_pipeline.webhooks import HeadChange, poll_heads
from metadata_pipeline_tests.conftest import GitRemote
from metadata_pipeline_tests.webhooks.helpers import deliver, github_push


def _register(engine: Engine, tenant: Tenant, name: str, url: str, branch: str | None = "main") -> None:
    with session_scope(engine) as session:
        add_repository(session, tenant, name, url, branch=branch)


def _poll(engine: Engine, known: dict[str, str] | None = None) -> list[HeadChange]:
    with session_scope(engine) as session:
        return poll_heads(session, known=known)


def test_a_moved_head_fires_once(catalog_engine: Engine, tenant: Tenant, git_remote: GitRemote) -> None:
    first = git_remote.commit_files({"models/a.sql": "select 1"})
    _register(catalog_engine, tenant, "shop", git_remote.url)

    [initial] = _poll(catalog_engine)  # never extracted, never seen: its head is news
    assert (initial.connection, initial.old_sha, initial.new_sha) == ("shop", None, first)
    cursor = {str(initial.connection_id): initial.new_sha}
    assert _poll(catalog_engine, cursor) == []  # the same head again: nothing

    second = git_remote.commit_files({"models/a.sql": "select 2"})
    [moved] = _poll(catalog_engine, cursor)
    assert (moved.old_sha, moved.new_sha, moved.covered_by_webhook) == (first, second, False)
    assert _poll(catalog_engine, {str(moved.connection_id): second}) == []


def test_without_a_cursor_the_recorded_head_is_the_baseline(
    catalog_engine: Engine, tenant: Tenant, git_remote: GitRemote
) -> None:
    head = git_remote.commit_files({"a.sql": "select 1"})
    _register(catalog_engine, tenant, "shop", git_remote.url)
    with session_scope(catalog_engine) as session:
        session.execute(update(Connection).values(last_extracted_sha=head))
    assert _poll(catalog_engine) == []


def test_a_head_a_webhook_already_announced_is_flagged(
    catalog_engine: Engine, tenant: Tenant, git_remote: GitRemote
) -> None:
    head = git_remote.commit_files({"a.sql": "select 1"})
    _register(catalog_engine, tenant, "shop", git_remote.url)
    deliver(catalog_engine, github_push(clone_url=git_remote.url, full_name="local/shop", after=head))
    [change] = _poll(catalog_engine)
    assert change.new_sha == head and change.covered_by_webhook is True


def test_an_unreachable_remote_does_not_stop_the_others(
    catalog_engine: Engine, tenant: Tenant, git_remote: GitRemote, tmp_path: Path
) -> None:
    head = git_remote.commit_files({"a.sql": "select 1"})
    _register(catalog_engine, tenant, "gone", str(tmp_path / "missing.git"))
    _register(catalog_engine, tenant, "missing-branch", git_remote.url, branch="nope")
    _register(catalog_engine, tenant, "shop", git_remote.url, branch=None)  # follows the remote's HEAD
    assert [(c.connection, c.new_sha) for c in _poll(catalog_engine)] == [("shop", head)]


def test_inactive_connections_are_not_polled(
    catalog_engine: Engine, tenant: Tenant, git_remote: GitRemote
) -> None:
    git_remote.commit_files({"a.sql": "select 1"})
    _register(catalog_engine, tenant, "shop", git_remote.url)
    with session_scope(catalog_engine) as session:
        session.execute(update(Connection).values(is_active=False))
    assert _poll(catalog_engine) == []
