"""Test helpers for sync: a catalog built from ORM rows, catalog edits as a user would make them, and
a separate clone of the metadata repository to edit Git "by hand"."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import AuditLog, Column, Dataset, Lineage
from metadata_pipeline.sync.documents import ColumnIndex, assign_column_ids, load_documents, resolve_links
from metadata_pipeline.sync.yaml_format import document_data, parse_document
from metadata_pipeline_tests.conftest import git as run_git

LAYERS = ["Raw", "Bronze", "Silver", "Gold", None]
TYPES = ["BIGINT", "STRING", "TIMESTAMP", "BOOLEAN", "DECIMAL(18,2)"]


def git(*args: str, cwd: Path | None = None) -> str:
    """git as a person editing metadata by hand (not the pipeline)."""
    return run_git(*args, cwd=cwd, who=("Jane Editor", "jane@example.com"))


def init_bare(path: Path, branch: str = "main") -> Path:
    git("init", "--bare", "-q", "-b", branch, str(path))
    return path


class Clone:
    """A person's working clone of the metadata repository."""

    def __init__(self, bare: Path, where: Path, branch: str = "main") -> None:
        self.bare, self.path, self.branch = bare, where, branch
        git("clone", "-q", str(bare), str(where))
        git("checkout", "-q", "-B", branch, cwd=where)

    def sync(self) -> None:
        git("fetch", "-q", "origin", cwd=self.path)
        if git("ls-remote", "--heads", "origin", self.branch, cwd=self.path):
            git("reset", "-q", "--hard", f"origin/{self.branch}", cwd=self.path)

    def write(self, files: dict[str, str | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def push(
        self, files: dict[str, str | None] | None = None, message: str = "edit by hand", sync: bool = True
    ) -> str:
        """Commit `files` (None deletes) on top of the remote branch and push; `sync=False` keeps
        edits already made in the working tree (the clone must then be up to date)."""
        if sync:
            self.sync()
        if files:
            self.write(files)
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.path)
        git("push", "-q", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.path)
        return self.head()

    def symlink(self, rel: str, target: str) -> None:
        link = self.path / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.path)

    def files(self, prefix: str = "datasets") -> dict[str, str]:
        root = self.path / prefix
        return (
            {str(p.relative_to(self.path)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}
            if root.exists()
            else {}
        )


def git_state(clone: Clone, prefix: str = "datasets") -> dict[str, dict[str, Any]]:
    """Every metadata file of the clone parsed, by dataset fqn."""
    clone.sync()
    state = {}
    for path, text in clone.files(prefix).items():
        data = document_data(parse_document(text, path))
        state[data["dataset"]["fqn"]] = data
    return state


def resolved_git_state(
    engine: Engine, tenant: Tenant, clone: Clone, prefix: str = "datasets"
) -> dict[str, dict[str, Any]]:
    """Git's files as the catalog reads them: hand-written files get their uuids, names are refreshed."""
    clone.sync()
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        index = ColumnIndex.load(session, tenant.company_id)
    docs = [
        assign_column_ids(parse_document(text, path), index) for path, text in clone.files(prefix).items()
    ]
    world = index.overlay(docs)
    return {d.dataset.fqn: document_data(resolve_links(d, world)) for d in docs}


def catalog_state(engine: Engine, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Every live dataset as canonical document data, by fqn."""
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        ids = session.scalars(
            select(Dataset.dataset_id).where(
                Dataset.company_id == tenant.company_id, Dataset.status != "Deleted"
            )
        ).all()
        index = ColumnIndex.load(session, tenant.company_id)
        docs = load_documents(session, tenant.company_id, ids, index)
        return {d.dataset.fqn: document_data(d) for d in docs.values()}


def build_catalog(
    engine: Engine,
    tenant: Tenant,
    datasets: int = 6,
    columns: int = 5,
    seed: int = 7,
    uncommitted: bool = True,
) -> list[str]:
    """Datasets with columns, references and lineage chained dataset to dataset; returns fqns."""
    rng = random.Random(seed)
    fqns = []
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        previous: list[Column] = []
        for i in range(datasets):
            layer = LAYERS[i % len(LAYERS)]
            name = f"model_{i:04d}"
            fqn = f"{(layer or 'misc').lower()}.analytics.{name}"
            ds = Dataset(
                company_id=tenant.company_id,
                fqn=fqn,
                name=name,
                resource_type="model",
                medallion_layer=layer,
                entity_type=rng.choice(["Table", "Staging", "DataMart", None]),
                materialization_type=rng.choice(["table", "view", "incremental"]),
                description=f"Dataset {i}\nsecond line" if i % 3 == 0 else f"Dataset {i}",
                metadata_={"owner": f"team-{i % 3}", "tags": ["a", "b"][: i % 3], "sla_hours": i},
                has_uncommitted_changes=uncommitted,
                sync_status="pending" if uncommitted else "synced",
            )
            session.add(ds)
            session.flush()
            cols = []
            for j in range(columns):
                col = Column(
                    company_id=tenant.company_id,
                    dataset_id=ds.dataset_id,
                    fqn=f"{fqn}.col_{j}",
                    name=f"col_{j}",
                    data_type=rng.choice(TYPES),
                    description=f"Column {j} of {name}" if j % 2 == 0 else None,
                    business_name=f"Column {j}" if j == 1 else None,
                    is_primary_key=j == 0,
                    is_nullable=j != 0,
                    position=j + 1,
                    pii_category="email" if j == 2 else None,
                    transformation_logic="upper(x)" if j == 3 else None,
                )
                session.add(col)
                cols.append(col)
            session.flush()
            if previous:
                cols[1].reference_column_id = previous[0].column_id
                cols[1].reference_type = "FK"
                cols[1].is_foreign_key = True
                for j, col in enumerate(cols[: min(len(cols), len(previous))]):
                    session.add(
                        Lineage(
                            company_id=tenant.company_id,
                            downstream_dataset_id=ds.dataset_id,
                            downstream_column_id=col.column_id,
                            upstream_dataset_id=previous[j].dataset_id,
                            upstream_column_id=previous[j].column_id,
                            mapping_type="Direct" if j % 2 == 0 else "Transform",
                            transformation_expression=None if j % 2 == 0 else f"cast(col_{j} as string)",
                        )
                    )
                session.add(
                    Lineage(
                        company_id=tenant.company_id,
                        downstream_dataset_id=ds.dataset_id,
                        downstream_column_id=cols[-1].column_id,
                        upstream_dataset_id=previous[0].dataset_id,
                        upstream_column_id=previous[0].column_id,
                        mapping_type="Derived",
                        lineage_type="indirect",
                        role="filter",
                    )
                )
            previous = cols
            fqns.append(fqn)
    return fqns


def edit_dataset(engine: Engine, tenant: Tenant, fqn: str, **fields: Any) -> None:
    """A catalog edit as the UI makes it: the value, an uncommitted audit row, the pending flag."""
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        ds = session.scalar(
            select(Dataset).where(Dataset.company_id == tenant.company_id, Dataset.fqn == fqn)
        )
        assert ds is not None, fqn
        for name, value in fields.items():
            attr = "metadata_" if name == "metadata" else name
            session.add(
                AuditLog(
                    company_id=tenant.company_id,
                    dataset_id=ds.dataset_id,
                    change_type="updated",
                    entity_type="dataset",
                    entity_id=ds.dataset_id,
                    field_name=name,
                    old_value=getattr(ds, attr),
                    new_value=value,
                    actor="cli",
                )
            )
            setattr(ds, attr, value)
        ds.has_uncommitted_changes = True
        if ds.sync_status != "conflict":
            ds.sync_status = "pending"


def edit_column(engine: Engine, tenant: Tenant, fqn: str, column: str, **fields: Any) -> None:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        ds = session.scalar(
            select(Dataset).where(Dataset.company_id == tenant.company_id, Dataset.fqn == fqn)
        )
        assert ds is not None
        col = session.scalar(select(Column).where(Column.dataset_id == ds.dataset_id, Column.name == column))
        assert col is not None
        for name, value in fields.items():
            session.add(
                AuditLog(
                    company_id=tenant.company_id,
                    dataset_id=ds.dataset_id,
                    change_type="updated",
                    entity_type="column",
                    entity_id=col.column_id,
                    field_name=name,
                    old_value=getattr(col, name),
                    new_value=value,
                    actor="cli",
                )
            )
            setattr(col, name, value)
        ds.has_uncommitted_changes = True
        ds.sync_status = "pending"


def get_dataset(engine: Engine, tenant: Tenant, fqn: str) -> Dataset:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        ds = session.scalar(
            select(Dataset).where(Dataset.company_id == tenant.company_id, Dataset.fqn == fqn)
        )
        assert ds is not None, fqn
        return ds


def random_uuid() -> str:
    return str(uuid.uuid4())
