"""Reconcile an extraction into the catalog (issue #5): identity-preserving upserts, change tracking,
human-edit precedence, lifecycle, schema versions and a workspace lock, in one transaction."""

from metadata_pipeline.reconcile.human import mark_human_edit
from metadata_pipeline.reconcile.locks import (
    LockHandle,
    acquire_lock,
    reconcile_lock_key,
    release_lock,
)
from metadata_pipeline.reconcile.options import (
    COLUMN_SUGGESTION_FIELDS,
    DATASET_SUGGESTION_FIELDS,
    FieldValue,
    ReconcileError,
    ReconcileLocked,
    ReconcileLockLost,
    ReconcileOptions,
    ReconcileResult,
    Suggestions,
)
from metadata_pipeline.reconcile.reconcile import reconcile_extraction

__all__ = [
    "COLUMN_SUGGESTION_FIELDS",
    "DATASET_SUGGESTION_FIELDS",
    "FieldValue",
    "LockHandle",
    "ReconcileError",
    "ReconcileLockLost",
    "ReconcileLocked",
    "ReconcileOptions",
    "ReconcileResult",
    "Suggestions",
    "acquire_lock",
    "mark_human_edit",
    "reconcile_extraction",
    "reconcile_lock_key",
    "release_lock",
]
