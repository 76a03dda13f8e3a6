"""The state one reconcile run shares between its phases: inputs, id maps, pending writes, result."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant
from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.reconcile import state as db
from metadata_pipeline.reconcile.audit import AUDIT_COLUMNS, AuditTrail
from metadata_pipeline.reconcile.desired import DesiredDataset, DesiredState
from metadata_pipeline.reconcile.fields import COLUMN_POLICIES, DATASET_POLICIES, validate_suggestion
from metadata_pipeline.reconcile.options import (
    COLUMN_SUGGESTION_FIELDS,
    DATASET_SUGGESTION_FIELDS,
    FieldValue,
    ReconcileOptions,
    ReconcileResult,
    Suggestions,
)

Row = dict[str, Any]
_LISTS = {"column": "columns", "dependency": "dependencies", "lineage": "lineage"}
DEPENDENCY_FIELDS = ("dependency_type", "extracted_from", "extraction_tier", "confidence")
LINEAGE_FIELDS = (
    "mapping_type",
    "transformation_expression",
    "confidence",
    "extracted_from",
    "upstream_dataset_id",
)
DATASET_VALUE_FIELDS = (*DATASET_POLICIES, *sorted(DATASET_SUGGESTION_FIELDS - set(DATASET_POLICIES)))
COLUMN_VALUE_FIELDS = (*COLUMN_POLICIES, *sorted(COLUMN_SUGGESTION_FIELDS - set(COLUMN_POLICIES)))
# Column order of the tuples each table's INSERT receives.
INSERT_COLUMNS: dict[str, tuple[str, ...]] = {
    "datasets": (
        "dataset_id",
        "company_id",
        *DATASET_VALUE_FIELDS,
        "field_sources",
        "suggested_values",
        "human_edited_fields",
        "reconcile_hash",
        "status",
        "missing_runs",
        "has_uncommitted_changes",
        "sync_status",
    ),
    "columns": (
        "column_id",
        "company_id",
        "dataset_id",
        *COLUMN_VALUE_FIELDS,
        "field_sources",
        "suggested_values",
    ),
    "dataset_dependencies": (
        "dependency_id",
        "company_id",
        "downstream_dataset_id",
        "upstream_dataset_id",
        *DEPENDENCY_FIELDS,
    ),
    "lineage": (
        "lineage_id",
        "company_id",
        "workspace_id",
        "downstream_dataset_id",
        "downstream_column_id",
        "upstream_column_id",
        "lineage_type",
        "role",
        *LINEAGE_FIELDS,
    ),
    "project_datasets": ("project_dataset_id", "company_id", "project_id", "dataset_id"),
    "workspace_datasets": ("workspace_dataset_id", "company_id", "workspace_id", "dataset_id"),
    "audit_logs": AUDIT_COLUMNS,
}


@dataclass(frozen=True)
class RunArgs:
    tenant: Tenant
    connection_id: uuid.UUID | None
    extraction: Extraction
    column_edges: Sequence[ColumnEdge]
    suggestions: Suggestions
    job_id: uuid.UUID | None
    actor: str
    options: ReconcileOptions


@dataclass
class Writes:
    """Everything one run will write, grouped per table, flushed in dependency order at the end."""

    new_datasets: dict[uuid.UUID, Row] = field(default_factory=dict)
    inserts: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    dataset_updates: dict[uuid.UUID, Row] = field(default_factory=dict)
    updates: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    deletes: dict[str, list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))

    def update_dataset(self, dataset_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        if not values:
            return
        target = self.new_datasets.get(dataset_id)  # a dataset created in this run: fold into its INSERT
        if target is None:
            target = self.dataset_updates.setdefault(dataset_id, {"dataset_id": dataset_id})
        target.update(values)

    def __bool__(self) -> bool:
        return bool(self.new_datasets or self.dataset_updates) or any(
            any(group.values()) for group in (self.inserts, self.updates, self.deletes)
        )


@dataclass
class RunContext:
    session: Session
    args: RunArgs
    now: datetime
    result: ReconcileResult
    audit: AuditTrail
    desired: DesiredState = field(default_factory=lambda: _empty_desired())
    writes: Writes = field(default_factory=Writes)
    matched: dict[str, Row] = field(default_factory=dict)  # desired fqn -> existing (light) row
    renamed: set[str] = field(default_factory=set)
    dataset_ids: dict[str, uuid.UUID] = field(default_factory=dict)  # fqn -> id (desired and external)
    column_ids: dict[tuple[uuid.UUID, str], uuid.UUID] = field(default_factory=dict)
    details: dict[uuid.UUID, Row] = field(default_factory=dict)
    columns: dict[uuid.UUID, dict[str, Row]] = field(default_factory=dict)
    dependencies: dict[uuid.UUID, dict[uuid.UUID, Row]] = field(default_factory=dict)
    lineage: dict[uuid.UUID, dict[db.LineageKey, Row]] = field(default_factory=dict)
    unstable: set[str] = field(default_factory=set)  # datasets with an unexpected gap: never hash-skipped
    removed_columns: list[uuid.UUID] = field(default_factory=list)
    names: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))  # fqns per change kind
    new_dataset_audit: dict[uuid.UUID, dict[str, Any]] = field(
        default_factory=dict
    )  # created rows' new_value

    @property
    def company_id(self) -> uuid.UUID:
        return self.args.tenant.company_id

    def count(self, counter: str, n: int = 1) -> None:
        setattr(self.result, counter, getattr(self.result, counter) + n)

    def is_renamed(self, ds: DesiredDataset) -> bool:
        return ds.fqn in self.renamed

    def audit_created(
        self,
        entity_type: str,
        entity_id: uuid.UUID,
        dataset_id: uuid.UUID,
        values: dict[str, Any],
        listed: Any,
    ) -> None:
        """A created column, dependency or edge: its own audit row, or, when its dataset is new in this
        run, an entry (`listed`) in the dataset's 'created' row (see audit_children_of_new_datasets)."""
        summary = self.new_dataset_audit.get(dataset_id)
        if summary is None or self.args.options.audit_children_of_new_datasets:
            self.audit.created(entity_type, entity_id, dataset_id, values)
        else:
            summary.setdefault(_LISTS[entity_type], []).append(listed)

    def dataset_suggestions(self, fqn: str) -> dict[str, FieldValue]:
        return self._valid(self.args.suggestions.datasets.get(fqn), DATASET_SUGGESTION_FIELDS)

    def column_suggestions(self, fqn: str, column: str) -> dict[str, FieldValue]:
        values = self.args.suggestions.columns.get((fqn, column)) if self.args.suggestions.columns else None
        return self._valid(values, COLUMN_SUGGESTION_FIELDS)

    def _valid(
        self, values: Mapping[str, FieldValue] | None, allowed: frozenset[str]
    ) -> dict[str, FieldValue]:
        """Machine values that fit the catalog; the rest are counted and dropped."""
        kept: dict[str, FieldValue] = {}
        for name, fv in (values or {}).items():
            if name in allowed and fv.value not in (None, "") and validate_suggestion(name, fv.value):
                kept[name] = fv
            else:
                self.result.suggestions_rejected += 1
        return kept


def _empty_desired() -> DesiredState:
    """A placeholder until the run indexes its extraction."""
    return DesiredState(Extraction("", "", "GOLD"), (), None, ReconcileOptions())
