"""Schema versions (seed 002): one row per reconcile that changed something, chained to its parent."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant
from metadata_pipeline.catalog.models import SchemaVersion

VERSIONS: Table = SchemaVersion.__table__  # type: ignore[assignment]


def snapshot_hash(entries: Iterable[tuple[str, uuid.UUID, str, str | None]]) -> str:
    """A deterministic hash of a connection's reconciled state.

    Each dataset contributes its identity, lifecycle status and input hash (which covers its columns,
    dependencies and lineage), so equal extractions over the same identities hash equal.
    """
    digest = hashlib.sha256()
    for fqn, dataset_id, status, input_hash in sorted(entries):
        digest.update(f"{fqn}\x1f{dataset_id}\x1f{status}\x1f{input_hash or '-'}\x1e".encode())
    return digest.hexdigest()


def bounded_changes(
    counts: Mapping[str, int], details: Mapping[str, list[Any]], limit: int
) -> dict[str, Any]:
    """Counts plus at most `limit` names per category, so a 10,000-model first run stays small."""
    shown = {kind: names[:limit] for kind, names in details.items() if names}
    truncated = {kind: len(names) - limit for kind, names in details.items() if len(names) > limit}
    return {"counts": {k: v for k, v in counts.items() if v}, "datasets": shown, "truncated": truncated}


def write_version(
    session: Session,
    tenant: Tenant,
    *,
    connection_id: uuid.UUID | None,
    job_id: uuid.UUID | None,
    actor: str,
    digest: str,
    changes: dict[str, Any],
    change_count: int,
) -> tuple[uuid.UUID, int]:
    """Append version parent+1 for the workspace (the workspace lock keeps numbers from racing)."""
    parent = session.execute(
        select(VERSIONS.c.version_id, VERSIONS.c.version_number)
        .where(VERSIONS.c.workspace_id == tenant.workspace_id, VERSIONS.c.company_id == tenant.company_id)
        .order_by(VERSIONS.c.version_number.desc())
        .limit(1)
    ).first()
    version_id = uuid.uuid4()
    number = 1 if parent is None else parent.version_number + 1
    row = {
        "version_id": version_id,
        "company_id": tenant.company_id,
        "workspace_id": tenant.workspace_id,
        "connection_id": connection_id,
        "version_number": number,
        "snapshot_hash": digest,
        "changes": changes,
        "change_count": change_count,
        "parent_version_id": None if parent is None else parent.version_id,
        "extraction_job_id": job_id,
        "created_by": actor[:255],
    }
    session.execute(insert(VERSIONS), [row])
    return version_id, number
