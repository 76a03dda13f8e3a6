"""Registering and listing the dbt repositories (connections) the pipeline ingests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, set_company
from metadata_pipeline.catalog.models import PROVIDERS, Connection
from metadata_pipeline.errors import PipelineError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Key in a connection's JSON `configuration`: produce a manifest with `dbt parse` when the repository
# commits none (needs dbt and the project's adapter installed where the pipeline runs).
DBT_PARSE_KEY = "dbt_parse"


class RegistryError(PipelineError, ValueError):
    """A repository registration a user must correct (bad name, duplicate, unknown provider)."""


@dataclass(frozen=True)
class RepositoryInfo:
    name: str
    url: str
    branch: str | None
    subdirectory: str | None
    provider: str
    last_extracted_sha: str | None
    status: str
    dbt_parse: bool = False


def _info(row: Connection) -> RepositoryInfo:
    return RepositoryInfo(
        name=row.name,
        url=row.url,
        branch=row.branch,
        subdirectory=row.subdirectory,
        provider=row.provider,
        last_extracted_sha=row.last_extracted_sha,
        status=row.status,
        dbt_parse=dbt_parse_enabled(row),
    )


def dbt_parse_enabled(row: Connection) -> bool:
    """Whether this connection opted in to `dbt parse` for projects that commit no manifest."""
    return bool((row.configuration or {}).get(DBT_PARSE_KEY))


def add_repository(
    session: Session,
    tenant: Tenant,
    name: str,
    url: str,
    *,
    branch: str | None = None,
    subdirectory: str | None = None,
    provider: str = "git",
    credential_env: str | None = None,
    webhook_secret_env: str | None = None,
    replace: bool = False,
    dbt_parse: bool = False,
) -> RepositoryInfo:
    """Register a dbt repository; with `replace`, update an existing one of the same name instead.

    `dbt_parse` opts the repository in to producing a manifest with `dbt parse` where it commits none.
    """
    if not _NAME_RE.match(name):
        raise RegistryError(
            f"repository name {name!r} must start with a letter or digit and use only letters, digits, '_', '.', '-'"
        )
    if provider not in PROVIDERS:
        raise RegistryError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    set_company(session, tenant.company_id)
    row = session.scalar(
        select(Connection).where(Connection.company_id == tenant.company_id, Connection.name == name)
    )
    if row is not None and not replace:
        raise RegistryError(f"a repository named {name!r} is already registered ({row.url})")
    if row is None:
        row = Connection(company_id=tenant.company_id, project_id=tenant.project_id, name=name, url=url)
        session.add(row)
    row.url = url
    row.branch = branch
    row.subdirectory = subdirectory
    row.provider = provider
    row.credential_env = credential_env
    row.webhook_secret_env = webhook_secret_env
    row.workspace_id = tenant.workspace_id
    if dbt_parse_enabled(row) != dbt_parse:
        # The last extraction was read the other way: let the next run redo it even at the same head.
        row.last_extracted_sha = None
    configuration = {k: v for k, v in (row.configuration or {}).items() if k != DBT_PARSE_KEY}
    if dbt_parse:
        configuration[DBT_PARSE_KEY] = True
    # A new dict, not an in-place edit, so the JSON column is seen as changed; an opted-out row with
    # nothing else configured keeps NULL, as before the option existed.
    row.configuration = configuration or None
    session.flush()
    return _info(row)


def list_repositories(session: Session, tenant: Tenant) -> list[RepositoryInfo]:
    set_company(session, tenant.company_id)
    rows = session.scalars(
        select(Connection).where(Connection.company_id == tenant.company_id).order_by(Connection.name)
    )
    return [_info(r) for r in rows]


def get_repository(session: Session, tenant: Tenant, name: str) -> Connection:
    row = session.scalar(
        select(Connection).where(Connection.company_id == tenant.company_id, Connection.name == name)
    )
    if row is None:
        known = ", ".join(r.name for r in list_repositories(session, tenant)) or "none"
        raise RegistryError(f"no repository named {name!r} (registered: {known})")
    return row
