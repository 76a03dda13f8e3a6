"""Apply a canonical document to the catalog: create, update or restore one dataset, field by field.

Every changed field gets an audit row and is recorded as a human edit (`human_edited_fields`, and
`field_sources[field] = 'git:<sha>'`) so extraction and AI never overwrite what a person wrote in Git.
Application runs in two phases over a batch of documents: datasets and columns first, then
references and lineage, which may point at columns another document of the same batch creates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import AuditLog, Column, Dataset, Lineage
from metadata_pipeline.sync.diff import COLUMN_KEYS
from metadata_pipeline.sync.documents import chunks, lineage_key
from metadata_pipeline.sync.yaml_format import ColumnSpec, DatasetDocument, DatasetSpec, LineageSpec

# YAML field -> Dataset attribute, in file order.
DATASET_FIELDS: dict[str, str] = {
    "fqn": "fqn",
    "name": "name",
    "medallion_layer": "medallion_layer",
    "entity_type": "entity_type",
    "entity_subtype": "entity_subtype",
    "materialization_type": "materialization_type",
    "description": "description",
    "metadata": "metadata_",
}
REFERENCE_FIELDS = ("reference_column_id", "reference_type", "reference_description")
_SYNC = {"synchronize_session": "fetch"}  # keep the session's identity map true after bulk deletes


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


@dataclass
class ApplyContext:
    """Who applies (the audit actor), for which commit, and whether changes count as human edits."""

    session: Session
    company_id: uuid.UUID
    workspace_id: uuid.UUID
    actor: str
    sha: str | None  # audit rows are stamped with it: these changes are already in Git
    now: datetime
    human_source: str | None  # 'git:<sha>' marks changed fields as human edits; None does not

    def audit(
        self,
        dataset_id: uuid.UUID,
        entity_type: str,
        entity_id: uuid.UUID | None,
        change_type: str,
        field_name: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        self.session.add(
            AuditLog(
                company_id=self.company_id,
                dataset_id=dataset_id,
                workspace_id=self.workspace_id,
                change_type=change_type,
                entity_type=entity_type,
                entity_id=entity_id,
                field_name=field_name,
                old_value=_json(old),
                new_value=_json(new),
                actor=self.actor,
                committed_in_sha=self.sha,
            )
        )

    def mark_human(self, entity: Dataset | Column, fields: Iterable[str]) -> None:
        names = list(fields)
        if not names or self.human_source is None:
            return
        # New objects, not in-place edits: JSON columns only notice assignment.
        entity.human_edited_fields = sorted(set(entity.human_edited_fields or []) | set(names))
        entity.field_sources = {**(entity.field_sources or {}), **dict.fromkeys(names, self.human_source)}


@dataclass
class ApplyOutcome:
    dataset_id: uuid.UUID
    created: bool = False
    restored: bool = False
    changes: list[str] = field(default_factory=list)  # field paths, as in conflict diffs


@dataclass
class Preloaded:
    """A batch's datasets, columns and lineage read in a few queries, not a few per dataset.

    Lists are kept current as the batch is applied; rows a bulk delete removed are skipped.
    """

    datasets: dict[uuid.UUID, Dataset] = field(default_factory=dict)
    columns: dict[uuid.UUID, list[Column]] = field(default_factory=dict)  # by dataset
    lineage: dict[uuid.UUID, list[Lineage]] = field(default_factory=dict)  # by downstream dataset

    @classmethod
    def load(cls, session: Session, dataset_ids: Iterable[uuid.UUID]) -> Preloaded:
        pre = cls()
        fresh = {"populate_existing": True}
        for part in chunks(sorted(set(dataset_ids))):
            for ds in session.scalars(
                select(Dataset).where(Dataset.dataset_id.in_(part)).execution_options(**fresh)
            ):
                pre.datasets[ds.dataset_id] = ds
            for col in session.scalars(
                select(Column).where(Column.dataset_id.in_(part)).execution_options(**fresh)
            ):
                pre.columns.setdefault(col.dataset_id, []).append(col)
            query = select(Lineage).where(Lineage.downstream_dataset_id.in_(part)).execution_options(**fresh)
            for edge in session.scalars(query):
                pre.lineage.setdefault(edge.downstream_dataset_id, []).append(edge)
        return pre

    def live_columns(self, session: Session, dataset_id: uuid.UUID) -> list[Column]:
        return [c for c in self.columns.get(dataset_id, []) if c in session]

    def live_lineage(self, session: Session, dataset_id: uuid.UUID) -> list[Lineage]:
        return [e for e in self.lineage.get(dataset_id, []) if e in session]


def _column_fqn(dataset_fqn: str, name: str) -> str:
    return f"{dataset_fqn}.{name}"


def _create_dataset(ctx: ApplyContext, doc: DatasetDocument) -> Dataset:
    spec = doc.dataset
    ds = Dataset(
        dataset_id=spec.uuid,
        company_id=ctx.company_id,
        status="Active",
        extracted_from="git",
        created_at=doc.created_at or ctx.now,
        **{attr: getattr(spec, name) for name, attr in DATASET_FIELDS.items()},
    )
    ctx.session.add(ds)
    ctx.mark_human(ds, [n for n in DATASET_FIELDS if getattr(spec, n) is not None])
    # No relationship() links the models, so the flush order must be made explicit: row, then audit.
    ctx.session.flush()
    ctx.audit(spec.uuid, "dataset", spec.uuid, "created", None, None, {"fqn": spec.fqn, "name": spec.name})
    return ds


def _update_dataset(ctx: ApplyContext, ds: Dataset, spec: DatasetSpec, outcome: ApplyOutcome) -> None:
    changed = []
    old_fqn = ds.fqn
    for name, attr in DATASET_FIELDS.items():
        old, new = getattr(ds, attr), getattr(spec, name)
        if old != new:
            setattr(ds, attr, new)
            ctx.audit(ds.dataset_id, "dataset", ds.dataset_id, "updated", name, old, new)
            changed.append(name)
    ctx.mark_human(ds, changed)
    outcome.changes += changed
    if ds.fqn != old_fqn:  # keep derived column fqns in step with the dataset's
        for col in ctx.session.scalars(select(Column).where(Column.dataset_id == ds.dataset_id)):
            if col.fqn.startswith(old_fqn + "."):
                col.fqn = ds.fqn + col.fqn[len(old_fqn) :]


def _delete_columns(ctx: ApplyContext, ds: Dataset, removed: list[Column], outcome: ApplyOutcome) -> None:
    ids = [c.column_id for c in removed]
    session = ctx.session
    # Explicit rather than ON DELETE CASCADE, so no loaded object silently points at a deleted row.
    session.execute(
        delete(Lineage).where(
            or_(Lineage.downstream_column_id.in_(ids), Lineage.upstream_column_id.in_(ids))
        ),
        execution_options=_SYNC,
    )
    session.execute(
        update(Column).where(Column.reference_column_id.in_(ids)).values(reference_column_id=None),
        execution_options=_SYNC,
    )
    session.execute(delete(Column).where(Column.column_id.in_(ids)), execution_options=_SYNC)
    for col in removed:
        ctx.audit(ds.dataset_id, "column", col.column_id, "deleted", None, {"name": col.name}, None)
        outcome.changes.append(f"columns.{col.name}")


def _new_column(ctx: ApplyContext, ds: Dataset, spec: ColumnSpec) -> Column:
    col = Column(
        column_id=spec.uuid,
        company_id=ctx.company_id,
        dataset_id=ds.dataset_id,
        fqn=_column_fqn(ds.fqn, spec.name),
        extracted_from="git",
        **{f: getattr(spec, f) for f in COLUMN_KEYS},
    )
    ctx.session.add(col)
    ctx.mark_human(col, [f for f in COLUMN_KEYS if getattr(spec, f) is not None])
    ctx.audit(
        ds.dataset_id,
        "column",
        spec.uuid,
        "created",
        None,
        None,
        {"name": spec.name, "data_type": spec.data_type},
    )
    return col


def _update_column(ctx: ApplyContext, ds: Dataset, col: Column, old_name: str, spec: ColumnSpec) -> list[str]:
    changed = []
    for f in COLUMN_KEYS:
        old = old_name if f == "name" else getattr(col, f)
        if old != getattr(spec, f):
            setattr(col, f, getattr(spec, f))
            ctx.audit(ds.dataset_id, "column", col.column_id, "updated", f, old, getattr(spec, f))
            changed.append(f)
    if "name" in changed:
        col.fqn = (
            _column_fqn(ds.fqn, spec.name) if col.fqn.endswith("." + old_name) or not col.fqn else col.fqn
        )
    ctx.mark_human(col, changed)
    return changed


def _sync_columns(
    ctx: ApplyContext, ds: Dataset, spec: DatasetSpec, outcome: ApplyOutcome, current: list[Column]
) -> list[Column]:
    """The dataset's columns made to match the document; returns them."""
    session = ctx.session
    existing = {c.column_id: c for c in current}
    wanted = {c.uuid: c for c in spec.columns}
    removed = [c for cid, c in existing.items() if cid not in wanted]
    if removed:
        _delete_columns(ctx, ds, removed, outcome)
    kept = {cid: c for cid, c in existing.items() if cid in wanted}
    old_names = {cid: c.name for cid, c in kept.items()}
    renamed = [c for cid, c in kept.items() if c.name != wanted[cid].name]
    if renamed:  # two columns swapping names must not meet the (dataset, name) unique key mid-flush
        for col in renamed:
            col.name = f"__renaming_{col.column_id.hex}"
        session.flush()
    result = []
    for cid, col_spec in wanted.items():
        col = kept.get(cid)
        if col is None:
            result.append(_new_column(ctx, ds, col_spec))
            outcome.changes.append(f"columns.{col_spec.name}")
        else:
            result.append(col)
            changes = _update_column(ctx, ds, col, old_names[cid], col_spec)
            outcome.changes += [f"columns.{col_spec.name}.{f}" for f in changes]
    return result


def apply_dataset(ctx: ApplyContext, doc: DatasetDocument, pre: Preloaded | None = None) -> ApplyOutcome:
    """Phase 1: the dataset's own fields and its columns. Flush before phase 2: with no
    relationship() between the models, one flush does not order a column before its lineage."""
    spec = doc.dataset
    pre = pre if pre is not None else Preloaded.load(ctx.session, [spec.uuid])
    outcome = ApplyOutcome(spec.uuid)
    ds = pre.datasets.get(spec.uuid)
    if ds is None:
        ds = pre.datasets[spec.uuid] = _create_dataset(ctx, doc)
        outcome.created = True
        pre.columns[spec.uuid] = [_new_column(ctx, ds, col_spec) for col_spec in spec.columns]
        return outcome
    if ds.status == "Deleted":
        ds.status, ds.deleted_at = "Active", None
        ctx.audit(ds.dataset_id, "dataset", ds.dataset_id, "restored", "status", "Deleted", "Active")
        outcome.restored = True
        outcome.changes.append("status")
    _update_dataset(ctx, ds, spec, outcome)
    pre.columns[spec.uuid] = _sync_columns(ctx, ds, spec, outcome, pre.live_columns(ctx.session, spec.uuid))
    return outcome


def _sync_references(
    ctx: ApplyContext, ds: Dataset, spec: DatasetSpec, outcome: ApplyOutcome, columns: list[Column]
) -> None:
    refs = {uuid.UUID(r.source_columns[0]): r for r in spec.references}
    for col in columns:
        ref = refs.get(col.column_id)
        new = (
            (uuid.UUID(ref.target_columns[0]), ref.reference_type, ref.description)
            if ref
            else (None, None, None)
        )
        changed = []
        for f, value in zip(REFERENCE_FIELDS, new, strict=True):
            if getattr(col, f) != value:
                ctx.audit(ds.dataset_id, "column", col.column_id, "updated", f, getattr(col, f), value)
                setattr(col, f, value)
                changed.append(f)
        if changed:
            ctx.mark_human(col, changed)
            outcome.changes.append(f"references.{col.name}")


def _new_edge(ctx: ApplyContext, ds: Dataset, e: LineageSpec) -> Lineage:
    return Lineage(
        lineage_id=uuid.uuid4(),  # now, not at flush: the audit row names it
        company_id=ctx.company_id,
        workspace_id=ctx.workspace_id,
        downstream_dataset_id=ds.dataset_id,
        downstream_column_id=e.downstream_column_uuid,
        upstream_dataset_id=e.upstream_dataset_uuid,
        upstream_column_id=e.upstream_column_uuid,
        mapping_type=e.mapping_type,
        transformation_expression=e.transformation_expression,
        lineage_type=e.lineage_type,
        role=e.role,
        confidence=1.0,
        extracted_from="git",
    )


def _edge_value(e: LineageSpec | Lineage) -> dict[str, Any]:
    if isinstance(e, Lineage):
        return {
            "upstream_column_uuid": e.upstream_column_id,
            "downstream_column_uuid": e.downstream_column_id,
            "mapping_type": e.mapping_type,
            "transformation_expression": e.transformation_expression,
        }
    return {
        "upstream_column_uuid": e.upstream_column_uuid,
        "downstream_column_uuid": e.downstream_column_uuid,
        "mapping_type": e.mapping_type,
        "transformation_expression": e.transformation_expression,
    }


def _sync_lineage(
    ctx: ApplyContext, ds: Dataset, spec: DatasetSpec, outcome: ApplyOutcome, rows: list[Lineage]
) -> list[Lineage]:
    """The dataset's incoming lineage made to match the document; returns the rows kept or added."""
    session = ctx.session
    have = {(r.downstream_column_id, r.upstream_column_id, r.lineage_type, r.role): r for r in rows}
    result = []
    want = {lineage_key(e): e for e in spec.lineage}
    changed = False
    for key, row in have.items():
        if key not in want:
            ctx.audit(ds.dataset_id, "lineage", row.lineage_id, "deleted", None, _edge_value(row), None)
            session.delete(row)
            changed = True
    for key, e in want.items():
        row = have.get(key)
        if row is None:
            row = _new_edge(ctx, ds, e)
            session.add(row)
            result.append(row)
            ctx.audit(ds.dataset_id, "lineage", row.lineage_id, "created", None, None, _edge_value(e))
            changed = True
            continue
        result.append(row)
        for attr, value in (
            ("mapping_type", e.mapping_type),
            ("transformation_expression", e.transformation_expression),
            ("upstream_dataset_id", e.upstream_dataset_uuid),
        ):
            if getattr(row, attr) != value:
                ctx.audit(
                    ds.dataset_id, "lineage", row.lineage_id, "updated", attr, getattr(row, attr), value
                )
                setattr(row, attr, value)
                changed = True
    if changed:
        ctx.mark_human(ds, ["lineage"])
        outcome.changes.append("lineage")
    return result


def apply_links(
    ctx: ApplyContext, doc: DatasetDocument, outcome: ApplyOutcome, pre: Preloaded
) -> ApplyOutcome:
    """Phase 2: references and lineage, once every dataset and column of the batch exists."""
    ds_id = doc.dataset.uuid
    ds = pre.datasets[ds_id]
    _sync_references(ctx, ds, doc.dataset, outcome, pre.live_columns(ctx.session, ds_id))
    pre.lineage[ds_id] = _sync_lineage(ctx, ds, doc.dataset, outcome, pre.live_lineage(ctx.session, ds_id))
    if outcome.created or outcome.changes:
        # Reconcile skips datasets whose extraction input is unchanged; a Git edit must make the next
        # reconcile look again (so what extraction would have written is recorded beside the edit).
        ds.reconcile_hash = None
    return outcome


def apply_document(ctx: ApplyContext, doc: DatasetDocument) -> ApplyOutcome:
    """Both phases for a single document (its links must point at existing columns)."""
    pre = Preloaded.load(ctx.session, [doc.dataset.uuid])
    outcome = apply_dataset(ctx, doc, pre)
    ctx.session.flush()
    apply_links(ctx, doc, outcome, pre)
    ctx.session.flush()
    return outcome


def soft_delete(ctx: ApplyContext, ds: Dataset) -> None:
    """Deleted in Git: the seed 002 lifecycle keeps the row as 'Deleted' rather than dropping history."""
    if ds.status != "Deleted":
        ctx.audit(ds.dataset_id, "dataset", ds.dataset_id, "deleted", "status", ds.status, "Deleted")
        ds.status, ds.deleted_at = "Deleted", ctx.now
        ds.reconcile_hash = None


def mark_synced(ds: Dataset, sha: str | None, path: str | None, now: datetime) -> None:
    ds.has_uncommitted_changes = False
    ds.sync_status = "synced"
    ds.sync_error_message = None
    ds.source_commit_sha = sha
    ds.source_file_path = path
    ds.last_synced_at = now


def stamp_audit(session: Session, company_id: uuid.UUID, dataset_ids: list[uuid.UUID], sha: str) -> None:
    """The dataset's pending audit rows are now in Git at `sha` (seed 000 markChangesCommitted)."""
    for part in chunks(dataset_ids):
        session.execute(
            update(AuditLog)
            .where(
                AuditLog.company_id == company_id,
                AuditLog.dataset_id.in_(part),
                AuditLog.committed_in_sha.is_(None),
            )
            .values(committed_in_sha=sha),
            execution_options={"synchronize_session": False},
        )
