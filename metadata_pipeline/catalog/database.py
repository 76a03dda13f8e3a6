"""Engines, sessions, migrations and tenant context for the catalog database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from metadata_pipeline.catalog.models import Company, Project, Workspace
from metadata_pipeline.errors import PipelineError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_COMPANY = "default"
DEFAULT_PROJECT = "default"
DEFAULT_WORKSPACE = "main"


class CatalogError(PipelineError):
    """A catalog problem a user can act on (unreachable database, schema not upgraded...)."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # SQLite leaves foreign keys off by default: without this an orphan column would be accepted.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: object) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)  # type: ignore[arg-type]


@lru_cache(maxsize=16)
def cached_engine(url: str) -> Engine:
    """One engine per URL per process: engines own connection pools and are meant to be shared."""
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def set_company(session: Session, company_id: uuid.UUID | str) -> None:
    """Scope this session's transaction to one company (row-level security on PostgreSQL).

    `set_config(..., true)` is transaction-local, so a pooled connection never leaks a tenant.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('app.company_id', :cid, true)"), {"cid": str(company_id)})


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a URL-encoded password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations; running it again on an up-to-date database changes nothing."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaStatus(current=current, head=script.get_current_head() or "")


def require_current_schema(engine: Engine) -> None:
    status = schema_status(engine)
    if not status.up_to_date:
        raise CatalogError(
            f"catalog schema is at {status.current or 'nothing'}, expected {status.head}: "
            "run `metadata-pipeline db upgrade`"
        )


@dataclass(frozen=True)
class Tenant:
    """The company, project and default workspace a run works in."""

    company_id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID


def ensure_default_tenant(session: Session, company: str = DEFAULT_COMPANY) -> Tenant:
    """Create (once) the default company, project and `main` workspace the embedded setup uses."""
    company_row = session.scalar(select(Company).where(Company.name == company))
    if company_row is None:
        company_row = Company(name=company, company_type="organization")
        session.add(company_row)
        session.flush()
    set_company(session, company_row.company_id)
    project = session.scalar(
        select(Project).where(Project.company_id == company_row.company_id, Project.name == DEFAULT_PROJECT)
    )
    if project is None:
        project = Project(company_id=company_row.company_id, name=DEFAULT_PROJECT, visibility="private")
        session.add(project)
        session.flush()
    workspace = session.scalar(
        select(Workspace).where(
            Workspace.company_id == company_row.company_id,
            Workspace.project_id == project.project_id,
            Workspace.name == DEFAULT_WORKSPACE,
        )
    )
    if workspace is None:
        workspace = Workspace(
            company_id=company_row.company_id,
            project_id=project.project_id,
            name=DEFAULT_WORKSPACE,
            source_branch="main",
            source_provider="git",
        )
        session.add(workspace)
        session.flush()
    return Tenant(company_row.company_id, project.project_id, workspace.workspace_id)
