"""Fixtures for sync tests: settings in a temp home, a metadata remote per test, a fake GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from metadata_pipeline.catalog.database import Tenant
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.git_remote import GitProvider
from metadata_pipeline.sync.github_provider import GitHubProvider
from metadata_pipeline.sync.providers import SourceControlProvider
from metadata_pipeline.sync.workspaces import add_workspace
from metadata_pipeline_tests.sync.github_server import FakeGitHub
from metadata_pipeline_tests.sync.helpers import Clone, init_bare

TOKEN = "ghp_TESTTOKEN_never_logged_0123456789"


@pytest.fixture
def settings(tmp_path: Path, catalog_url: str) -> Settings:
    return Settings(home=tmp_path / "home", catalog_url=catalog_url)


@dataclass
class Remote:
    """The workspace's metadata remote and a person's clone of it."""

    bare: Path
    clone: Clone


@pytest.fixture
def remote(tmp_path: Path, catalog_engine: Engine, tenant: Tenant) -> Remote:
    """Workspace `main` configured on a fresh bare repository (with a README outside the prefix)."""
    bare = init_bare(tmp_path / "metadata.git")
    clone = Clone(bare, tmp_path / "people" / "jane")
    clone.push({"README.md": "# metadata\n"}, "initial commit")
    add_workspace(catalog_engine, tenant, "main", str(bare))
    return Remote(bare, clone)


@dataclass
class ProviderCase:
    kind: str
    provider: SourceControlProvider
    bare: Path
    clone: Clone
    server: FakeGitHub | None = None


def github_provider(server: FakeGitHub) -> GitHubProvider:
    # No pacing against a local server (PyGithub waits 1 s between writes by default, for github.com).
    return GitHubProvider(
        server.full_name,
        TOKEN,
        base_url=server.base_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


@pytest.fixture(params=["git", "github"])
def provider_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProviderCase]:
    """The same provider suite runs on plain git (local bare repo) and on GitHub (PyGithub client)."""
    bare = init_bare(tmp_path / "remote.git")
    clone = Clone(bare, tmp_path / "clone")
    if request.param == "git":
        yield ProviderCase("git", GitProvider(str(bare), tmp_path / "cache" / "remote"), bare, clone)
        return
    server = FakeGitHub(bare, TOKEN).start()
    provider = github_provider(server)
    try:
        yield ProviderCase("github", provider, bare, clone, server)
    finally:
        provider.close()
        server.stop()
