"""The public value types of reconcile: machine suggestions, options, the result, and the errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from metadata_pipeline.errors import PipelineError

# Fields AI enrichment (or lineage propagation) may suggest; anything else in a Suggestions is ignored.
DATASET_SUGGESTION_FIELDS: frozenset[str] = frozenset(
    {"description", "medallion_layer", "entity_type", "entity_subtype", "ai_confidence_score"}
)
COLUMN_SUGGESTION_FIELDS: frozenset[str] = frozenset(
    {"description", "business_name", "pii_category", "ai_confidence_score"}
)


@dataclass(frozen=True)
class FieldValue:
    """One machine-written value: `source` says which machine ("ai:<provider>", "lineage:<how>")."""

    value: Any
    source: str
    confidence: int | None = None  # 0-100


@dataclass
class Suggestions:
    """Machine-written field values to merge into the catalog alongside an extraction.

    `datasets` is keyed by dbt unique_id, `columns` by (unique_id, column name).
    """

    datasets: dict[str, dict[str, FieldValue]] = field(default_factory=dict)
    columns: dict[tuple[str, str], dict[str, FieldValue]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReconcileOptions:
    # Lifecycle: a missing dataset is Deprecated at once and Deleted (soft) after this many
    # consecutive missing runs, or this many days after it was deprecated, whichever comes first.
    delete_after_runs: int = 3
    delete_after_days: float | None = None
    # Workspace lock: how long a second run waits, and how long a lock lives if its holder dies.
    lock_wait_s: float = 30.0
    lock_ttl_s: float = 900.0
    lock_poll_s: float = 0.2
    # Also catalog exposures and analyses (models, sources, seeds and snapshots always are).
    include_exposures: bool = False
    include_analyses: bool = False
    detect_renames: bool = True
    # Diff every dataset even when its input hash is unchanged (after out-of-band edits).
    full: bool = False
    # An extraction with no datasets would deprecate the whole connection; refuse unless told.
    allow_empty: bool = False
    # Bound on the per-category fqn lists kept in schema_versions.changes.
    version_detail_limit: int = 50
    # The columns, dependencies and edges of a dataset created in the same run are listed in that
    # dataset's own 'created' audit row (with their ids); True writes one 'created' row for each of
    # them too (a first reconcile of 10,000 models then writes ~400,000 audit rows instead of 10,000).
    audit_children_of_new_datasets: bool = False


@dataclass
class ReconcileResult:
    datasets_created: int = 0
    datasets_updated: int = 0
    datasets_renamed: int = 0
    datasets_deprecated: int = 0
    datasets_deleted: int = 0
    datasets_restored: int = 0
    datasets_unchanged: int = 0
    datasets_skipped_by_hash: int = 0
    columns_created: int = 0
    columns_updated: int = 0
    columns_removed: int = 0
    dependencies_added: int = 0
    dependencies_updated: int = 0
    dependencies_removed: int = 0
    lineage_added: int = 0
    lineage_updated: int = 0
    lineage_removed: int = 0
    links_added: int = 0
    audit_rows: int = 0
    suggestions_recorded: int = 0
    suggestions_rejected: int = 0
    edges_skipped: int = 0
    dependencies_skipped: int = 0
    version_id: uuid.UUID | None = None
    version_number: int | None = None
    snapshot_hash: str | None = None
    duration_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the catalog content changed (an audit row was written)."""
        return self.audit_rows > 0

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type in ("int", int)}

    def summary(self) -> str:
        if not self.changed:
            return (
                f"catalog up to date ({self.datasets_unchanged} datasets unchanged, {self.duration_s:.1f}s)"
            )
        parts = [
            _part(
                "datasets",
                self.datasets_created,
                self.datasets_updated,
                self.datasets_renamed,
                self.datasets_deprecated,
                self.datasets_deleted,
                self.datasets_restored,
            ),
            f"columns +{self.columns_created} ~{self.columns_updated} -{self.columns_removed}",
            f"dependencies +{self.dependencies_added} ~{self.dependencies_updated} -{self.dependencies_removed}",
            f"lineage +{self.lineage_added} ~{self.lineage_updated} -{self.lineage_removed}",
        ]
        version = f"version {self.version_number}" if self.version_number is not None else "no version"
        return f"{'; '.join(parts)}; {self.audit_rows} audit rows; {version} ({self.duration_s:.1f}s)"


def _part(
    label: str, created: int, updated: int, renamed: int, deprecated: int, deleted: int, restored: int
) -> str:
    named = {
        "created": created,
        "updated": updated,
        "renamed": renamed,
        "deprecated": deprecated,
        "deleted": deleted,
        "restored": restored,
    }
    shown = ", ".join(f"{n} {k}" for k, n in named.items() if n) or "none changed"
    return f"{label}: {shown}"


class ReconcileError(PipelineError):
    """A reconcile that cannot run as asked (unknown connection, empty extraction...)."""


class ReconcileLocked(ReconcileError):
    """Another reconcile holds the workspace lock and did not release it in time."""

    def __init__(self, lock_key: str, holder: str | None, expires_at: datetime, waited_s: float) -> None:
        self.lock_key = lock_key
        self.holder = holder
        self.expires_at = expires_at
        self.waited_s = waited_s
        super().__init__(
            f"{lock_key} is held by {holder or 'an unknown holder'} until {expires_at.isoformat()} "
            f"(waited {waited_s:.1f}s); retry later, or wait for the lock to expire if that run died"
        )


class ReconcileLockLost(ReconcileError):
    """This run's lock expired and another run took it over: nothing was committed."""
