"""Diffing datasets and their columns: field precedence, renames, restores, audit rows."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from metadata_pipeline.reconcile.context import COLUMN_VALUE_FIELDS, DATASET_VALUE_FIELDS, Row, RunContext
from metadata_pipeline.reconcile.desired import DesiredColumn, DesiredDataset
from metadata_pipeline.reconcile.fields import (
    COLUMN_POLICIES,
    DATASET_POLICIES,
    EntityState,
    Resolution,
    resolve,
    resolve_new,
)
from metadata_pipeline.reconcile.lifecycle import Transition, on_present

RENAME_FIELDS = frozenset({"fqn", "name", "unique_id"})
_TRANSITION_COUNTERS = {
    "deprecated": "datasets_deprecated",
    "deleted": "datasets_deleted",
    "restored": "datasets_restored",
    "activated": "datasets_updated",
}


def diff_dataset(ctx: RunContext, ds: DesiredDataset) -> None:
    """Create or update one dataset and its columns."""
    row = ctx.matched.get(ds.fqn)
    detail = ctx.details.get(row["dataset_id"]) if row else None
    source, machine = str(ds.values["extracted_from"]), ctx.dataset_suggestions(ds.fqn)
    if row is None or detail is None:
        res = resolve_new(ds.values, source, machine)
        _create_dataset(ctx, ds, res)
    else:
        res = resolve(EntityState.of(detail), ds.values, DATASET_POLICIES, source, machine)
        _update_dataset(ctx, ds, row, detail, res)
    ctx.result.suggestions_recorded += res.suggestions_recorded
    diff_columns(ctx, ds, ctx.dataset_ids[ds.fqn], new=detail is None)


def _create_dataset(ctx: RunContext, ds: DesiredDataset, res: Resolution) -> None:
    dataset_id = uuid.uuid4()
    ctx.dataset_ids[ds.fqn] = dataset_id
    values = dict.fromkeys(DATASET_VALUE_FIELDS) | res.values()
    ctx.writes.new_datasets[dataset_id] = {
        "dataset_id": dataset_id,
        "company_id": ctx.company_id,
        **values,
        "field_sources": res.field_sources or None,
        "suggested_values": res.suggested_values or None,
        "human_edited_fields": None,
        "reconcile_hash": ds.input_hash,
        "status": "Active",
        "missing_runs": 0,
        "has_uncommitted_changes": True,  # new to Git as well
        "sync_status": "pending",
    }
    snapshot = values | {"connection_id": str(values["connection_id"]), "dataset_id": str(dataset_id)}
    ctx.new_dataset_audit[dataset_id] = ctx.audit.created("dataset", dataset_id, dataset_id, snapshot)
    ctx.count("datasets_created")
    ctx.names["created"].append(ds.fqn)


def _update_dataset(ctx: RunContext, ds: DesiredDataset, row: Row, detail: Row, res: Resolution) -> None:
    dataset_id = row["dataset_id"]
    renamed = ctx.is_renamed(ds)
    for change in res.changes:
        kind = "renamed" if renamed and change.field in RENAME_FIELDS else "updated"
        ctx.audit.add(
            kind, "dataset", dataset_id, dataset_id, change.field, change.old, change.new, change.actor
        )
    ctx.writes.update_dataset(dataset_id, res.values())
    ctx.writes.update_dataset(dataset_id, bookkeeping(detail, res))
    if renamed:
        ctx.count("datasets_renamed")
        ctx.names["renamed"].append({"from": row["fqn"], "to": ds.fqn})
    if any(not (renamed and c.field in RENAME_FIELDS) for c in res.changes):
        ctx.count("datasets_updated")
        ctx.names["updated"].append(ds.fqn)
    apply_transition(ctx, row, on_present(row), ds.fqn)


def apply_transition(ctx: RunContext, row: Row, transition: Transition | None, fqn: str) -> None:
    """A lifecycle step: status fields, an audit row when it is a visible change, the counters."""
    if transition is None:
        return
    dataset_id = row["dataset_id"]
    ctx.writes.update_dataset(dataset_id, transition.values)
    row.update(transition.values)  # the snapshot hash reads the final status
    if transition.change_type:
        ctx.audit.add(
            transition.change_type,
            "dataset",
            dataset_id,
            dataset_id,
            "status",
            transition.old_status,
            transition.new_status,
        )
    counter = _TRANSITION_COUNTERS.get(transition.kind)
    if counter:
        ctx.count(counter)
        ctx.names[transition.kind].append(fqn)


def bookkeeping(row: Mapping[str, Any], res: Resolution) -> Row:
    """field_sources / suggested_values when they differ (empty and NULL are the same thing)."""
    out: Row = {}
    for name, new in (("field_sources", res.field_sources), ("suggested_values", res.suggested_values)):
        if (row.get(name) or {}) != (new or {}):
            out[name] = new or None
    return out


def diff_columns(ctx: RunContext, ds: DesiredDataset, dataset_id: uuid.UUID, *, new: bool) -> None:
    existing = {} if new else ctx.columns.get(dataset_id, {})
    matched = match_columns(existing, ds.columns)
    for name, col in ds.columns.items():
        values = _column_values(ds, name, col)
        machine = ctx.column_suggestions(ds.fqn, name)
        row = matched.get(name)
        if row is None:
            res = resolve_new(values, col.extracted_from, machine)
            _create_column(ctx, dataset_id, res)
        else:
            res = resolve(EntityState.of(row), values, COLUMN_POLICIES, col.extracted_from, machine)
            _update_column(ctx, ds, dataset_id, row, res)
        ctx.result.suggestions_recorded += res.suggestions_recorded
    kept = {r["column_id"] for r in matched.values()}
    for row in existing.values():
        if row["column_id"] not in kept:
            _remove_column(ctx, dataset_id, row)


def _column_values(ds: DesiredDataset, name: str, col: DesiredColumn) -> dict[str, Any]:
    return {
        "fqn": f"{ds.fqn}.{name}",
        "name": name,
        "data_type": col.data_type,
        "description": col.description,
        "position": col.position,
        "extracted_from": col.extracted_from,
        "confidence": col.confidence,
    }


def _create_column(ctx: RunContext, dataset_id: uuid.UUID, res: Resolution) -> None:
    column_id = uuid.uuid4()
    values = res.values()
    values["data_type"] = values.get("data_type") or "unknown"
    ctx.writes.inserts["columns"].append(
        (
            column_id,
            ctx.company_id,
            dataset_id,
            *[values.get(f) for f in COLUMN_VALUE_FIELDS],
            res.field_sources or None,
            res.suggested_values or None,
        )
    )
    ctx.column_ids[(dataset_id, values["name"])] = column_id
    listed = [values["name"], str(column_id), values["data_type"]]
    ctx.audit_created("column", column_id, dataset_id, values, listed)
    ctx.count("columns_created")


def _update_column(
    ctx: RunContext, ds: DesiredDataset, dataset_id: uuid.UUID, row: Row, res: Resolution
) -> None:
    column_id = row["column_id"]
    ctx.column_ids[(dataset_id, str(res.values().get("name", row["name"])))] = column_id
    renamed = ctx.is_renamed(ds)
    for change in res.changes:
        kind = "renamed" if renamed and change.field == "fqn" else "updated"
        ctx.audit.add(
            kind, "column", column_id, dataset_id, change.field, change.old, change.new, change.actor
        )
    values = res.values() | bookkeeping(row, res)
    if values:
        ctx.writes.updates["columns"].append({"column_id": column_id, **values})
    if res.changes:
        ctx.count("columns_updated")


def _remove_column(ctx: RunContext, dataset_id: uuid.UUID, row: Row) -> None:
    ctx.writes.deletes["columns"].append(row["column_id"])
    ctx.removed_columns.append(row["column_id"])
    ctx.audit.deleted(
        "column", row["column_id"], dataset_id, {"fqn": row["fqn"], "data_type": row["data_type"]}
    )
    ctx.count("columns_removed")


def match_columns(existing: Mapping[str, Row], desired: Mapping[str, Any]) -> dict[str, Row]:
    """Desired column name -> existing row: exact names first, then case-insensitively if unambiguous
    (a warehouse catalog may report ID where schema.yml said id: same column, same UUID)."""
    matched = {name: existing[name] for name in desired if name in existing}
    if len(matched) == len(existing):
        return matched
    used = {r["column_id"] for r in matched.values()}
    leftovers: dict[str, list[Row]] = defaultdict(list)
    for row in existing.values():
        if row["column_id"] not in used:
            leftovers[row["name"].lower()].append(row)
    for name in desired:
        if name not in matched and len(leftovers.get(name.lower(), [])) == 1:
            matched[name] = leftovers.pop(name.lower())[0]
    return matched
