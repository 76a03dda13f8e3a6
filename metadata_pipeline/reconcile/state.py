"""Loading what the catalog holds, in a handful of set-based queries (never one query per row)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import (
    Column,
    Dataset,
    DatasetDependency,
    Lineage,
    ProjectDataset,
    WorkspaceDataset,
)

DATASETS: Table = Dataset.__table__  # type: ignore[assignment]
COLUMNS: Table = Column.__table__  # type: ignore[assignment]
DEPENDENCIES: Table = DatasetDependency.__table__  # type: ignore[assignment]
LINEAGE: Table = Lineage.__table__  # type: ignore[assignment]
PROJECT_LINKS: Table = ProjectDataset.__table__  # type: ignore[assignment]
WORKSPACE_LINKS: Table = WorkspaceDataset.__table__  # type: ignore[assignment]

# Well under SQLite's 32,766 bound parameters, and small enough for PostgreSQL to plan quickly.
CHUNK = 2000
T = TypeVar("T")
Row = dict[str, Any]
LineageKey = tuple[uuid.UUID, uuid.UUID | None, str, str | None]

# What deciding *whether* to diff a dataset needs; the rest is loaded only for datasets that changed.
_LIGHT = (
    "dataset_id",
    "fqn",
    "name",
    "unique_id",
    "connection_id",
    "resource_type",
    "file_path",
    "content_hash",
    "reconcile_hash",
    "status",
    "missing_runs",
    "deprecated_at",
    "deleted_at",
    "has_uncommitted_changes",
    "sync_status",
)
_HEAVY_SKIP = frozenset({"metadata", "created_at", "updated_at", "company_id"})
_COLUMN_SKIP = frozenset({"created_at", "updated_at", "company_id"})


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows(session: Session, stmt: Select[Any]) -> list[Row]:
    return [dict(r._mapping) for r in session.execute(stmt)]


def _in_chunks(
    session: Session, stmt: Select[Any], column: ColumnElement[Any], values: Iterable[Any]
) -> list[Row]:
    out: list[Row] = []
    for batch in chunked(sorted(set(values), key=str)):
        out.extend(_rows(session, stmt.where(column.in_(batch))))
    return out


def light_datasets(session: Session, company_id: uuid.UUID, connection_id: uuid.UUID | None) -> list[Row]:
    """Every dataset of this connection; without a connection, the connection-less datasets an
    extraction created (never a person's hand-made ones, which no extraction would list)."""
    cols = [DATASETS.c[name] for name in _LIGHT]
    owner = (
        DATASETS.c.connection_id.is_(None) & DATASETS.c.extracted_from.is_not(None)
        if connection_id is None
        else DATASETS.c.connection_id == connection_id
    )
    return _rows(session, select(*cols).where(DATASETS.c.company_id == company_id, owner))


def light_datasets_by_fqn(session: Session, company_id: uuid.UUID, fqns: Iterable[str]) -> list[Row]:
    cols = [DATASETS.c[name] for name in _LIGHT]
    stmt = select(*cols).where(DATASETS.c.company_id == company_id)
    return _in_chunks(session, stmt, DATASETS.c.fqn, fqns)


def dataset_details(session: Session, dataset_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    cols = [c for c in DATASETS.c if c.name not in _HEAVY_SKIP]
    rows = _in_chunks(session, select(*cols), DATASETS.c.dataset_id, dataset_ids)
    return {r["dataset_id"]: r for r in rows}


def columns_of(session: Session, dataset_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Row]]:
    cols = [c for c in COLUMNS.c if c.name not in _COLUMN_SKIP]
    out: dict[uuid.UUID, dict[str, Row]] = defaultdict(dict)
    for row in _in_chunks(session, select(*cols), COLUMNS.c.dataset_id, dataset_ids):
        out[row["dataset_id"]][row["name"]] = row
    return out


def column_ids_of(
    session: Session, dataset_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Just (dataset, name) -> id, for columns lineage points at in datasets that did not change."""
    stmt = select(COLUMNS.c.column_id, COLUMNS.c.dataset_id, COLUMNS.c.name)
    return {
        (r["dataset_id"], r["name"]): r["column_id"]
        for r in _in_chunks(session, stmt, COLUMNS.c.dataset_id, dataset_ids)
    }


def dependencies_of(
    session: Session, downstream_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, Row]]:
    cols = [c for c in DEPENDENCIES.c if c.name not in _COLUMN_SKIP]
    out: dict[uuid.UUID, dict[uuid.UUID, Row]] = defaultdict(dict)
    for row in _in_chunks(session, select(*cols), DEPENDENCIES.c.downstream_dataset_id, downstream_ids):
        out[row["downstream_dataset_id"]][row["upstream_dataset_id"]] = row
    return out


def lineage_key(row: Row) -> LineageKey:
    return (row["downstream_column_id"], row["upstream_column_id"], row["lineage_type"], row["role"])


def lineage_of(
    session: Session, downstream_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[LineageKey, Row]]:
    cols = [c for c in LINEAGE.c if c.name not in _COLUMN_SKIP]
    out: dict[uuid.UUID, dict[LineageKey, Row]] = defaultdict(dict)
    for row in _in_chunks(session, select(*cols), LINEAGE.c.downstream_dataset_id, downstream_ids):
        out[row["downstream_dataset_id"]][lineage_key(row)] = row
    return out


def lineage_reading(session: Session, column_ids: Sequence[uuid.UUID]) -> list[Row]:
    """Lineage rows whose upstream is one of these columns (about to be removed)."""
    cols = [c for c in LINEAGE.c if c.name not in _COLUMN_SKIP]
    return _in_chunks(session, select(*cols), LINEAGE.c.upstream_column_id, column_ids)


def linked_datasets(session: Session, table: Table, scope_column: str, scope_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(table.c.dataset_id).where(table.c[scope_column] == scope_id)
    return set(session.scalars(stmt))
