"""Pull Git into the catalog (seed 000 section 4.3): apply the files that changed since the last sync.

Files under the workspace's folder that changed between the workspace's SHA and the branch head are
parsed, validated as a batch (uuid and fqn collisions, lineage and references that must resolve) and
applied: create, update, restore, soft-delete, each change audited as `git:<sha>` and recorded as a
human edit. A dataset with uncommitted catalog changes whose file Git changed since the catalog last
synced it becomes a conflict instead (a `sync_conflicts` row with a field-level diff). A file that
cannot be accepted is reported with its file, line and field and changes nothing; the other files
still apply. The workspace SHA advances only when no conflict remains open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import Dataset, SyncConflict, Workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.apply import (
    ApplyContext,
    ApplyOutcome,
    Preloaded,
    apply_dataset,
    apply_links,
    mark_synced,
    soft_delete,
    stamp_audit,
)
from metadata_pipeline.sync.commit import LiveDataset, live_datasets, open_conflicts
from metadata_pipeline.sync.diff import diff_documents
from metadata_pipeline.sync.documents import (
    ColumnIndex,
    FieldProblem,
    assign_column_ids,
    load_documents,
    resolve_links,
)
from metadata_pipeline.sync.errors import SyncError, YamlFormatError
from metadata_pipeline.sync.layout import check_repo_path, is_metadata_file, is_under, normalize_prefix
from metadata_pipeline.sync.providers import ChangedFile, SourceControlProvider, TreeEntry
from metadata_pipeline.sync.workspaces import get_workspace, open_provider
from metadata_pipeline.sync.yaml_format import DatasetDocument, document_data, locate_field, parse_document


@dataclass
class PullResult:
    status: Literal["up_to_date", "synced", "conflicts"]
    workspace: str
    previous_sha: str | None = None
    head_sha: str | None = None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # [{fqn, path, fields}]
    errors: list[dict[str, Any]] = field(default_factory=list)  # [{path, line, field, message}]
    ignored: list[str] = field(default_factory=list)  # changed files that are not metadata YAML
    workspace_sha: str | None = None

    def summary(self) -> str:
        if self.status == "up_to_date":
            return f"workspace {self.workspace} is up to date ({(self.head_sha or 'empty')[:12]})"
        text = (
            f"pulled {(self.head_sha or '')[:12]}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.deleted)} deleted, {self.unchanged} unchanged"
        )
        if self.conflicts:
            text += f"; {len(self.conflicts)} conflict(s): run `conflicts list`"
        if self.errors:
            text += f"; {len(self.errors)} file(s) rejected"
        return text


def _problem(path: str, content: str, exc: FieldProblem) -> YamlFormatError:
    return YamlFormatError(path, exc.message, locate_field(content, exc.loc), exc.field)


def _uuid_error(path: str, content: str, message: str, field_name: str = "uuid") -> YamlFormatError:
    return _problem(path, content, FieldProblem(("dataset", field_name), message))


@dataclass
class Batch:
    """The files of one pull, as they move from text to accepted canonical documents."""

    head: str
    contents: dict[str, str] = field(default_factory=dict)
    docs: dict[str, DatasetDocument] = field(default_factory=dict)  # path -> parsed, then canonical
    removed: list[str] = field(default_factory=list)
    errors: dict[str, YamlFormatError] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    declared: set[uuid.UUID] = field(default_factory=set)  # every parsed file's uuid, even rejected ones

    def reject(self, path: str, error: YamlFormatError) -> None:
        self.errors[path] = error
        self.docs.pop(path, None)


def classify(batch: Batch, changed: list[ChangedFile], tree: dict[str, TreeEntry], prefix: str) -> list[str]:
    """Paths to read; removed, ignored and unsafe files are sorted out on the way."""
    to_read = []
    for change in changed:
        path = change.path
        try:
            check_repo_path(path)
        except SyncError as exc:
            batch.errors[path] = YamlFormatError(path, str(exc))
            continue
        if not is_under(path, prefix):
            continue
        if not is_metadata_file(path, prefix):
            batch.ignored.append(path)
        elif change.status == "removed":
            batch.removed.append(path)
        elif path not in tree:
            batch.removed.append(path)
        elif not tree[path].is_regular_file:
            kind = (
                "a symbolic link"
                if tree[path].mode == "120000"
                else f"not a regular file (mode {tree[path].mode})"
            )
            batch.errors[path] = YamlFormatError(path, f"is {kind}; metadata files must be plain files")
        else:
            to_read.append(path)
    return to_read


def parse_all(batch: Batch, contents: dict[str, str | None]) -> None:
    for path, text in sorted(contents.items()):
        batch.contents[path] = text or ""
        try:
            batch.docs[path] = parse_document(text or "", path)
            batch.declared.add(batch.docs[path].dataset.uuid)
        except YamlFormatError as exc:
            batch.errors[path] = exc


def _check_identities(
    batch: Batch, by_id: dict[uuid.UUID, LiveDataset], index: ColumnIndex, tree: dict[str, TreeEntry]
) -> None:
    """One dataset per uuid and per fqn, across the batch and against the catalog."""
    owners: dict[uuid.UUID, list[str]] = {}
    for path, doc in batch.docs.items():
        owners.setdefault(doc.dataset.uuid, []).append(path)
    removed = set(batch.removed)
    incoming_fqn = {doc.dataset.uuid: doc.dataset.fqn for doc in batch.docs.values()}
    fqn_paths: dict[str, list[str]] = {}
    for path, doc in sorted(batch.docs.items()):
        fqn_paths.setdefault(doc.dataset.fqn, []).append(path)
    for path, doc in sorted(batch.docs.items()):
        ds_id, text = doc.dataset.uuid, batch.contents[path]
        others = [p for p in owners[ds_id] if p != path]
        live = by_id.get(ds_id)
        if others:
            batch.reject(
                path, _uuid_error(path, text, f"uuid {ds_id} is also declared by {', '.join(others)}")
            )
        elif (
            live
            and live.source_file_path
            and live.source_file_path not in (path, *removed)
            and live.source_file_path in tree
        ):
            batch.reject(
                path, _uuid_error(path, text, f"uuid {ds_id} belongs to {live.fqn} ({live.source_file_path})")
            )
        elif len(fqn_paths[doc.dataset.fqn]) > 1:
            clash = [p for p in fqn_paths[doc.dataset.fqn] if p != path]
            batch.reject(path, _uuid_error(path, text, f"fqn is also declared by {', '.join(clash)}", "fqn"))
        else:
            holder = index.by_fqn.get(doc.dataset.fqn)
            if (
                holder is not None
                and holder != ds_id
                and incoming_fqn.get(holder, doc.dataset.fqn) == doc.dataset.fqn
            ):
                message = f"fqn {doc.dataset.fqn} belongs to dataset {holder}"
                batch.reject(path, _uuid_error(path, text, message, "fqn"))


def _check_columns(batch: Batch, index: ColumnIndex) -> None:
    seen: dict[uuid.UUID, str] = {}
    for path, doc in sorted(batch.docs.items()):
        try:
            resolved = assign_column_ids(doc, index)
        except FieldProblem as exc:
            batch.reject(path, _problem(path, batch.contents[path], exc))
            continue
        clash = next((c for c in resolved.dataset.columns if c.uuid in seen), None)
        if clash is not None:
            message = f"column uuid {clash.uuid} is also declared by {seen[clash.uuid]}"
            i = resolved.dataset.columns.index(clash)
            batch.reject(
                path,
                _problem(
                    path, batch.contents[path], FieldProblem(("dataset", "columns", i, "uuid"), message)
                ),
            )
            continue
        seen.update({c.uuid: path for c in resolved.dataset.columns if c.uuid})
        batch.docs[path] = resolved


def _resolve_links(batch: Batch, index: ColumnIndex) -> None:
    """Lineage and references must land on columns that exist once the batch is applied.

    Rejecting a file removes its columns from that world, which may break another file's links:
    repeat until nothing more is rejected.
    """
    pending = dict(batch.docs)
    while True:
        world = index.overlay(pending.values())
        resolved, rejected = {}, False
        for path, doc in sorted(pending.items()):
            try:
                resolved[path] = resolve_links(doc, world)
            except FieldProblem as exc:
                batch.reject(path, _problem(path, batch.contents[path], exc))
                rejected = True
        pending = {p: d for p, d in pending.items() if p in resolved}
        if not rejected:
            batch.docs = resolved
            return


def validate_batch(
    batch: Batch, live: list[LiveDataset], index: ColumnIndex, tree: dict[str, TreeEntry]
) -> None:
    _check_identities(batch, {d.dataset_id: d for d in live}, index, tree)
    _check_columns(batch, index)
    _resolve_links(batch, index)


def record_conflict(
    session: Session,
    ws: Workspace,
    ds_id: uuid.UUID,
    path: str,
    sha: str,
    diff: list[dict[str, Any]],
    git: dict[str, Any] | None,
) -> SyncConflict:
    """One open conflict per dataset: a newer Git version refreshes it rather than adding another."""
    row = session.scalar(
        select(SyncConflict).where(
            SyncConflict.workspace_id == ws.workspace_id,
            SyncConflict.dataset_id == ds_id,
            SyncConflict.status == "open",
        )
    )
    if row is None:
        row = SyncConflict(
            company_id=ws.company_id, workspace_id=ws.workspace_id, dataset_id=ds_id, status="open"
        )
        session.add(row)
    row.file_path, row.git_sha, row.diff, row.git_document = path, sha, diff, git
    ds = session.get(Dataset, ds_id)
    assert ds is not None
    ds.sync_status = "conflict"
    return row


def close_conflicts(
    session: Session, ws: Workspace, ds_id: uuid.UUID, resolution: str, now: datetime
) -> None:
    for row in session.scalars(
        select(SyncConflict).where(
            SyncConflict.workspace_id == ws.workspace_id,
            SyncConflict.dataset_id == ds_id,
            SyncConflict.status == "open",
        )
    ):
        row.status, row.resolution, row.resolved_at = "resolved", resolution, now


def canonical_base(text: str | None, index: ColumnIndex) -> dict[str, Any] | None:
    """The version both sides started from, canonical, or None when it no longer reads."""
    if text is None:
        return None
    try:
        doc = assign_column_ids(parse_document(text, "<base>"), index)
        return document_data(resolve_links(doc, index.overlay([doc])))
    except (YamlFormatError, FieldProblem):
        return None


@dataclass
class Puller:
    """One pull of one workspace inside one session."""

    session: Session
    provider: SourceControlProvider
    tenant: Tenant
    ws: Workspace
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def context(self, head: str) -> ApplyContext:
        actor = f"git:{head}"
        return ApplyContext(
            self.session, self.tenant.company_id, self.ws.workspace_id, actor, head, self.now, actor
        )

    def run(self) -> PullResult:
        ws = self.ws
        result = PullResult("up_to_date", ws.name, ws.source_commit_sha, workspace_sha=ws.source_commit_sha)
        head = self.provider.latest_commit(ws.source_branch)
        result.head_sha = head
        if head is None or head == ws.source_commit_sha:
            return result
        live = live_datasets(self.session, self.tenant.company_id)
        batch, tree = self.read_batch(head, live)
        index = ColumnIndex.load(self.session, self.tenant.company_id)
        validate_batch(batch, live, index, tree)
        to_apply = self.split_conflicts(batch, live, index, result)
        self.apply(batch, to_apply, result)
        self.remove(batch, live, result)
        self.flag_errors(batch, live)
        result.errors = [batch.errors[p].as_dict() for p in sorted(batch.errors)]
        result.ignored = sorted(batch.ignored)
        if open_conflicts(self.session, ws.workspace_id) == 0:
            ws.source_commit_sha, ws.last_synced_at, ws.is_synced = head, self.now, True
        else:
            ws.is_synced = False
        result.workspace_sha = ws.source_commit_sha
        result.status = "conflicts" if result.conflicts else "synced"
        return result

    def _open_conflict_files(
        self, changed: list[ChangedFile], tree: dict[str, TreeEntry]
    ) -> list[ChangedFile]:
        """Files of open conflicts, re-examined on every pull even when the range does not show
        them (Git may have reverted to the synced version, which withdraws the conflict)."""
        seen = {c.path for c in changed}
        paths = self.session.scalars(
            select(SyncConflict.file_path).where(
                SyncConflict.workspace_id == self.ws.workspace_id, SyncConflict.status == "open"
            )
        )
        return [ChangedFile(p, "modified" if p in tree else "removed") for p in sorted(set(paths) - seen)]

    def _drifted_files(
        self, tree: dict[str, TreeEntry], live: list[LiveDataset], prefix: str
    ) -> list[ChangedFile]:
        """Files whose content differs from what the catalog last synced for them, by blob sha.

        Used while a conflict holds the workspace SHA back: earlier pulls have applied the rest of
        the range, so a diff from the held-back SHA would miss an edit that Git later reverted.
        """
        owners = {d.source_file_path: d for d in live if d.source_file_path and not d.deleted}
        synced: dict[str, str | None] = {}
        for sha in {d.source_commit_sha for d in owners.values() if d.source_commit_sha}:
            listing = self.provider.list_files(sha, prefix)
            for path, owner in owners.items():
                if owner.source_commit_sha == sha:
                    synced[path] = listing[path].sha if path in listing else None
        changed = [
            ChangedFile(path, "modified" if path in owners else "added")
            for path, entry in tree.items()
            if path not in synced or synced[path] != entry.sha
        ]
        changed += [ChangedFile(path, "removed") for path in owners if path not in tree]
        return sorted(changed, key=lambda c: c.path)

    def read_batch(self, head: str, live: list[LiveDataset]) -> tuple[Batch, dict[str, TreeEntry]]:
        prefix = normalize_prefix(self.ws.path_prefix)
        tree = self.provider.list_files(head, prefix)
        if open_conflicts(self.session, self.ws.workspace_id):
            changed = self._drifted_files(tree, live, prefix)
        else:
            changed = self.provider.changed_files(self.ws.source_commit_sha, head, prefix)
        changed += self._open_conflict_files(changed, tree)
        batch = Batch(head)
        to_read = classify(batch, changed, tree, prefix)
        parse_all(batch, self.provider.read_files(head, to_read))
        return batch, tree

    def split_conflicts(
        self, batch: Batch, live: list[LiveDataset], index: ColumnIndex, result: PullResult
    ) -> list[str]:
        """Paths to apply; files of datasets with uncommitted changes become conflicts or are skipped."""
        by_id = {d.dataset_id: d for d in live}
        pending = {
            p: by_id[d.dataset.uuid] for p, d in batch.docs.items() if self._dirty(by_id.get(d.dataset.uuid))
        }
        bases = self.provider.read_files_at(
            {
                p: (d.source_commit_sha, d.source_file_path)
                for p, d in pending.items()
                if d.source_commit_sha and d.source_file_path
            }
        )
        catalog = load_documents(
            self.session, self.tenant.company_id, [d.dataset_id for d in pending.values()], index
        )
        to_apply = [p for p in sorted(batch.docs) if p not in pending]
        for path, live_ds in sorted(pending.items()):
            base_text = bases.get(path)
            if base_text is not None and base_text == batch.contents[path]:
                # Git has (again) what the catalog last synced: the catalog's edit stands.
                if live_ds.sync_status == "conflict":
                    self._withdraw(live_ds.dataset_id)
                continue
            ours, theirs = document_data(catalog[live_ds.dataset_id]), document_data(batch.docs[path])
            if ours == theirs:  # both sides made the same change
                self._agree(live_ds.dataset_id, path, batch.head)
                continue
            base_known = path in bases
            diff = diff_documents(ours, theirs, canonical_base(base_text, index), base_known)
            record_conflict(self.session, self.ws, live_ds.dataset_id, path, batch.head, diff, theirs)
            result.conflicts.append({"fqn": live_ds.fqn, "path": path, "fields": [e["path"] for e in diff]})
        return to_apply

    @staticmethod
    def _dirty(live: LiveDataset | None) -> bool:
        return live is not None and (live.has_uncommitted_changes or live.sync_status == "conflict")

    def _withdraw(self, ds_id: uuid.UUID) -> None:
        """Git went back to the synced version: the open conflict has nothing left to resolve."""
        ds = self.session.get(Dataset, ds_id)
        assert ds is not None
        ds.sync_status = "pending" if ds.has_uncommitted_changes else "synced"
        close_conflicts(self.session, self.ws, ds_id, "ours", self.now)

    def _agree(self, ds_id: uuid.UUID, path: str, head: str) -> None:
        ds = self.session.get(Dataset, ds_id)
        assert ds is not None
        mark_synced(ds, head, path, self.now)
        stamp_audit(self.session, self.tenant.company_id, [ds_id], head)
        close_conflicts(self.session, self.ws, ds_id, "theirs", self.now)

    def apply(self, batch: Batch, paths: list[str], result: PullResult) -> None:
        """All files in one go; if the catalog refuses something, again file by file to find it."""
        ctx = self.context(batch.head)
        ids = [batch.docs[p].dataset.uuid for p in paths]
        try:
            with self.session.begin_nested():
                pre = Preloaded.load(self.session, ids)
                outcomes = self._apply_all(ctx, batch, paths, pre)
        except SQLAlchemyError:
            pre = Preloaded.load(self.session, ids)  # the rollback expired what was loaded
            outcomes = self._apply_each(ctx, batch, paths, pre)
        for path, outcome in outcomes.items():
            mark_synced(pre.datasets[outcome.dataset_id], batch.head, path, self.now)
            fqn = batch.docs[path].dataset.fqn
            if outcome.created:
                result.created.append(fqn)
            elif outcome.changes:
                result.updated.append(fqn)
            else:
                result.unchanged += 1

    def _apply_all(
        self, ctx: ApplyContext, batch: Batch, paths: list[str], pre: Preloaded
    ) -> dict[str, ApplyOutcome]:
        outcomes = {path: apply_dataset(ctx, batch.docs[path], pre) for path in paths}
        self.session.flush()  # phase 2 points at columns phase 1 created
        for path, outcome in outcomes.items():
            apply_links(ctx, batch.docs[path], outcome, pre)
        self.session.flush()
        return outcomes

    def _apply_each(
        self, ctx: ApplyContext, batch: Batch, paths: list[str], pre: Preloaded
    ) -> dict[str, ApplyOutcome]:
        outcomes: dict[str, ApplyOutcome] = {}
        for path in paths:  # phase 1: datasets and columns
            outcome = self._savepoint(batch, path, lambda p=path: apply_dataset(ctx, batch.docs[p], pre))
            if outcome is not None:
                outcomes[path] = outcome
        linked = {}
        for path, outcome in outcomes.items():  # phase 2: links, now that every column exists
            if self._savepoint(
                batch, path, lambda p=path, o=outcome: apply_links(ctx, batch.docs[p], o, pre)
            ):
                linked[path] = outcome
        return linked

    def _savepoint(self, batch: Batch, path: str, action: Any) -> ApplyOutcome | None:
        try:
            with self.session.begin_nested():  # flushes on the way out, so a refusal surfaces here
                return action()  # type: ignore[no-any-return]
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            batch.errors[path] = YamlFormatError(path, f"the catalog refused it: {reason}")
            return None

    def _removed_owners(self, batch: Batch, live: list[LiveDataset]) -> dict[str, LiveDataset]:
        """The dataset each removed file held: by its recorded path, else by the old file's uuid."""
        by_path = {d.source_file_path: d for d in live if d.source_file_path}
        owners = {p: by_path[p] for p in batch.removed if p in by_path}
        unknown = [p for p in batch.removed if p not in owners]
        base = self.ws.source_commit_sha
        if unknown and base:
            by_id = {d.dataset_id: d for d in live}
            for path, old in self.provider.read_files(base, unknown).items():
                try:
                    owner = by_id.get(parse_document(old, path).dataset.uuid) if old else None
                except YamlFormatError:
                    owner = None
                if owner is not None:
                    owners[path] = owner
        return owners

    def _deletion_conflict(self, owner: LiveDataset, path: str, head: str, result: PullResult) -> None:
        index = ColumnIndex.load(self.session, self.tenant.company_id)
        docs = load_documents(self.session, self.tenant.company_id, [owner.dataset_id], index)
        diff = diff_documents(document_data(docs[owner.dataset_id]), None)
        record_conflict(self.session, self.ws, owner.dataset_id, path, head, diff, None)
        result.conflicts.append({"fqn": owner.fqn, "path": path, "fields": ["dataset"]})

    def remove(self, batch: Batch, live: list[LiveDataset], result: PullResult) -> None:
        ctx = self.context(batch.head)
        for path, owner in sorted(self._removed_owners(batch, live).items()):
            # Still declared by another file of this pull (even a rejected one): it moved, not gone.
            if owner.deleted or owner.dataset_id in batch.declared:
                continue
            if self._dirty(owner):
                self._deletion_conflict(owner, path, batch.head, result)
                continue
            ds = self.session.get(Dataset, owner.dataset_id)
            assert ds is not None
            soft_delete(ctx, ds)
            mark_synced(ds, batch.head, None, self.now)
            result.deleted.append(owner.fqn)

    def flag_errors(self, batch: Batch, live: list[LiveDataset]) -> None:
        """A dataset whose file was rejected shows it in the catalog until a later pull accepts it."""
        by_path = {d.source_file_path: d for d in live if d.source_file_path}
        for path, error in batch.errors.items():
            owner = by_path.get(path)
            ds = self.session.get(Dataset, owner.dataset_id) if owner else None
            if ds is None:
                continue
            ds.sync_error_message = str(error)
            if ds.sync_status != "conflict":
                ds.sync_status = "error"


def pull_in_session(
    session: Session, provider: SourceControlProvider, tenant: Tenant, ws: Workspace
) -> PullResult:
    return Puller(session, provider, tenant, ws).run()


def pull_workspace(
    engine: Engine,
    settings: Settings,
    tenant: Tenant,
    workspace_name: str = "main",
    provider: SourceControlProvider | None = None,
) -> PullResult:
    """Apply Git's changes since the workspace's last synced commit to the catalog."""
    with session_scope(engine) as session:
        ws = get_workspace(session, tenant, workspace_name)
        own = provider is None
        provider = provider or open_provider(settings, ws)
        try:
            return pull_in_session(session, provider, tenant, ws)
        finally:
            if own:
                provider.close()
