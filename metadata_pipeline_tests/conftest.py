"""Shared fixtures: a real PostgreSQL (one fresh database per test, cloned from a migrated template),
SQLite files, and real git repositories with local bare remotes."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import Engine

from metadata_pipeline.catalog.database import (
    Tenant,
    ensure_default_tenant,
    make_engine,
    session_scope,
    upgrade,
)

PG_ADMIN_DSN = os.environ.get("METADATA_PIPELINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_START_COMMAND = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"]


def _pg_connect():  # type: ignore[no-untyped-def]
    conn = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    conn.autocommit = True
    return conn


def _ensure_postgres_running() -> None:
    """PostgreSQL tests never skip: start the server if it is down, fail loudly if that fails."""
    try:
        _pg_connect().close()
        return
    except psycopg2.OperationalError:
        pass
    result = subprocess.run(PG_START_COMMAND, capture_output=True, text=True)
    try:
        _pg_connect().close()
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_DSN} and `{' '.join(PG_START_COMMAND)}` did not "
            f"start it: {result.stderr.strip() or exc}",
            pytrace=False,
        )


def _pg_url(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once per test session; each test clones it (CREATE DATABASE ... TEMPLATE)."""
    _ensure_postgres_running()
    name = f"mp_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn = _pg_connect()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def new_pg_database(template: str) -> str:
    name = f"mp_test_{uuid.uuid4().hex[:12]}"
    conn = _pg_connect()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    return name


def drop_pg_database(name: str) -> None:
    conn = _pg_connect()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty catalog on each backend: every catalog test runs on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
        upgrade(url)
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = new_pg_database(template)
    try:
        yield _pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture
def pg_catalog_url(pg_template: str) -> Iterator[str]:
    """A migrated, empty PostgreSQL catalog, for the tests of PostgreSQL-only features."""
    name = new_pg_database(pg_template)
    try:
        yield _pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture
def catalog_engine(catalog_url: str) -> Iterator[Engine]:
    engine = make_engine(catalog_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tenant(catalog_engine: Engine) -> Tenant:
    with session_scope(catalog_engine) as session:
        return ensure_default_tenant(session)


def git(*args: str, cwd: Path | None = None, who: tuple[str, str] = ("Test", "test@example.com")) -> str:
    """Run git as `who` (name, email); a failure raises with git's own message."""
    name, email = who
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


class GitRemote:
    """A local bare repository acting as a remote, with a working clone to push commits from."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.bare = root / "remote.git"
        self.work = root / "work"
        self.branch = branch
        git("init", "--bare", "-q", "-b", branch, str(self.bare))
        git("clone", "-q", str(self.bare), str(self.work))
        git("checkout", "-q", "-B", branch, cwd=self.work)

    @property
    def url(self) -> str:
        return str(self.bare)

    def commit_all(self, message: str = "change") -> str:
        """Commit and push whatever the working clone holds now."""
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", self.branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def commit_files(self, files: dict[str, str], message: str = "change") -> str:
        for rel, content in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", self.branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def git_remote(tmp_path: Path) -> GitRemote:
    return GitRemote(tmp_path / "git")
