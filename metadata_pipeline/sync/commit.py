"""Commit the catalog to Git (seed 000 section 4.2): YAML for the changed datasets, one commit.

Which datasets: those with uncommitted changes, those never committed, and those whose computed
path moved (renamed, reclassified, a new name collision); or exactly the ones named. Conflicted
datasets are left out until resolved. A file whose YAML is byte-identical to Git's is not written,
so committing an unchanged catalog is a no-op.

Nothing in Git is overwritten unseen: if Git has changes the catalog has not pulled to a file this
commit would write, the commit is refused (pull first); if the branch moves during the push, the
same file changes are re-applied on the new head, unless the move touched those files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import Dataset, SourceCodeCommit, SyncConflict, Workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.apply import stamp_audit
from metadata_pipeline.sync.documents import ColumnIndex, chunks, load_documents
from metadata_pipeline.sync.errors import CommitBlockedError, SyncError
from metadata_pipeline.sync.layout import (
    PathItem,
    assign_paths,
    default_layout,
    normalize_prefix,
    validate_layout,
)
from metadata_pipeline.sync.providers import (
    PIPELINE_AUTHOR,
    CommitAuthor,
    CommitInfo,
    FileChange,
    SourceControlProvider,
    TreeEntry,
    git_blob_sha,
    with_trailer,
)
from metadata_pipeline.sync.workspaces import get_workspace, open_provider
from metadata_pipeline.sync.yaml_format import dump_document


@dataclass
class CommitResult:
    status: Literal["committed", "no_changes", "nothing_to_commit"]
    workspace: str
    commit_sha: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)  # [{path, action, dataset_id}]
    datasets: list[str] = field(default_factory=list)  # fqns now synced
    skipped_conflicts: list[str] = field(default_factory=list)
    workspace_sha: str | None = None
    attempts: int = 0
    behind: bool = False  # Git has commits the catalog has not pulled

    def summary(self) -> str:
        if self.status == "nothing_to_commit":
            text = f"nothing to commit in workspace {self.workspace}"
        elif self.status == "no_changes":
            text = f"{len(self.datasets)} dataset(s) already match Git: marked synced, no commit made"
        else:
            sha = (self.commit_sha or "")[:12]
            text = f"committed {sha}: {len(self.files)} file(s) for {len(self.datasets)} dataset(s)"
            if self.attempts > 1:
                text += f" (branch moved; re-applied {self.attempts - 1} time(s))"
        if self.skipped_conflicts:
            text += f"; {len(self.skipped_conflicts)} dataset(s) in conflict left out: resolve them first"
        if self.behind:
            text += "; Git has changes the catalog has not pulled yet: run pull"
        return text


@dataclass(frozen=True)
class LiveDataset:
    """What selection and path layout need of every dataset, read in one query."""

    dataset_id: uuid.UUID
    fqn: str
    name: str
    medallion_layer: str | None
    resource_type: str | None
    entity_type: str | None
    status: str
    source_file_path: str | None
    source_commit_sha: str | None
    has_uncommitted_changes: bool
    sync_status: str

    @property
    def deleted(self) -> bool:
        return self.status == "Deleted"


def live_datasets(session: Session, company_id: uuid.UUID) -> list[LiveDataset]:
    cols = [getattr(Dataset, f) for f in LiveDataset.__dataclass_fields__]
    rows = session.execute(select(*cols).where(Dataset.company_id == company_id).order_by(Dataset.fqn))
    return [LiveDataset(*row) for row in rows]


def dataset_paths(live: list[LiveDataset], prefix: str, layout: str) -> dict[uuid.UUID, str]:
    items = [
        PathItem(d.dataset_id, d.name, d.fqn, d.medallion_layer, d.resource_type, d.entity_type)
        for d in live
        if not d.deleted
    ]
    return assign_paths(items, prefix, layout)


def _select(
    live: list[LiveDataset],
    paths: dict[uuid.UUID, str],
    names: list[str] | None,
    include_conflicted: bool,
    everything: bool = False,
) -> tuple[list[LiveDataset], list[str]]:
    """(datasets to commit, fqns left out because they are in conflict)."""
    if everything:  # regenerate every file; unchanged ones are still not written
        chosen = [d for d in live if not d.deleted or d.source_file_path]
    elif names is not None:
        by_fqn = {d.fqn: d for d in live}
        unknown = sorted(set(names) - set(by_fqn))
        if unknown:
            raise SyncError(f"no dataset named {', '.join(unknown)}")
        chosen = [by_fqn[n] for n in dict.fromkeys(names)]
        conflicted = [d.fqn for d in chosen if d.sync_status == "conflict"]
        if conflicted and not include_conflicted:
            raise SyncError(f"{', '.join(conflicted)} in conflict: run `conflicts resolve` first")
    else:
        chosen = [
            d
            for d in live
            if d.has_uncommitted_changes
            or (d.source_file_path is None and not d.deleted)
            or (
                d.source_file_path is not None and not d.deleted and paths[d.dataset_id] != d.source_file_path
            )
        ]
    if include_conflicted:
        return chosen, []
    return [d for d in chosen if d.sync_status != "conflict"], [
        d.fqn for d in chosen if d.sync_status == "conflict"
    ]


@dataclass
class Plan:
    changes: dict[str, FileChange] = field(default_factory=dict)  # path -> change
    files: list[dict[str, Any]] = field(default_factory=list)
    final_paths: dict[uuid.UUID, str | None] = field(default_factory=dict)


def plan_changes(
    selected: list[LiveDataset],
    paths: dict[uuid.UUID, str],
    contents: dict[uuid.UUID, str],
    tree: dict[str, TreeEntry],
) -> Plan:
    """Which files to write and delete; writes win over deletes of the same path (swapped names)."""
    plan = Plan()
    deletes: dict[str, uuid.UUID] = {}
    for d in selected:
        old = d.source_file_path
        moved = bool(old) and old in tree and (d.deleted or old != paths[d.dataset_id])
        if moved:
            deletes[old] = d.dataset_id  # type: ignore[index]
        if d.deleted:
            plan.final_paths[d.dataset_id] = None
            continue
        path = plan.final_paths[d.dataset_id] = paths[d.dataset_id]
        write = path not in tree or tree[path].sha != git_blob_sha(contents[d.dataset_id])
        if write:
            plan.changes[path] = FileChange(path, contents[d.dataset_id])
        if write or moved:
            action = "renamed" if moved else ("added" if path not in tree else "modified")
            entry: dict[str, Any] = {"path": path, "action": action, "dataset_id": str(d.dataset_id)}
            plan.files.append({**entry, "previous_path": old} if moved else entry)
    for path, ds_id in deletes.items():
        if path not in plan.changes:
            plan.changes[path] = FileChange(path, None)
            if not any(f.get("previous_path") == path for f in plan.files):
                plan.files.append({"path": path, "action": "deleted", "dataset_id": str(ds_id)})
    plan.files.sort(key=lambda f: f["path"])
    return plan


def _synced_blobs(
    provider: SourceControlProvider, prefix: str, owners: list[LiveDataset]
) -> dict[str, str | None]:
    """The blob each dataset's file had when the catalog last synced it (one listing per commit)."""
    result: dict[str, str | None] = {}
    for sha in {d.source_commit_sha for d in owners if d.source_commit_sha}:
        listing = provider.list_files(sha, prefix)
        for d in owners:
            if d.source_commit_sha == sha and d.source_file_path:
                entry = listing.get(d.source_file_path)
                result[d.source_file_path] = entry.sha if entry else None
    return result


def blocked_paths(
    provider: SourceControlProvider,
    prefix: str,
    plan: Plan,
    live: list[LiveDataset],
    tree: dict[str, TreeEntry],
    allow: dict[str, str | None],
) -> list[str]:
    """Files this commit would write or delete whose content in Git is not what the catalog last
    synced (an edit not pulled yet, or one the catalog could not read), unless `allow`ed."""
    owners = {d.source_file_path: d for d in live if d.source_file_path}
    synced = _synced_blobs(provider, prefix, [owners[p] for p in plan.changes if p in owners])
    blocked = []
    for path in plan.changes:
        now = tree[path].sha if path in tree else None
        if path in allow and allow[path] == now:
            continue
        if now != synced.get(path):
            blocked.append(path)
    return sorted(blocked)


def _on_moved(provider: SourceControlProvider, prefix: str, plan: Plan) -> Callable[[str | None, str], None]:
    def check(old: str | None, new: str) -> None:
        touched = {c.path for c in provider.changed_files(old, new, prefix)} & set(plan.changes)
        if touched:
            raise CommitBlockedError(sorted(touched))

    return check


def _lock_rows(session: Session, ids: list[uuid.UUID]) -> None:
    # PostgreSQL: hold the rows so an edit racing this commit is not marked synced by it.
    if session.get_bind().dialect.name == "postgresql":
        for part in chunks(sorted(ids)):
            session.execute(select(Dataset.dataset_id).where(Dataset.dataset_id.in_(part)).with_for_update())


def _mark_committed(
    session: Session,
    company_id: uuid.UUID,
    selected: list[LiveDataset],
    plan: Plan,
    sha: str | None,
    now: datetime,
) -> None:
    rows = [
        {
            "dataset_id": d.dataset_id,
            "has_uncommitted_changes": False,
            "sync_status": "synced",
            "sync_error_message": None,
            "source_commit_sha": sha,
            "source_file_path": plan.final_paths[d.dataset_id],
            "last_synced_at": now,
        }
        for d in selected
    ]
    if rows:
        session.execute(update(Dataset), rows)
    if sha:
        stamp_audit(session, company_id, [d.dataset_id for d in selected], sha)


def open_conflicts(session: Session, workspace_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                SyncConflict.workspace_id == workspace_id, SyncConflict.status == "open"
            )
        )
        or 0
    )


def _advance(
    session: Session,
    provider: SourceControlProvider,
    ws: Workspace,
    parent: str | None,
    new_sha: str | None,
    now: datetime,
) -> bool:
    """Move the workspace to `new_sha` only if Git had nothing unpulled before it; True if moved."""
    prefix = normalize_prefix(ws.path_prefix)
    clean = ws.source_commit_sha == parent or (
        parent is not None and not provider.changed_files(ws.source_commit_sha, parent, prefix)
    )
    if clean and open_conflicts(session, ws.workspace_id) == 0 and new_sha:
        ws.source_commit_sha = new_sha
        ws.last_synced_at, ws.is_synced = now, True
        return True
    ws.is_synced = False
    return False


@dataclass
class CommitRequest:
    message: str
    names: list[str] | None = None
    layout: str | None = None
    author: CommitAuthor = PIPELINE_AUTHOR
    include_conflicted: bool = False
    everything: bool = False  # every dataset, e.g. to refresh names other files refer to
    # path -> the blob sha (None: absent) Git may have there and this commit may overwrite anyway
    allow_overwrite: dict[str, str | None] = field(default_factory=dict)


def _prepare(
    session: Session,
    provider: SourceControlProvider,
    tenant: Tenant,
    ws: Workspace,
    request: CommitRequest,
    selected: list[LiveDataset],
    live: list[LiveDataset],
    paths: dict[uuid.UUID, str],
) -> tuple[Plan, str | None]:
    """The files to write against the current head, once nothing unpulled stands in the way."""
    prefix = normalize_prefix(ws.path_prefix)
    _lock_rows(session, [d.dataset_id for d in selected])
    index = ColumnIndex.load(session, tenant.company_id)
    docs = load_documents(
        session, tenant.company_id, [d.dataset_id for d in selected if not d.deleted], index
    )
    contents = {ds_id: dump_document(doc) for ds_id, doc in docs.items()}
    head = provider.latest_commit(ws.source_branch)
    tree = provider.list_files(head, prefix) if head else {}
    plan = plan_changes(selected, paths, contents, tree)
    blocked = blocked_paths(provider, prefix, plan, live, tree, request.allow_overwrite)
    if blocked:
        raise CommitBlockedError(blocked)
    return plan, head


def _publish(
    provider: SourceControlProvider, ws: Workspace, request: CommitRequest, plan: Plan, head: str | None
) -> CommitInfo | None:
    if not plan.changes:
        return None
    return provider.commit_files(
        ws.source_branch,
        [plan.changes[p] for p in sorted(plan.changes)],
        with_trailer(request.message),
        request.author,
        on_moved=_on_moved(provider, normalize_prefix(ws.path_prefix), plan),
        expected_head=head,
    )


def _record(
    session: Session,
    tenant: Tenant,
    ws: Workspace,
    request: CommitRequest,
    plan: Plan,
    info: CommitInfo,
    now: datetime,
) -> None:
    """The source_code_commits row (seed 000 createSourceControlCommit)."""
    session.add(
        SourceCodeCommit(
            company_id=tenant.company_id,
            project_id=ws.project_id,
            workspace_id=ws.workspace_id,
            commit_sha=info.sha,
            commit_message=request.message,
            author=request.author.name,
            committed_at=now,
            source_provider=ws.source_provider,
            files_changed=plan.files,
        )
    )


def commit_in_session(
    session: Session, provider: SourceControlProvider, tenant: Tenant, ws: Workspace, request: CommitRequest
) -> CommitResult:
    """The commit, inside a caller's session (conflict resolution reuses it)."""
    layout = validate_layout(request.layout or default_layout())
    live = live_datasets(session, tenant.company_id)
    paths = dataset_paths(live, normalize_prefix(ws.path_prefix), layout)
    selected, skipped = _select(live, paths, request.names, request.include_conflicted, request.everything)
    result = CommitResult(
        "nothing_to_commit", ws.name, skipped_conflicts=skipped, workspace_sha=ws.source_commit_sha
    )
    if not selected:
        return result
    plan, head = _prepare(session, provider, tenant, ws, request, selected, live, paths)
    info = _publish(provider, ws, request, plan, head)
    now = datetime.now(UTC)
    sha = info.sha if info else head
    # Git has the commit now; if this transaction failed, the next commit finds the same bytes
    # in Git (no new commit) and marks these datasets synced then.
    _mark_committed(session, tenant.company_id, selected, plan, sha, now)
    if info is not None:
        _record(session, tenant, ws, request, plan, info, now)
        result.status, result.commit_sha, result.files, result.attempts = (
            "committed",
            info.sha,
            plan.files,
            info.attempts,
        )
    else:
        result.status = "no_changes"
    moved = _advance(session, provider, ws, info.parent if info else head, sha, now)
    result.datasets = sorted(d.fqn for d in selected)
    result.workspace_sha = ws.source_commit_sha
    result.behind = not moved and open_conflicts(session, ws.workspace_id) == 0
    return result


def commit_workspace(
    engine: Engine,
    settings: Settings,
    tenant: Tenant,
    workspace_name: str = "main",
    message: str | None = None,
    datasets: list[str] | None = None,
    layout: str | None = None,
    author: CommitAuthor = PIPELINE_AUTHOR,
    provider: SourceControlProvider | None = None,
    all_datasets: bool = False,
) -> CommitResult:
    """Commit the workspace's changed datasets (or the named fqns, or all) to Git as one commit.

    Display names inside a file (upstream_column_name, target_dataset_fqn...) are refreshed when
    that file is written; `all_datasets` rewrites every file whose YAML no longer matches Git.
    """
    with session_scope(engine) as session:
        ws = get_workspace(session, tenant, workspace_name)
        own = provider is None
        provider = provider or open_provider(settings, ws)
        try:
            text = message or "Update metadata from the catalog"
            request = CommitRequest(text, datasets, layout, author, everything=all_datasets)
            return commit_in_session(session, provider, tenant, ws, request)
        finally:
            if own:
                provider.close()
