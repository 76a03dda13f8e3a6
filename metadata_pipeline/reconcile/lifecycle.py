"""Dataset lifecycle (seed 002): Draft -> Active -> Deprecated -> Deleted (soft), and back to Active.

A dataset missing from its connection's extraction is Deprecated at once (still visible, still
linked), then Deleted after `delete_after_runs` consecutive missing runs or `delete_after_days`
since deprecation. Deleted is soft: the row, its UUID, columns and lineage stay, so a dataset that
comes back is restored as the same entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from metadata_pipeline.reconcile.locks import as_utc
from metadata_pipeline.reconcile.options import ReconcileOptions

Row = dict[str, Any]


@dataclass
class Transition:
    kind: str  # deprecated | deleted | restored | activated | still_missing | reset
    values: dict[str, Any] = field(default_factory=dict)
    change_type: str | None = None  # the audit change_type; None: bookkeeping only (no audit row)
    old_status: str | None = None
    new_status: str | None = None


def on_missing(row: Row, now: datetime, options: ReconcileOptions) -> Transition | None:
    status = row["status"]
    if status == "Active":
        return Transition(
            "deprecated",
            {"status": "Deprecated", "deprecated_at": now, "missing_runs": 1},
            "updated",
            status,
            "Deprecated",
        )
    if status != "Deprecated":
        return None  # Draft belongs to a person; Deleted is final until the dataset returns
    runs = int(row.get("missing_runs") or 0) + 1
    if _expired(row, runs, now, options):
        return Transition(
            "deleted",
            {"status": "Deleted", "deleted_at": now, "missing_runs": runs},
            "deleted",
            status,
            "Deleted",
        )
    # Counting missing runs is bookkeeping: it changes nothing a person sees or commits.
    return Transition("still_missing", {"missing_runs": runs})


def _expired(row: Row, runs: int, now: datetime, options: ReconcileOptions) -> bool:
    if runs >= options.delete_after_runs:
        return True
    deprecated_at = row.get("deprecated_at")
    if options.delete_after_days is None or deprecated_at is None:
        return False
    return now - as_utc(deprecated_at) >= timedelta(days=options.delete_after_days)


def on_present(row: Row) -> Transition | None:
    status = row["status"]
    if status in ("Deprecated", "Deleted"):
        values = {"status": "Active", "deprecated_at": None, "deleted_at": None, "missing_runs": 0}
        return Transition("restored", values, "restored", status, "Active")
    if status == "Draft":  # the designer's draft now exists in dbt: it is deployed
        return Transition("activated", {"status": "Active", "missing_runs": 0}, "updated", status, "Active")
    if row.get("missing_runs"):
        return Transition("reset", {"missing_runs": 0})
    return None
