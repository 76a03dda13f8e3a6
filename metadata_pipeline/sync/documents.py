"""Catalog rows as documents, and documents from Git resolved against the catalog.

Both directions go through one canonical form: every column, lineage edge and reference carries
uuids, and the display names beside them (upstream_column_name, target_dataset_fqn...) are filled
in from the catalog. Comparing canonical documents is how we tell a real change from a stale name.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import Column, Dataset, Lineage
from metadata_pipeline.sync.yaml_format import (
    FORMAT_VERSION,
    ColumnSpec,
    DatasetDocument,
    DatasetSpec,
    LineageSpec,
    ReferenceSpec,
)

CHUNK = 500  # ids per IN (...) list: well under every backend's bound-parameter limit
COLUMN_NAMESPACE = uuid.UUID("8b6f7a4e-3f3c-4d53-9a53-6d0c3c2f4a11")  # uuid5 of columns written without one


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class ColumnRef:
    column_id: uuid.UUID
    dataset_id: uuid.UUID
    name: str


@dataclass
class ColumnIndex:
    """Every column of a company by uuid and by (dataset, name), and every dataset's fqn."""

    columns: dict[uuid.UUID, ColumnRef] = field(default_factory=dict)
    by_name: dict[tuple[uuid.UUID, str], uuid.UUID] = field(default_factory=dict)
    fqn: dict[uuid.UUID, str] = field(default_factory=dict)
    by_fqn: dict[str, uuid.UUID] = field(default_factory=dict)
    of_dataset: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, session: Session, company_id: uuid.UUID) -> ColumnIndex:
        index = cls()
        for ds_id, fqn in session.execute(
            select(Dataset.dataset_id, Dataset.fqn).where(Dataset.company_id == company_id)
        ):
            index.fqn[ds_id] = fqn
            index.by_fqn[fqn] = ds_id
        for col_id, ds_id, name in session.execute(
            select(Column.column_id, Column.dataset_id, Column.name).where(Column.company_id == company_id)
        ):
            index._add(ColumnRef(col_id, ds_id, name))
        return index

    def _add(self, ref: ColumnRef) -> None:
        self.columns[ref.column_id] = ref
        self.by_name[(ref.dataset_id, ref.name)] = ref.column_id
        self.of_dataset[ref.dataset_id].append(ref.column_id)

    def columns_of(self, dataset_id: uuid.UUID) -> dict[str, uuid.UUID]:
        return {self.columns[c].name: c for c in self.of_dataset.get(dataset_id, [])}

    def overlay(self, docs: Iterable[DatasetDocument]) -> ColumnIndex:
        """A copy where each document replaces its dataset's columns: the world after a pull."""
        new = ColumnIndex(
            dict(self.columns), dict(self.by_name), dict(self.fqn), dict(self.by_fqn), defaultdict(list)
        )
        for ds_id, cols in self.of_dataset.items():
            new.of_dataset[ds_id] = list(cols)
        for doc in docs:
            ds = doc.dataset
            old_fqn = new.fqn.get(ds.uuid)
            if old_fqn is not None and new.by_fqn.get(old_fqn) == ds.uuid:
                del new.by_fqn[old_fqn]
            new.fqn[ds.uuid] = ds.fqn
            new.by_fqn[ds.fqn] = ds.uuid
            for col_id in new.of_dataset.pop(ds.uuid, []):
                ref = new.columns.pop(col_id, None)
                if ref is not None:
                    new.by_name.pop((ref.dataset_id, ref.name), None)
            for col in ds.columns:
                assert col.uuid is not None, "assign_column_ids first"
                new._add(ColumnRef(col.uuid, ds.uuid, col.name))
        return new


# ---------------------------------------------------------------------------------------------
# Catalog -> documents


def _column_spec(col: Any) -> ColumnSpec:
    return ColumnSpec.model_construct(
        uuid=col.column_id,
        name=col.name,
        data_type=col.data_type,
        description=col.description,
        business_name=col.business_name,
        is_primary_key=bool(col.is_primary_key),
        is_foreign_key=bool(col.is_foreign_key),
        is_nullable=bool(col.is_nullable),
        transformation_logic=col.transformation_logic,
        position=col.position,
        pii_category=col.pii_category,
    )


def _reference_spec(col: Any, index: ColumnIndex) -> ReferenceSpec | None:
    target = index.columns.get(col.reference_column_id)
    if target is None:
        return None
    return ReferenceSpec.model_construct(
        target_dataset_uuid=target.dataset_id,
        target_dataset_fqn=index.fqn.get(target.dataset_id),
        reference_type=col.reference_type,
        source_columns=[str(col.column_id)],
        target_columns=[str(target.column_id)],
        description=col.reference_description,
    )


def _lineage_spec(edge: Any, index: ColumnIndex) -> LineageSpec | None:
    down = index.columns.get(edge.downstream_column_id)
    if down is None:
        return None
    up = index.columns.get(edge.upstream_column_id) if edge.upstream_column_id else None
    up_ds = up.dataset_id if up is not None else edge.upstream_dataset_id
    return LineageSpec.model_construct(
        upstream_dataset_uuid=up_ds,
        upstream_dataset_fqn=index.fqn.get(up_ds) if up_ds else None,
        upstream_column_uuid=up.column_id if up else None,
        upstream_column_name=up.name if up else None,
        downstream_column_uuid=down.column_id,
        downstream_column_name=down.name,
        mapping_type=edge.mapping_type,
        transformation_expression=edge.transformation_expression,
        lineage_type=edge.lineage_type,
        role=edge.role,
    )


def document_from_rows(
    ds: Any, columns: Iterable[Any], lineage: Iterable[Any], index: ColumnIndex
) -> DatasetDocument:
    cols = list(columns)
    refs = [r for r in (_reference_spec(c, index) for c in cols if c.reference_column_id) if r is not None]
    edges = [e for e in (_lineage_spec(e, index) for e in lineage) if e is not None]
    spec = DatasetSpec.model_construct(
        uuid=ds.dataset_id,
        fqn=ds.fqn,
        name=ds.name,
        medallion_layer=ds.medallion_layer,
        entity_type=ds.entity_type,
        entity_subtype=ds.entity_subtype,
        materialization_type=ds.materialization_type,
        description=ds.description,
        metadata=ds.metadata_,
        columns=[_column_spec(c) for c in cols],
        references=refs,
        lineage=edges,
    )
    return DatasetDocument.model_construct(
        version=FORMAT_VERSION,
        dataset=spec,
        created_at=ds.created_at,
        updated_at=None,
        last_synced_at=None,
        source_control_commit_sha=None,
    )


def load_documents(
    session: Session, company_id: uuid.UUID, dataset_ids: Iterable[uuid.UUID], index: ColumnIndex
) -> dict[uuid.UUID, DatasetDocument]:
    """Documents for many datasets in three queries per chunk (not three per dataset)."""
    ids = sorted(set(dataset_ids))
    docs: dict[uuid.UUID, DatasetDocument] = {}
    for part in chunks(ids):
        datasets = session.scalars(
            select(Dataset).where(Dataset.company_id == company_id, Dataset.dataset_id.in_(part))
        )
        columns: dict[uuid.UUID, list[Column]] = defaultdict(list)
        for col in session.scalars(select(Column).where(Column.dataset_id.in_(part))):
            columns[col.dataset_id].append(col)
        lineage: dict[uuid.UUID, list[Lineage]] = defaultdict(list)
        for edge in session.scalars(select(Lineage).where(Lineage.downstream_dataset_id.in_(part))):
            lineage[edge.downstream_dataset_id].append(edge)
        for ds in datasets:
            docs[ds.dataset_id] = document_from_rows(
                ds, columns[ds.dataset_id], lineage[ds.dataset_id], index
            )
    return docs


# ---------------------------------------------------------------------------------------------
# Documents from Git -> canonical documents


class FieldProblem(Exception):
    """A document that is valid YAML and schema but wrong against the catalog; `loc` is its field."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message

    @property
    def field(self) -> str:
        text = ""
        for part in self.loc:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text


def assign_column_ids(doc: DatasetDocument, index: ColumnIndex) -> DatasetDocument:
    """Give columns written without a uuid the catalog's (same name), else a stable derived one."""
    ds = doc.dataset
    existing = index.columns_of(ds.uuid)
    columns: list[ColumnSpec] = []
    for i, col in enumerate(ds.columns):
        col_id = col.uuid or existing.get(col.name) or uuid.uuid5(COLUMN_NAMESPACE, f"{ds.uuid}/{col.name}")
        owner = index.columns.get(col_id)
        if owner is not None and owner.dataset_id != ds.uuid:
            other = index.fqn.get(owner.dataset_id, str(owner.dataset_id))
            raise FieldProblem(
                ("dataset", "columns", i, "uuid"), f"uuid {col_id} is column {owner.name} of {other}"
            )
        columns.append(col.model_copy(update={"uuid": col_id}))
    return doc.model_copy(update={"dataset": ds.model_copy(update={"columns": columns})})


def _as_uuid(token: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(token))
    except ValueError:
        return None


class _Resolver:
    """Resolves one document's lineage and references; `index` must already include the document."""

    def __init__(self, doc: DatasetDocument, index: ColumnIndex) -> None:
        self.ds = doc.dataset
        self.index = index
        self.by_id = {c.uuid: c for c in self.ds.columns}
        self.by_name = {c.name: c for c in self.ds.columns}

    def own_column(
        self, loc: tuple[int | str, ...], col_id: uuid.UUID | None, name: str | None
    ) -> ColumnSpec:
        found = self.by_id.get(col_id) if col_id else self.by_name.get(name or "")
        if found is None:
            raise FieldProblem(loc, f"{col_id or name!r} is not a column of this dataset")
        return found

    def dataset(
        self, loc: tuple[int | str, ...], ds_id: uuid.UUID | None, fqn: str | None
    ) -> uuid.UUID | None:
        if ds_id is None and not fqn:
            return None
        found = ds_id if ds_id in self.index.fqn else self.index.by_fqn.get(fqn or "")
        if found is None:
            raise FieldProblem(loc, f"unknown dataset {ds_id or fqn}")
        return found

    def other_column(
        self, loc: tuple[int | str, ...], col_id: uuid.UUID | None, ds_id: uuid.UUID | None, name: str | None
    ) -> ColumnRef:
        if col_id is not None:
            ref = self.index.columns.get(col_id)
            if ref is None:
                raise FieldProblem(loc, f"unknown column {col_id}")
            return ref
        found = self.index.by_name.get((ds_id, name or "")) if ds_id else None
        if found is None:
            raise FieldProblem(
                loc, f"{self.index.fqn.get(ds_id) if ds_id else 'unknown dataset'} has no column {name!r}"
            )
        return self.index.columns[found]

    def edge(self, i: int, e: LineageSpec) -> LineageSpec:
        loc: tuple[int | str, ...] = ("dataset", "lineage", i)
        down_field = "downstream_column_uuid" if e.downstream_column_uuid else "downstream_column_name"
        down = self.own_column((*loc, down_field), e.downstream_column_uuid, e.downstream_column_name)
        up: ColumnRef | None = None
        if e.upstream_column_uuid is not None:  # the uuid wins: names beside it may be stale
            up = self.other_column((*loc, "upstream_column_uuid"), e.upstream_column_uuid, None, None)
            up_ds: uuid.UUID | None = up.dataset_id
        else:
            ds_field = "upstream_dataset_uuid" if e.upstream_dataset_uuid else "upstream_dataset_fqn"
            up_ds = self.dataset((*loc, ds_field), e.upstream_dataset_uuid, e.upstream_dataset_fqn)
            if e.upstream_column_name:
                up = self.other_column((*loc, "upstream_column_name"), None, up_ds, e.upstream_column_name)
        return LineageSpec.model_construct(
            upstream_dataset_uuid=up_ds,
            upstream_dataset_fqn=self.index.fqn.get(up_ds) if up_ds else None,
            upstream_column_uuid=up.column_id if up else None,
            upstream_column_name=up.name if up else None,
            downstream_column_uuid=down.uuid,
            downstream_column_name=down.name,
            mapping_type=e.mapping_type,
            transformation_expression=e.transformation_expression,
            lineage_type=e.lineage_type,
            role=e.role,
        )

    def reference(self, i: int, r: ReferenceSpec) -> ReferenceSpec:
        loc: tuple[int | str, ...] = ("dataset", "references", i)
        token = r.source_columns[0]
        source = self.own_column((*loc, "source_columns", 0), _as_uuid(token), token)
        token = r.target_columns[0]
        target_id = _as_uuid(token)
        if target_id is not None:
            target = self.other_column((*loc, "target_columns", 0), target_id, None, None)
        else:
            ds_field = "target_dataset_uuid" if r.target_dataset_uuid else "target_dataset_fqn"
            target_ds = self.dataset((*loc, ds_field), r.target_dataset_uuid, r.target_dataset_fqn)
            target = self.other_column((*loc, "target_columns", 0), None, target_ds, token)
        return ReferenceSpec.model_construct(
            target_dataset_uuid=target.dataset_id,
            target_dataset_fqn=self.index.fqn.get(target.dataset_id),
            reference_type=r.reference_type,
            source_columns=[str(source.uuid)],
            target_columns=[str(target.column_id)],
            description=r.description,
        )


def lineage_key(e: LineageSpec) -> tuple[Any, ...]:
    """What makes an edge unique in the catalog (its unique constraint)."""
    return (e.downstream_column_uuid, e.upstream_column_uuid, e.lineage_type, e.role)


def resolve_links(doc: DatasetDocument, index: ColumnIndex) -> DatasetDocument:
    """Canonical lineage and references: uuids resolved (from names when absent), names refreshed."""
    resolver = _Resolver(doc, index)
    edges = [resolver.edge(i, e) for i, e in enumerate(doc.dataset.lineage)]
    seen: dict[tuple[Any, ...], int] = {}
    for i, e in enumerate(edges):
        if lineage_key(e) in seen:
            raise FieldProblem(("dataset", "lineage", i), f"repeats lineage entry {seen[lineage_key(e)]}")
        seen[lineage_key(e)] = i
    refs = [resolver.reference(i, r) for i, r in enumerate(doc.dataset.references)]
    sources: dict[str, int] = {}
    for i, r in enumerate(refs):
        if r.source_columns[0] in sources:
            raise FieldProblem(
                ("dataset", "references", i, "source_columns"), "a column can have only one reference"
            )
        sources[r.source_columns[0]] = i
    spec = doc.dataset.model_copy(update={"lineage": edges, "references": refs})
    return doc.model_copy(update={"dataset": spec})
