"""One reconcile run inside its transaction: load identities, decide what changed, diff, write.

The run loads the connection's catalog state in a handful of set-based queries, diffs it against the
extraction in Python, and writes the difference with bulk statements. A dataset whose input hash
equals its stored `reconcile_hash` is skipped without loading its columns, dependencies or lineage:
that is what makes a no-change re-run of a large project cheap.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import set_company
from metadata_pipeline.catalog.models import (
    Column,
    Connection,
    Dataset,
    DatasetDependency,
    ExtractionJob,
    Lineage,
)
from metadata_pipeline.reconcile import state as db
from metadata_pipeline.reconcile.audit import AuditTrail
from metadata_pipeline.reconcile.context import INSERT_COLUMNS, Row, RunArgs, RunContext
from metadata_pipeline.reconcile.desired import DesiredDataset, build_desired, sha256_text
from metadata_pipeline.reconcile.entities import apply_transition, diff_dataset
from metadata_pipeline.reconcile.graph import (
    diff_dependencies,
    diff_lineage,
    drop_lineage_into_removed_columns,
)
from metadata_pipeline.reconcile.lifecycle import on_missing
from metadata_pipeline.reconcile.locks import LockHandle, confirm_lock, utcnow
from metadata_pipeline.reconcile.options import ReconcileError, ReconcileResult, Suggestions
from metadata_pipeline.reconcile.renames import match_renames
from metadata_pipeline.reconcile.versions import bounded_changes, snapshot_hash, write_version
from metadata_pipeline.reconcile.writer import bulk_delete, bulk_insert, bulk_update

_INSERT_ORDER = (
    "datasets",
    "columns",
    "dataset_dependencies",
    "lineage",
    "project_datasets",
    "workspace_datasets",
)


class ReconcileRun:
    def __init__(self, session: Session, args: RunArgs, lock: LockHandle) -> None:
        tenant = args.tenant
        self.ctx = RunContext(
            session=session,
            args=args,
            now=utcnow(),
            result=ReconcileResult(),
            audit=AuditTrail(tenant.company_id, tenant.workspace_id, args.actor, args.job_id),
        )
        self.lock = lock
        self.own: list[Row] = []  # light rows of this connection's datasets
        self.by_fqn: dict[str, Row] = {}  # light rows by fqn: own, plus fqn matches across the company
        self.processed: list[DesiredDataset] = []
        self.hashes: dict[str, str] = {}  # fqn -> input hash (extraction and suggestions)
        self.wrote = False

    @property
    def result(self) -> ReconcileResult:
        return self.ctx.result

    def execute(self) -> ReconcileResult:
        set_company(self.ctx.session, self.ctx.company_id)
        self._check_references()
        with self._timed("desired"):
            a = self.ctx.args
            self.ctx.desired = build_desired(a.extraction, a.column_edges, a.connection_id, a.options)
            self.result.edges_skipped = self.ctx.desired.edges_skipped
            self.result.dependencies_skipped = self.ctx.desired.dependencies_skipped
        with self._timed("identities"):
            self._load_identities()
            self._guard_empty()
            self._match()
            self._resolve_external()
        with self._timed("hash"):
            self._hash_and_select()
        with self._timed("load"):
            self._load_details()
        with self._timed("diff"):
            self._diff()
        with self._timed("write"):
            self._write()
        return self.result

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        timings = self.result.timings
        timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started

    def _check_references(self) -> None:
        """Fail early and clearly on ids the foreign keys would otherwise reject at the end."""
        s, a = self.ctx.session, self.ctx.args
        if a.connection_id is not None:
            owner = s.scalar(select(Connection.company_id).where(Connection.connection_id == a.connection_id))
            if owner != self.ctx.company_id:
                raise ReconcileError(f"connection {a.connection_id} does not exist in this company")
        if a.job_id is not None and s.get(ExtractionJob, a.job_id) is None:
            raise ReconcileError(f"extraction job {a.job_id} does not exist")

    # -- identities ----------------------------------------------------------------------------

    def _load_identities(self) -> None:
        s, desired = self.ctx.session, self.ctx.desired
        self.own = db.light_datasets(s, self.ctx.company_id, self.ctx.args.connection_id)
        self.by_fqn = {r["fqn"]: r for r in self.own}
        wanted = (set(desired.objects) | desired.external_refs()) - set(self.by_fqn)
        for row in db.light_datasets_by_fqn(s, self.ctx.company_id, wanted):
            self.by_fqn[row["fqn"]] = row

    def _guard_empty(self) -> None:
        active = sum(1 for r in self.own if r["status"] == "Active")
        if not self.ctx.desired.objects and active and not self.ctx.args.options.allow_empty:
            raise ReconcileError(
                f"the extraction holds no datasets; refusing to deprecate {active} active datasets "
                "(pass ReconcileOptions(allow_empty=True) if the project really is empty)"
            )

    def _match(self) -> None:
        appeared: list[DesiredDataset] = []
        for fqn in self.ctx.desired.objects:
            row = self.by_fqn.get(fqn)
            if row is None:
                appeared.append(self.ctx.desired.dataset(fqn))
            else:
                self.ctx.matched[fqn] = row
        if self.ctx.args.options.detect_renames and appeared:
            self._match_renames(appeared)
        for fqn, row in self.ctx.matched.items():
            self.ctx.dataset_ids[fqn] = row["dataset_id"]

    def _match_renames(self, appeared: list[DesiredDataset]) -> None:
        taken = {r["dataset_id"] for r in self.ctx.matched.values()}
        vanished = [r for r in self.own if r["dataset_id"] not in taken and r["status"] != "Deleted"]
        if not vanished:
            return
        names: dict[uuid.UUID, set[str]] = defaultdict(set)
        for dataset_id, name in db.column_ids_of(self.ctx.session, [r["dataset_id"] for r in vanished]):
            names[dataset_id].add(name)
        frozen = {k: frozenset(v) for k, v in names.items()}
        for fqn, row in match_renames(vanished, appeared, frozen).items():
            self.ctx.matched[fqn] = row
            self.ctx.renamed.add(fqn)

    def _resolve_external(self) -> None:
        """Ids of referenced datasets outside this extraction, and of the columns lineage reads there."""
        refs = self.ctx.desired.external_refs()
        external = {fqn: self.by_fqn[fqn]["dataset_id"] for fqn in refs if fqn in self.by_fqn}
        self.ctx.dataset_ids.update(external)
        if external:
            self.ctx.column_ids.update(db.column_ids_of(self.ctx.session, external.values()))

    def _external_token(self, fqn: str, column: str | None) -> str:
        dataset_id = self.ctx.dataset_ids.get(fqn)
        if dataset_id is None:
            return "unresolved"
        if column is None:
            return str(dataset_id)
        return str(self.ctx.column_ids.get((dataset_id, column), "unresolved"))

    # -- planning ------------------------------------------------------------------------------

    def _hash_and_select(self) -> None:
        suggested = _suggestion_keys(self.ctx.args.suggestions)
        full = self.ctx.args.options.full
        desired = self.ctx.desired
        for fqn in desired.objects:
            digest = desired.input_hash(fqn, self._external_token)
            if fqn in suggested:  # the same suggestions again change nothing either
                digest = sha256_text(digest + repr(sorted(suggested[fqn])))
            self.hashes[fqn] = digest
            row = self.ctx.matched.get(fqn)
            if row is None or full or not self._unchanged(row, fqn, digest):
                ds = desired.dataset(fqn)
                ds.input_hash = digest
                self.processed.append(ds)
            else:
                self.result.datasets_skipped_by_hash += 1

    def _unchanged(self, row: Row, fqn: str, digest: str) -> bool:
        return (
            row["reconcile_hash"] == digest
            and row["status"] == "Active"
            and row["fqn"] == fqn
            and row["connection_id"] == self.ctx.args.connection_id
            and not row["missing_runs"]
        )

    def _load_details(self) -> None:
        ctx, s = self.ctx, self.ctx.session
        existing = [ctx.matched[d.fqn]["dataset_id"] for d in self.processed if d.fqn in ctx.matched]
        if existing:
            ctx.details = db.dataset_details(s, existing)
            ctx.columns = db.columns_of(s, existing)
            ctx.dependencies = db.dependencies_of(s, existing)
            ctx.lineage = db.lineage_of(s, existing)
        for dataset_id, columns in ctx.columns.items():
            for name, row in columns.items():
                ctx.column_ids[(dataset_id, name)] = row["column_id"]
        self._load_upstream_column_ids()

    def _load_upstream_column_ids(self) -> None:
        """Column ids of unchanged datasets that changed datasets' lineage reads from."""
        processed = {d.fqn for d in self.processed}
        datasets, ids = self.ctx.desired.objects, self.ctx.dataset_ids
        upstream = {
            ids[lin.upstream[0]]
            for d in self.processed
            for lin in d.lineage.values()
            if lin.upstream and lin.upstream[0] in datasets and lin.upstream[0] not in processed
        }
        missing = upstream - set(self.ctx.columns)
        if missing:
            self.ctx.column_ids.update(db.column_ids_of(self.ctx.session, missing))

    # -- diff ----------------------------------------------------------------------------------

    def _diff(self) -> None:
        ctx = self.ctx
        for ds in self.processed:
            diff_dataset(ctx, ds)
        for ds in self.processed:  # every changed dataset's columns have ids now: wire the graph
            diff_dependencies(ctx, ds)
            diff_lineage(ctx, ds)
        self._retire_missing()
        drop_lineage_into_removed_columns(ctx)
        self._ensure_links()
        self._finish_datasets()
        touched = sum(1 for fqn in ctx.desired.objects if ctx.dataset_ids[fqn] in ctx.audit.touched)
        self.result.datasets_unchanged = len(ctx.desired) - touched

    def _retire_missing(self) -> None:
        present = {r["dataset_id"] for r in self.ctx.matched.values()}
        for row in self.own:
            if row["dataset_id"] not in present:
                apply_transition(
                    self.ctx, row, on_missing(row, self.ctx.now, self.ctx.args.options), row["fqn"]
                )

    def _ensure_links(self) -> None:
        """Every dataset of the extraction is in the tenant's project and workspace."""
        ctx, tenant = self.ctx, self.ctx.args.tenant
        ids = [ctx.dataset_ids[fqn] for fqn in ctx.desired.objects]
        for table, scope, scope_id in (
            (db.PROJECT_LINKS, "project_id", tenant.project_id),
            (db.WORKSPACE_LINKS, "workspace_id", tenant.workspace_id),
        ):
            linked = db.linked_datasets(ctx.session, table, scope, scope_id)
            rows = [(uuid.uuid4(), ctx.company_id, scope_id, d) for d in ids if d not in linked]
            ctx.writes.inserts[table.name].extend(rows)
            ctx.count("links_added", len(rows))

    def _finish_datasets(self) -> None:
        """Flag changed datasets for the next Git commit, and store the input hashes."""
        ctx = self.ctx
        rows = {r["dataset_id"]: r for r in self.by_fqn.values()}
        for dataset_id in ctx.audit.touched - set(ctx.writes.new_datasets):
            row = rows.get(dataset_id, {})
            flags: Row = {}
            if not row.get("has_uncommitted_changes"):
                flags["has_uncommitted_changes"] = True
            if row.get("sync_status", "synced") == "synced":  # never hide a conflict or an error
                flags["sync_status"] = "pending"
            ctx.writes.update_dataset(dataset_id, flags)
        for ds in self.processed:
            wanted = None if ds.fqn in ctx.unstable else ds.input_hash
            matched = ctx.matched.get(ds.fqn)
            if matched is None:
                ctx.writes.new_datasets[ctx.dataset_ids[ds.fqn]]["reconcile_hash"] = wanted
            elif matched.get("reconcile_hash") != wanted:
                ctx.writes.update_dataset(matched["dataset_id"], {"reconcile_hash": wanted})
                matched["reconcile_hash"] = wanted

    # -- write ---------------------------------------------------------------------------------

    def _write(self) -> None:
        ctx = self.ctx
        self.result.audit_rows = len(ctx.audit)
        if not ctx.writes and not ctx.audit.rows:
            return  # nothing new: not a single statement
        self.wrote = True
        self._write_rows()
        if self.result.changed:
            self._write_version()
        confirm_lock(ctx.session, self.lock, ctx.args.options.lock_ttl_s)

    def _write_rows(self) -> None:
        s, w = self.ctx.session, self.ctx.writes
        w.inserts["datasets"] = [
            tuple(r[c] for c in INSERT_COLUMNS["datasets"]) for r in w.new_datasets.values()
        ]
        for name in _INSERT_ORDER:
            bulk_insert(s, _table(name), INSERT_COLUMNS[name], w.inserts[name])
        bulk_update(s, Dataset, list(w.dataset_updates.values()))
        bulk_update(s, Column, w.updates["columns"])
        bulk_update(s, DatasetDependency, w.updates["dataset_dependencies"])
        bulk_update(s, Lineage, w.updates["lineage"])
        bulk_delete(s, db.LINEAGE, "lineage_id", w.deletes["lineage"])
        bulk_delete(s, db.DEPENDENCIES, "dependency_id", w.deletes["dataset_dependencies"])
        bulk_delete(s, db.COLUMNS, "column_id", w.deletes["columns"])
        bulk_insert(s, _table("audit_logs"), INSERT_COLUMNS["audit_logs"], self.ctx.audit.rows)

    def _write_version(self) -> None:
        ctx = self.ctx
        version_id, number = write_version(
            ctx.session,
            ctx.args.tenant,
            connection_id=ctx.args.connection_id,
            job_id=ctx.args.job_id,
            actor=ctx.args.actor,
            digest=self._snapshot_hash(),
            changes=bounded_changes(self.result.counts(), ctx.names, ctx.args.options.version_detail_limit),
            change_count=self.result.audit_rows,
        )
        self.result.version_id, self.result.version_number = version_id, number

    def _snapshot_hash(self) -> str:
        ctx = self.ctx
        final: dict[uuid.UUID, tuple[str, uuid.UUID, str, str | None]] = {}
        for row in self.own:
            final[row["dataset_id"]] = (
                row["fqn"],
                row["dataset_id"],
                row["status"],
                row.get("reconcile_hash"),
            )
        for fqn, digest in self.hashes.items():
            dataset_id = ctx.dataset_ids[fqn]
            status = ctx.matched.get(fqn, {}).get("status", "Active")
            final[dataset_id] = (fqn, dataset_id, status, None if fqn in ctx.unstable else digest)
        digest = snapshot_hash(final.values())
        self.result.snapshot_hash = digest
        return digest


def _table(name: str) -> Table:
    return db.DATASETS.metadata.tables[name]


def _suggestion_keys(suggestions: Suggestions) -> dict[str, list[str]]:
    """Per dataset, a canonical text of every machine value offered for it or its columns."""
    keys: dict[str, list[str]] = defaultdict(list)
    for fqn, values in suggestions.datasets.items():
        keys[fqn].extend(
            repr((None, name, fv.value, fv.source, fv.confidence)) for name, fv in values.items()
        )
    for (fqn, column), values in suggestions.columns.items():
        keys[fqn].extend(
            repr((column, name, fv.value, fv.source, fv.confidence)) for name, fv in values.items()
        )
    return keys
