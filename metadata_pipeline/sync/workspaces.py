"""Workspace configuration: which remote, branch and folder a workspace syncs with, and its provider.

A workspace without a remote (the default `main` on a fresh machine) commits to a bare repository the
pipeline creates under `Settings.metadata_remote_dir`, so metadata-as-code works with no setup.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import Workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.errors import CredentialError, SyncError
from metadata_pipeline.sync.git_remote import GitProvider, cache_dir_for, redact
from metadata_pipeline.sync.layout import normalize_prefix
from metadata_pipeline.sync.providers import SourceControlProvider

SUPPORTED_PROVIDERS = ("git", "github")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[^\s~^:?*\[\\\x00-\x1f]+(?<!/)(?<!\.lock)(?<!\.)$")


@dataclass(frozen=True)
class WorkspaceView:
    name: str
    provider: str
    remote: str
    branch: str
    path_prefix: str
    credential_env: str | None
    source_commit_sha: str | None
    last_synced_at: datetime | None
    default_remote: bool  # the pipeline-managed bare repository


def get_workspace(session: Session, tenant: Tenant, name: str) -> Workspace:
    set_company(session, tenant.company_id)
    found = session.scalar(
        select(Workspace).where(
            Workspace.company_id == tenant.company_id,
            Workspace.project_id == tenant.project_id,
            Workspace.name == name,
        )
    )
    if found is None:
        names = session.scalars(
            select(Workspace.name).where(Workspace.company_id == tenant.company_id).order_by(Workspace.name)
        ).all()
        raise SyncError(f"no workspace named {name!r} (configured: {', '.join(names) or 'none'})")
    return found


def _validate(name: str, branch: str, provider: str, credential_env: str | None) -> None:
    if not name.strip():
        raise SyncError("a workspace needs a name")
    if provider not in SUPPORTED_PROVIDERS:
        raise SyncError(f"provider must be one of {', '.join(SUPPORTED_PROVIDERS)}, not {provider!r}")
    if not _BRANCH.match(branch):
        raise SyncError(f"{branch!r} is not a valid branch name")
    if credential_env is not None and not _ENV_NAME.match(credential_env):
        raise SyncError(f"--credential-env takes the NAME of an environment variable, not {credential_env!r}")


def _is_local_path(remote: str) -> bool:
    return "://" not in remote and not re.match(r"^[\w.-]+@[\w.-]+:", remote)


def add_workspace(
    engine: Engine,
    tenant: Tenant,
    name: str,
    remote: str,
    branch: str = "main",
    path_prefix: str = "datasets",
    provider: str = "git",
    credential_env: str | None = None,
) -> WorkspaceView:
    """Configure a workspace. The default `main` exists unconfigured; it can be given a remote once."""
    _validate(name, branch, provider, credential_env)
    if provider == "github":
        from metadata_pipeline.sync.github_provider import parse_github_remote

        parse_github_remote(remote)  # refuse an unreadable repository name now, not at first commit
    prefix = normalize_prefix(path_prefix)
    if provider == "git" and _is_local_path(remote):
        remote = str(Path(remote).expanduser().resolve())  # the cache clone runs elsewhere
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        row = session.scalar(
            select(Workspace).where(
                Workspace.company_id == tenant.company_id,
                Workspace.project_id == tenant.project_id,
                Workspace.name == name,
            )
        )
        if row is not None and (row.remote_url or row.source_commit_sha):
            raise SyncError(f"workspace {name!r} already exists and has synced; pick another name")
        if row is None:
            row = Workspace(company_id=tenant.company_id, project_id=tenant.project_id, name=name)
            session.add(row)
        row.remote_url = remote
        row.source_branch = branch
        row.path_prefix = prefix
        row.source_provider = provider
        row.credential_env = credential_env
        session.flush()
        return _view(row, None)


def list_workspaces(engine: Engine, tenant: Tenant, settings: Settings | None = None) -> list[WorkspaceView]:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        rows = session.scalars(
            select(Workspace)
            .where(Workspace.company_id == tenant.company_id, Workspace.project_id == tenant.project_id)
            .order_by(Workspace.name)
        ).all()
        return [_view(r, settings) for r in rows]


def _view(row: Workspace, settings: Settings | None) -> WorkspaceView:
    default = row.remote_url is None
    remote = row.remote_url or (str(settings.metadata_remote_dir) if settings else "(pipeline-managed)")
    return WorkspaceView(
        name=row.name,
        provider=row.source_provider,
        remote=redact(remote),
        branch=row.source_branch,
        path_prefix=row.path_prefix,
        credential_env=row.credential_env,
        source_commit_sha=row.source_commit_sha,
        last_synced_at=row.last_synced_at,
        default_remote=default,
    )


def ensure_default_remote(settings: Settings, branch: str) -> Path:
    """The pipeline-managed bare repository, created on first use."""
    path = settings.metadata_remote_dir
    if not (path / "HEAD").exists():
        path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["git", "init", "--bare", "-q", "-b", branch, str(path)], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SyncError(f"cannot create the metadata repository at {path}: {result.stderr.strip()}")
    return path


def read_token(credential_env: str | None) -> str | None:
    if not credential_env:
        return None
    token = os.environ.get(credential_env, "")
    if not token:
        raise CredentialError(
            f"environment variable {credential_env} (the workspace's credential) is not set"
        )
    return token


def open_provider(settings: Settings, workspace: Workspace) -> SourceControlProvider:
    """The provider for a workspace; the token is read from its environment variable here, only."""
    token = read_token(workspace.credential_env)
    if workspace.source_provider == "github":
        from metadata_pipeline.sync.github_provider import GitHubProvider, parse_github_remote

        if not workspace.remote_url:
            raise SyncError(f"workspace {workspace.name!r} uses GitHub but has no repository configured")
        base_url, repository = parse_github_remote(workspace.remote_url)
        return GitHubProvider(repository, token, base_url=base_url)
    if workspace.source_provider != "git":
        raise SyncError(
            f"workspace {workspace.name!r}: provider {workspace.source_provider!r} is not supported"
        )
    remote = workspace.remote_url or str(ensure_default_remote(settings, workspace.source_branch))
    return GitProvider(remote, cache_dir_for(settings.cache_dir / "metadata-remotes", remote), token=token)
