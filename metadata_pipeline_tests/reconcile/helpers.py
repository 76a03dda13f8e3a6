"""Shared helpers of the reconcile tests: running a reconcile, reading the catalog back, counting writes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, func, select, text

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import (
    AuditLog,
    Column,
    Dataset,
    DatasetDependency,
    Lineage,
    ProjectDataset,
    SchemaVersion,
    WorkspaceDataset,
)
from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.reconcile import ReconcileOptions, ReconcileResult, Suggestions, reconcile_extraction

COUNTED = (
    Dataset,
    Column,
    DatasetDependency,
    Lineage,
    ProjectDataset,
    WorkspaceDataset,
    AuditLog,
    SchemaVersion,
)
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|COPY)\b", re.IGNORECASE)


def run(
    engine: Engine,
    tenant: Tenant,
    connection_id: uuid.UUID | None,
    project: tuple[Extraction, Sequence[ColumnEdge]],
    *,
    suggestions: Suggestions | None = None,
    **options: Any,
) -> ReconcileResult:
    extraction, edges = project
    return reconcile_extraction(
        engine,
        tenant=tenant,
        connection_id=connection_id,
        extraction=extraction,
        column_edges=edges,
        suggestions=suggestions,
        options=ReconcileOptions(**{"lock_wait_s": 5.0, **options}),
    )


def counts(engine: Engine, tenant: Tenant) -> dict[str, int]:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in COUNTED
        }


def datasets(engine: Engine) -> dict[str, Dataset]:
    with session_scope(engine) as session:
        return {d.fqn: d for d in session.scalars(select(Dataset))}


def columns(engine: Engine, fqn: str) -> dict[str, Column]:
    with session_scope(engine) as session:
        stmt = select(Column).join(Dataset, Dataset.dataset_id == Column.dataset_id).where(Dataset.fqn == fqn)
        return {c.name: c for c in session.scalars(stmt)}


def lineage_rows(engine: Engine) -> list[Lineage]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Lineage)))


def audit_rows(engine: Engine, **where: Any) -> list[AuditLog]:
    with session_scope(engine) as session:
        stmt = select(AuditLog).filter_by(**where).order_by(AuditLog.changed_at)
        return list(session.scalars(stmt))


def versions(engine: Engine) -> list[SchemaVersion]:
    with session_scope(engine) as session:
        return list(session.scalars(select(SchemaVersion).order_by(SchemaVersion.version_number)))


@contextmanager
def recorded_writes(engine: Engine) -> Iterator[list[str]]:
    """Every INSERT/UPDATE/DELETE the engine sends, except the workspace lock's own bookkeeping."""
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _WRITE.match(statement) and "dataset_locks" not in statement:
            writes.append(statement.split("\n")[0][:120])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", record)


# Orphans and half-written state that a consistent catalog never holds (each query must return 0).
CONSISTENCY_CHECKS = {
    "column without dataset": "SELECT count(*) FROM columns c LEFT JOIN datasets d ON d.dataset_id = c.dataset_id "
    "WHERE d.dataset_id IS NULL",
    "lineage without column": "SELECT count(*) FROM lineage l LEFT JOIN columns c "
    "ON c.column_id = l.downstream_column_id WHERE c.column_id IS NULL",
    "lineage on another dataset's column": "SELECT count(*) FROM lineage l JOIN columns c "
    "ON c.column_id = l.downstream_column_id WHERE c.dataset_id <> l.downstream_dataset_id",
    "dataset outside the workspace": "SELECT count(*) FROM datasets d LEFT JOIN workspace_datasets w "
    "ON w.dataset_id = d.dataset_id WHERE w.dataset_id IS NULL",
    "dataset outside the project": "SELECT count(*) FROM datasets d LEFT JOIN project_datasets p "
    "ON p.dataset_id = d.dataset_id WHERE p.dataset_id IS NULL",
    "dataset without its created audit row": "SELECT count(*) FROM datasets d WHERE NOT EXISTS "
    "(SELECT 1 FROM audit_logs a WHERE a.entity_id = d.dataset_id AND a.change_type = 'created')",
    "audit row of a run without its version": "SELECT count(*) FROM audit_logs a WHERE a.actor LIKE 'extraction%' "
    "AND NOT EXISTS (SELECT 1 FROM schema_versions v WHERE v.created_at >= a.changed_at)",
    "model without columns": "SELECT count(*) FROM datasets d WHERE d.resource_type = 'model' AND NOT EXISTS "
    "(SELECT 1 FROM columns c WHERE c.dataset_id = d.dataset_id)",
}


def inconsistencies(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = {name: conn.execute(text(sql)).scalar_one() for name, sql in CONSISTENCY_CHECKS.items()}
    return {name: n for name, n in found.items() if n}
