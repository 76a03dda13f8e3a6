"""Audit rows: one per changed field (or per created/deleted entity), written in bulk at the end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from metadata_pipeline.catalog.models import AuditLog

AUDIT = AuditLog.__table__
# Large texts are summarised in a created/deleted entity's snapshot (the field rows carry them in full).
_SNAPSHOT_SKIP = frozenset(
    {
        "definition",
        "compiled_definition",
        "suggested_values",
        "field_sources",
        "human_edited_fields",
        "company_id",
        "reconcile_hash",
    }
)


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it (UUIDs and timestamps as strings)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """A compact picture of an entity for its created/deleted audit row.

    Callers pass JSON-ready values (ids as strings): this runs for every created column and edge.
    """
    return {k: v for k, v in values.items() if v is not None and k not in _SNAPSHOT_SKIP}


AUDIT_COLUMNS = (
    "change_id",
    "company_id",
    "dataset_id",
    "workspace_id",
    "change_type",
    "entity_type",
    "entity_id",
    "field_name",
    "old_value",
    "new_value",
    "actor",
    "extraction_job_id",
)


@dataclass
class AuditTrail:
    """Collects audit rows (tuples in AUDIT_COLUMNS order) for one reconcile, and the datasets they touch."""

    company_id: uuid.UUID
    workspace_id: uuid.UUID | None
    actor: str
    job_id: uuid.UUID | None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    touched: set[uuid.UUID] = field(default_factory=set)

    def add(
        self,
        change_type: str,
        entity_type: str,
        entity_id: uuid.UUID | None,
        dataset_id: uuid.UUID | None,
        field_name: str | None = None,
        old: Any = None,
        new: Any = None,
        actor: str | None = None,
    ) -> None:
        self._append(
            change_type, entity_type, entity_id, dataset_id, field_name, jsonable(old), jsonable(new), actor
        )

    def _append(
        self,
        change_type: str,
        entity_type: str,
        entity_id: uuid.UUID | None,
        dataset_id: uuid.UUID | None,
        field_name: str | None,
        old: Any,
        new: Any,
        actor: str | None = None,
    ) -> None:
        self.rows.append(
            (
                uuid.uuid4(),
                self.company_id,
                dataset_id,
                self.workspace_id,
                change_type,
                entity_type,
                entity_id,
                field_name,
                old,
                new,
                (actor or self.actor)[:255],
                self.job_id,
            )
        )
        if dataset_id is not None:
            self.touched.add(dataset_id)

    def created(
        self, entity_type: str, entity_id: uuid.UUID, dataset_id: uuid.UUID, values: dict[str, Any]
    ) -> dict[str, Any]:
        """Append a 'created' row; returns its new_value, which stays mutable until the rows are written."""
        new_value = snapshot(values)
        self._append("created", entity_type, entity_id, dataset_id, None, None, new_value)
        return new_value

    def deleted(
        self, entity_type: str, entity_id: uuid.UUID, dataset_id: uuid.UUID, values: dict[str, Any]
    ) -> None:
        self._append("deleted", entity_type, entity_id, dataset_id, None, snapshot(values), None)

    def __len__(self) -> int:
        return len(self.rows)
