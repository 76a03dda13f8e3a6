"""Diffing the graph: model-level dependencies and column-level lineage of changed datasets."""

from __future__ import annotations

import uuid
from typing import Any

from metadata_pipeline.reconcile import state as db
from metadata_pipeline.reconcile.context import DEPENDENCY_FIELDS, LINEAGE_FIELDS, Row, RunContext
from metadata_pipeline.reconcile.desired import DesiredDataset


def diff_dependencies(ctx: RunContext, ds: DesiredDataset) -> None:
    dataset_id = ctx.dataset_ids[ds.fqn]
    existing = ctx.dependencies.get(dataset_id, {})
    wanted: dict[uuid.UUID, tuple[Row, str]] = {}
    for upstream_fqn, dep in ds.dependencies.items():
        upstream_id = ctx.dataset_ids.get(upstream_fqn)
        if upstream_id is None:
            ctx.count("dependencies_skipped")  # an upstream the catalog does not know (yet)
            continue
        wanted[upstream_id] = ({f: getattr(dep, f) for f in DEPENDENCY_FIELDS}, f"{ds.fqn} -> {upstream_fqn}")
    for upstream_id, (values, label) in wanted.items():
        _upsert_dependency(ctx, dataset_id, upstream_id, values, existing.get(upstream_id), label)
    for upstream_id, row in existing.items():
        if upstream_id not in wanted:
            ctx.writes.deletes["dataset_dependencies"].append(row["dependency_id"])
            ctx.audit.deleted(
                "dependency", row["dependency_id"], dataset_id, {"upstream_dataset_id": str(upstream_id)}
            )
            ctx.count("dependencies_removed")


def _upsert_dependency(
    ctx: RunContext, dataset_id: uuid.UUID, upstream_id: uuid.UUID, values: Row, row: Row | None, label: str
) -> None:
    if row is None:
        dependency_id = uuid.uuid4()
        ctx.writes.inserts["dataset_dependencies"].append(
            (dependency_id, ctx.company_id, dataset_id, upstream_id, *[values[f] for f in DEPENDENCY_FIELDS])
        )
        ctx.audit_created("dependency", dependency_id, dataset_id, {"dependency": label, **values}, label)
        ctx.count("dependencies_added")
        return
    changed = {k: v for k, v in values.items() if row[k] != v}
    for name, new in changed.items():
        ctx.audit.add("updated", "dependency", row["dependency_id"], dataset_id, name, row[name], new)
    if changed:
        ctx.writes.updates["dataset_dependencies"].append({"dependency_id": row["dependency_id"], **changed})
        ctx.count("dependencies_updated")


def diff_lineage(ctx: RunContext, ds: DesiredDataset) -> None:
    dataset_id = ctx.dataset_ids[ds.fqn]
    existing = ctx.lineage.get(dataset_id, {})
    wanted = _wanted_lineage(ctx, ds, dataset_id)
    for key, (values, label) in wanted.items():
        _upsert_lineage(ctx, dataset_id, key, values, existing.get(key), label)
    for key, row in existing.items():
        if key not in wanted:
            _remove_lineage(ctx, row)


def _wanted_lineage(
    ctx: RunContext, ds: DesiredDataset, dataset_id: uuid.UUID
) -> dict[db.LineageKey, tuple[Row, str]]:
    """The dataset's edges keyed like the table's unique constraint, with catalog ids resolved."""
    wanted: dict[db.LineageKey, tuple[Row, str]] = {}
    for lin in ds.lineage.values():
        upstream_dataset = upstream_column = None
        label = f"{ds.fqn}.{lin.column} <- (calculated)"
        if lin.upstream is not None:
            upstream_dataset = ctx.dataset_ids.get(lin.upstream[0])
            if upstream_dataset is not None:
                upstream_column = ctx.column_ids.get((upstream_dataset, lin.upstream[1] or ""))
            if upstream_column is None:
                _skip_edge(ctx, ds, lin.upstream[0])
                continue
            label = f"{ds.fqn}.{lin.column} <- {lin.upstream[0]}.{lin.upstream[1]}"
        values = {
            "mapping_type": lin.mapping_type,
            "transformation_expression": lin.transformation_expression,
            "confidence": lin.confidence,
            "extracted_from": lin.extracted_from,
            "upstream_dataset_id": upstream_dataset,
        }
        key = (ctx.column_ids[(dataset_id, lin.column)], upstream_column, lin.lineage_type, lin.role)
        wanted[key] = (values, label)
    return wanted


def _skip_edge(ctx: RunContext, ds: DesiredDataset, upstream_fqn: str) -> None:
    ctx.count("edges_skipped")
    if upstream_fqn in ctx.desired.objects:
        # Within one extraction this only happens when rows were removed behind reconcile's back:
        # never trust this dataset's hash until the edge lands.
        ctx.unstable.add(ds.fqn)


def _upsert_lineage(
    ctx: RunContext, dataset_id: uuid.UUID, key: db.LineageKey, values: Row, row: Row | None, label: str
) -> None:
    if row is None:
        lineage_id = uuid.uuid4()
        ctx.writes.inserts["lineage"].append(
            (
                lineage_id,
                ctx.company_id,
                ctx.args.tenant.workspace_id,
                dataset_id,
                *key,
                *[values[f] for f in LINEAGE_FIELDS],
            )
        )
        snapshot: dict[str, Any] = {"edge": label, "lineage_type": key[2], "role": key[3], **values}
        snapshot["upstream_dataset_id"] = _text(values["upstream_dataset_id"])
        ctx.audit_created("lineage", lineage_id, dataset_id, snapshot, f"{label} [{values['mapping_type']}]")
        ctx.count("lineage_added")
        return
    changed = {k: v for k, v in values.items() if row[k] != v}
    for name, new in changed.items():
        ctx.audit.add("updated", "lineage", row["lineage_id"], dataset_id, name, row[name], new)
    if changed:
        ctx.writes.updates["lineage"].append({"lineage_id": row["lineage_id"], **changed})
        ctx.count("lineage_updated")


def _remove_lineage(ctx: RunContext, row: Row) -> None:
    ctx.writes.deletes["lineage"].append(row["lineage_id"])
    ctx.audit.deleted(
        "lineage",
        row["lineage_id"],
        row["downstream_dataset_id"],
        {
            "downstream_column_id": _text(row["downstream_column_id"]),
            "upstream_column_id": _text(row["upstream_column_id"]),
        },
    )
    ctx.count("lineage_removed")


def drop_lineage_into_removed_columns(ctx: RunContext) -> None:
    """Lineage of unchanged datasets that reads a removed column goes too (audited, not cascaded)."""
    if not ctx.removed_columns:
        return
    dropping = set(ctx.writes.deletes["lineage"])
    for row in db.lineage_reading(ctx.session, ctx.removed_columns):
        if row["lineage_id"] not in dropping:
            dropping.add(row["lineage_id"])
            _remove_lineage(ctx, row)


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
