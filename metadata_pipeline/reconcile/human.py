"""Recording a person's edit (YAML pulled from Git, the CLI) so machines never overwrite it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import AuditLog, Column, Dataset
from metadata_pipeline.reconcile.audit import jsonable

# Identity, lifecycle and bookkeeping fields are not "content" a person can pin.
_NOT_EDITABLE = frozenset(
    {
        "dataset_id",
        "column_id",
        "company_id",
        "connection_id",
        "fqn",
        "unique_id",
        "status",
        "missing_runs",
        "deprecated_at",
        "deleted_at",
        "human_edited_fields",
        "suggested_values",
        "field_sources",
        "reconcile_hash",
        "has_uncommitted_changes",
        "sync_status",
        "created_at",
        "updated_at",
    }
)


def mark_human_edit(
    session: Session,
    entity: Dataset | Column,
    field: str,
    value: Any,
    actor: str,
    *,
    workspace_id: uuid.UUID | None = None,
    mark_uncommitted: bool = True,
    committed_in_sha: str | None = None,
) -> bool:
    """Set `entity.field = value` as a person's edit; returns whether the value changed.

    The field joins `human_edited_fields` (extraction and AI will only suggest from now on), its
    `field_sources` entry names the actor, and an audit row records the change. The owning
    dataset's reconcile hash is cleared so the next reconcile re-diffs it and records what the
    extraction would have written in `suggested_values`. A Git pull passes `mark_uncommitted=False`
    and the commit sha: the edit is already in Git and must not be pushed back.
    """
    attribute = _attribute_name(entity, field)
    old = getattr(entity, attribute)
    changed = bool(old != value)
    already_human = (
        field in (entity.human_edited_fields or ()) and (entity.field_sources or {}).get(field) == actor
    )
    if already_human and not changed:
        return False  # a repeated edit (e.g. the same YAML pulled twice): nothing to write
    entity.human_edited_fields = sorted({*(entity.human_edited_fields or []), field})
    entity.field_sources = {**(entity.field_sources or {}), field: actor}
    entity.suggested_values = _without_caught_up(entity.suggested_values, field, value)
    dataset = entity if isinstance(entity, Dataset) else session.get(Dataset, entity.dataset_id)
    if dataset is None:
        raise ValueError(f"column {entity.column_id} has no dataset")  # type: ignore[union-attr]
    dataset.reconcile_hash = None
    if changed:
        setattr(entity, attribute, value)
        session.add(_audit_row(entity, dataset, field, old, value, actor, workspace_id, committed_in_sha))
        if mark_uncommitted:
            dataset.has_uncommitted_changes = True
            if dataset.sync_status == "synced":
                dataset.sync_status = "pending"
    session.flush()
    return changed


def _attribute_name(entity: Dataset | Column, field: str) -> str:
    if field in _NOT_EDITABLE:
        raise ValueError(f"{field} is not a field a person edits")
    for attr in type(entity).__mapper__.column_attrs:
        if attr.columns[0].name == field:
            return str(attr.key)
    raise ValueError(f"{type(entity).__name__} has no field {field!r}")


def _without_caught_up(suggested: dict[str, Any] | None, field: str, value: Any) -> dict[str, Any] | None:
    """Drop a pending suggestion the person has just accepted."""
    if not suggested or field not in suggested:
        return suggested
    entry = suggested[field]
    proposed = entry.get("value") if isinstance(entry, dict) else entry
    if proposed != value:
        return suggested
    rest = {k: v for k, v in suggested.items() if k != field}
    return rest or None


def _audit_row(
    entity: Dataset | Column,
    dataset: Dataset,
    field: str,
    old: Any,
    new: Any,
    actor: str,
    workspace_id: uuid.UUID | None,
    committed_in_sha: str | None,
) -> AuditLog:
    is_dataset = isinstance(entity, Dataset)
    return AuditLog(
        company_id=dataset.company_id,
        dataset_id=dataset.dataset_id,
        workspace_id=workspace_id,
        change_type="updated",
        entity_type="dataset" if is_dataset else "column",
        entity_id=dataset.dataset_id if is_dataset else entity.column_id,  # type: ignore[union-attr]
        field_name=field,
        old_value=jsonable(old),
        new_value=jsonable(new),
        actor=actor[:255],
        committed_in_sha=committed_in_sha,
    )
