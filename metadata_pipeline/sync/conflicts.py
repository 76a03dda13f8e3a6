"""Resolve sync conflicts (seed 000 section 4.4): ours, theirs, or a field-by-field manual merge.

- ours: the catalog's version is committed to Git over Git's.
- theirs: Git's version is applied to the catalog (as human edits from that commit).
- manual: each differing field takes the side named with `--take FIELD=catalog|git`; fields not named
  take the side that changed them since the last sync (`--default auto`), and the catalog when both
  did (the catalog is the source of truth); the merge is applied to the catalog, then committed.

Each leaves the dataset identical in the catalog and in Git. Once no conflict of the workspace is
open, a pull runs so the workspace SHA catches up with the branch.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import Dataset, SyncConflict, Workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.apply import ApplyContext, apply_document, mark_synced, soft_delete, stamp_audit
from metadata_pipeline.sync.commit import CommitRequest, CommitResult, commit_in_session, open_conflicts
from metadata_pipeline.sync.diff import Side, choose_sides, diff_documents, merge_documents
from metadata_pipeline.sync.documents import (
    ColumnIndex,
    FieldProblem,
    assign_column_ids,
    load_documents,
    resolve_links,
)
from metadata_pipeline.sync.errors import SyncError
from metadata_pipeline.sync.providers import SourceControlProvider, git_blob_sha
from metadata_pipeline.sync.pull import PullResult, canonical_base, close_conflicts, pull_workspace
from metadata_pipeline.sync.workspaces import get_workspace, open_provider
from metadata_pipeline.sync.yaml_format import DatasetDocument, document_data

Strategy = Literal["ours", "theirs", "manual"]
STRATEGIES = ("ours", "theirs", "manual")


@dataclass
class ConflictView:
    fqn: str
    dataset_id: uuid.UUID | None
    path: str
    git_sha: str
    status: str
    resolution: str | None
    created_at: datetime | None
    diff: list[dict[str, Any]]


def list_conflicts(
    engine: Engine, tenant: Tenant, workspace_name: str = "main", include_resolved: bool = False
) -> list[ConflictView]:
    with session_scope(engine) as session:
        ws = get_workspace(session, tenant, workspace_name)
        query = (
            select(SyncConflict, Dataset.fqn)
            .join(Dataset, Dataset.dataset_id == SyncConflict.dataset_id, isouter=True)
            .where(SyncConflict.workspace_id == ws.workspace_id)
            .order_by(SyncConflict.status, Dataset.fqn)
        )
        if not include_resolved:
            query = query.where(SyncConflict.status == "open")
        return [
            ConflictView(
                fqn or "?",
                c.dataset_id,
                c.file_path,
                c.git_sha,
                c.status,
                c.resolution,
                c.created_at,
                c.diff or [],
            )
            for c, fqn in session.execute(query)
        ]


@dataclass
class ResolveResult:
    fqn: str
    strategy: str
    sides: dict[str, Side] = field(default_factory=dict)  # manual: what each differing field took
    commit: CommitResult | None = None
    remaining: int = 0
    pull: PullResult | None = None

    def summary(self) -> str:
        text = f"resolved {self.fqn} with {self.strategy}"
        if self.commit is not None and self.commit.commit_sha:
            text += f", committed {self.commit.commit_sha[:12]}"
        if self.remaining:
            text += f"; {self.remaining} conflict(s) still open"
        elif self.pull is not None:
            text += f"; {self.pull.summary()}"
        return text


def _find(session: Session, tenant: Tenant, ws: Workspace, fqn: str) -> tuple[Dataset, SyncConflict]:
    ds = session.scalar(select(Dataset).where(Dataset.company_id == tenant.company_id, Dataset.fqn == fqn))
    conflict = None
    if ds is not None:
        conflict = session.scalar(
            select(SyncConflict).where(
                SyncConflict.workspace_id == ws.workspace_id,
                SyncConflict.dataset_id == ds.dataset_id,
                SyncConflict.status == "open",
            )
        )
    if ds is None or conflict is None:
        raise SyncError(f"no open conflict for {fqn} in workspace {ws.name}")
    return ds, conflict


def _check_fresh(
    provider: SourceControlProvider, ws: Workspace, conflict: SyncConflict
) -> dict[str, str | None]:
    """Git's file must still be the version the conflict recorded; returns what `ours` may overwrite."""
    head = provider.latest_commit(ws.source_branch)
    now = provider.file_content(head, conflict.file_path) if head else None
    then = provider.file_content(conflict.git_sha, conflict.file_path)
    if now != then:
        raise SyncError(
            f"{conflict.file_path} changed again in Git since the conflict was recorded: run pull first"
        )
    return {conflict.file_path: git_blob_sha(now) if now is not None else None}


def _canonical(data: dict[str, Any], index: ColumnIndex, what: str) -> DatasetDocument:
    try:
        doc = assign_column_ids(DatasetDocument.model_validate(data), index)
        return resolve_links(doc, index.overlay([doc]))
    except ValidationError as exc:
        raise SyncError(f"{what} is not a valid dataset: {exc.errors()[0]['msg']}") from None
    except FieldProblem as exc:
        raise SyncError(
            f"{what} is inconsistent at {exc.field}: {exc.message}; take related fields from one side"
        ) from None


def _context(
    session: Session, tenant: Tenant, ws: Workspace, actor: str, sha: str | None, human: str | None
) -> ApplyContext:
    return ApplyContext(session, tenant.company_id, ws.workspace_id, actor, sha, datetime.now(UTC), human)


def _take_theirs(
    session: Session, tenant: Tenant, ws: Workspace, ds: Dataset, conflict: SyncConflict
) -> None:
    actor = f"git:{conflict.git_sha}"
    ctx = _context(session, tenant, ws, actor, conflict.git_sha, actor)
    # The catalog's pending edits are superseded by this Git version: they no longer await a commit.
    stamp_audit(session, tenant.company_id, [ds.dataset_id], conflict.git_sha)
    if conflict.git_document is None:
        soft_delete(ctx, ds)
        mark_synced(ds, conflict.git_sha, None, ctx.now)
        return
    index = ColumnIndex.load(session, tenant.company_id)
    apply_document(ctx, _canonical(conflict.git_document, index, "Git's version"))
    mark_synced(ds, conflict.git_sha, conflict.file_path, ctx.now)


def _commit_catalog(
    session: Session,
    provider: SourceControlProvider,
    tenant: Tenant,
    ws: Workspace,
    ds: Dataset,
    allow: dict[str, str | None],
    how: str,
    layout: str | None,
) -> CommitResult:
    message = f"Resolve conflict: {how} for {ds.name}"
    request = CommitRequest(message, [ds.fqn], layout, include_conflicted=True, allow_overwrite=dict(allow))
    if ds.source_file_path and ds.source_file_path not in allow:  # a catalog rename: the old file goes too
        request.allow_overwrite[ds.source_file_path] = _blob_at_head(provider, ws, ds.source_file_path)
    session.flush()
    return commit_in_session(session, provider, tenant, ws, request)


def _blob_at_head(provider: SourceControlProvider, ws: Workspace, path: str) -> str | None:
    head = provider.latest_commit(ws.source_branch)
    entry = provider.list_files(head, path).get(path) if head else None
    return entry.sha if entry else None


def _manual_merge(
    session: Session,
    provider: SourceControlProvider,
    tenant: Tenant,
    ws: Workspace,
    ds: Dataset,
    conflict: SyncConflict,
    take: dict[str, str],
    default: str,
) -> dict[str, Side]:
    index = ColumnIndex.load(session, tenant.company_id)
    ours = (
        None
        if ds.status == "Deleted"
        else document_data(load_documents(session, tenant.company_id, [ds.dataset_id], index)[ds.dataset_id])
    )
    known = bool(ds.source_commit_sha and ds.source_file_path)
    base = (
        canonical_base(provider.file_content(ds.source_commit_sha, ds.source_file_path), index)
        if known
        else None
    )  # type: ignore[arg-type]
    entries = diff_documents(ours, conflict.git_document, base, known)
    sides = choose_sides(entries, take, default)
    merged = merge_documents(ours, conflict.git_document, entries, sides)
    human = f"git:{conflict.git_sha}"
    ctx = _context(session, tenant, ws, "conflict:manual", None, human)
    if merged is None:
        soft_delete(ctx, ds)
    else:
        apply_document(ctx, _canonical(merged, index, "the merged version"))
    return sides


def _resolve(
    session: Session,
    provider: SourceControlProvider,
    tenant: Tenant,
    ws: Workspace,
    result: ResolveResult,
    take: dict[str, str],
    default: str,
    layout: str | None,
) -> None:
    ds, conflict = _find(session, tenant, ws, result.fqn)
    allow = _check_fresh(provider, ws, conflict)
    if result.strategy == "theirs":
        _take_theirs(session, tenant, ws, ds, conflict)
    else:
        if result.strategy == "manual":
            result.sides = _manual_merge(session, provider, tenant, ws, ds, conflict, take, default)
        how = "manual merge" if result.strategy == "manual" else "keep catalog version"
        result.commit = _commit_catalog(session, provider, tenant, ws, ds, allow, how, layout)
    close_conflicts(session, ws, ds.dataset_id, result.strategy, datetime.now(UTC))
    session.flush()
    result.remaining = open_conflicts(session, ws.workspace_id)


def resolve_conflict(
    engine: Engine,
    settings: Settings,
    tenant: Tenant,
    fqn: str,
    strategy: str,
    take: dict[str, str] | None = None,
    default: str = "auto",
    workspace_name: str = "main",
    layout: str | None = None,
    provider: SourceControlProvider | None = None,
) -> ResolveResult:
    """Resolve the open conflict of one dataset; then, if none is left, pull to catch up.

    The resolution commits in its own transaction before the pull, so a failing pull never undoes it.
    """
    if strategy not in STRATEGIES:
        raise SyncError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if take and strategy != "manual":
        raise SyncError("--take only applies to --strategy manual")
    result = ResolveResult(fqn, strategy)
    with ExitStack() as stack:
        with session_scope(engine) as session:
            ws = get_workspace(session, tenant, workspace_name)
            if provider is None:
                provider = open_provider(settings, ws)
                stack.callback(provider.close)
            _resolve(session, provider, tenant, ws, result, take or {}, default, layout)
        if result.remaining == 0:
            result.pull = pull_workspace(engine, settings, tenant, workspace_name, provider=provider)
    return result
