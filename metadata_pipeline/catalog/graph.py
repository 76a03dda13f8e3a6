"""Graph queries over the catalog: follow column lineage up to sources, or down to everything impacted.

Breadth-first, one query per level over the lineage table (never one per edge), so a trace across
any number of models costs as many round trips as the graph is deep.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.models import Column, Dataset, DatasetDependency, Lineage
from metadata_pipeline.errors import PipelineError

Direction = Literal["upstream", "downstream"]


class GraphError(PipelineError, LookupError):
    """The column or dataset asked about is not in the catalog."""


@dataclass(frozen=True)
class ColumnNode:
    column_id: uuid.UUID
    dataset_fqn: str
    column: str
    depth: int
    mapping_type: str | None  # of the edge that reached this node
    lineage_type: str | None

    @property
    def fqn(self) -> str:
        return f"{self.dataset_fqn}.{self.column}"


@dataclass(frozen=True)
class DatasetNode:
    dataset_id: uuid.UUID
    fqn: str
    depth: int


def find_column(session: Session, company_id: uuid.UUID, fqn: str) -> Column:
    """A column by `<dataset fqn>.<column>` (dataset FQNs contain dots, so split at the last one)."""
    dataset_fqn, _, name = fqn.rpartition(".")
    row = session.scalar(
        select(Column)
        .join(Dataset, Dataset.dataset_id == Column.dataset_id)
        .where(Dataset.company_id == company_id, Dataset.fqn == dataset_fqn, Column.name == name)
    )
    if row is None:
        raise GraphError(f"no column {fqn!r} in the catalog (expected <dataset fqn>.<column>)")
    return row


def find_dataset(session: Session, company_id: uuid.UUID, fqn: str) -> Dataset:
    row = session.scalar(select(Dataset).where(Dataset.company_id == company_id, Dataset.fqn == fqn))
    if row is None:
        raise GraphError(f"no dataset {fqn!r} in the catalog")
    return row


def trace_columns(
    session: Session,
    company_id: uuid.UUID,
    column_fqn: str,
    *,
    direction: Direction = "upstream",
    include_indirect: bool = False,
    max_depth: int = 100,
) -> list[ColumnNode]:
    """Every column reachable from `column_fqn` along value lineage (and indirect edges if asked)."""
    start = find_column(session, company_id, column_fqn)
    here, there = (
        (Lineage.downstream_column_id, Lineage.upstream_column_id)
        if direction == "upstream"
        else (Lineage.upstream_column_id, Lineage.downstream_column_id)
    )
    seen: set[uuid.UUID] = {start.column_id}
    frontier = [start.column_id]
    found: list[tuple[uuid.UUID, int, str, str]] = []
    depth = 0
    while frontier and depth < max_depth:
        depth += 1
        query = select(there, Lineage.mapping_type, Lineage.lineage_type).where(
            Lineage.company_id == company_id, here.in_(frontier), there.is_not(None)
        )
        if not include_indirect:
            query = query.where(Lineage.lineage_type == "direct")
        next_frontier: list[uuid.UUID] = []
        for column_id, mapping_type, lineage_type in session.execute(query):
            if column_id not in seen:
                seen.add(column_id)
                next_frontier.append(column_id)
                found.append((column_id, depth, mapping_type, lineage_type))
        frontier = next_frontier
    return _column_nodes(session, found)


def _column_nodes(session: Session, found: list[tuple[uuid.UUID, int, str, str]]) -> list[ColumnNode]:
    if not found:
        return []
    names = {
        row.column_id: (row.fqn, row.name)
        for row in session.execute(
            select(Column.column_id, Dataset.fqn, Column.name)
            .join(Dataset, Dataset.dataset_id == Column.dataset_id)
            .where(Column.column_id.in_([f[0] for f in found]))
        )
    }
    nodes = [ColumnNode(cid, *names[cid], depth, mt, lt) for cid, depth, mt, lt in found if cid in names]
    return sorted(nodes, key=lambda n: (n.depth, n.dataset_fqn, n.column))


def source_columns(session: Session, company_id: uuid.UUID, column_fqn: str) -> list[ColumnNode]:
    """The columns at the end of every upstream path: where the value ultimately comes from."""
    nodes = trace_columns(session, company_id, column_fqn, direction="upstream")
    ids = [n.column_id for n in nodes]
    if not ids:
        return []
    has_upstream = set(
        session.scalars(
            select(Lineage.downstream_column_id).where(
                Lineage.downstream_column_id.in_(ids),
                Lineage.upstream_column_id.is_not(None),
                Lineage.lineage_type == "direct",
            )
        )
    )
    return [n for n in nodes if n.column_id not in has_upstream]


def trace_datasets(
    session: Session,
    company_id: uuid.UUID,
    fqn: str,
    *,
    direction: Direction = "downstream",
    max_depth: int = 100,
) -> list[DatasetNode]:
    """Model-level lineage: every dataset upstream of, or impacted by, `fqn`."""
    start = find_dataset(session, company_id, fqn)
    here, there = (
        (DatasetDependency.downstream_dataset_id, DatasetDependency.upstream_dataset_id)
        if direction == "upstream"
        else (DatasetDependency.upstream_dataset_id, DatasetDependency.downstream_dataset_id)
    )
    seen = {start.dataset_id}
    frontier = [start.dataset_id]
    found: dict[uuid.UUID, int] = {}
    depth = 0
    while frontier and depth < max_depth:
        depth += 1
        rows = session.scalars(
            select(there).where(DatasetDependency.company_id == company_id, here.in_(frontier))
        )
        frontier = [d for d in set(rows) if d not in seen]
        seen.update(frontier)
        found.update({d: depth for d in frontier})
    if not found:
        return []
    fqns = dict(
        session.execute(
            select(Dataset.dataset_id, Dataset.fqn).where(Dataset.dataset_id.in_(list(found)))
        ).all()
    )
    return sorted(
        (DatasetNode(d, fqns[d], depth) for d, depth in found.items()), key=lambda n: (n.depth, n.fqn)
    )
