"""Property-style round trips: seeded random edits on either side, and catalog and Git stay equal."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import Column, Dataset, Lineage
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.commit import commit_workspace
from metadata_pipeline.sync.pull import pull_workspace
from metadata_pipeline_tests.sync.conftest import Remote
from metadata_pipeline_tests.sync.helpers import (
    Clone,
    build_catalog,
    catalog_state,
    git_state,
    resolved_git_state,
)

DISPLAY_NAMES = (
    "upstream_dataset_fqn",
    "upstream_column_name",
    "downstream_column_name",
    "target_dataset_fqn",
)


def _without_display_names(state: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Names shown beside uuids in *other* files refresh when those files are next written."""
    out = {}
    for fqn, data in state.items():
        ds = dict(data["dataset"])
        for key in ("lineage", "references"):
            ds[key] = sorted(
                ({k: v for k, v in e.items() if k not in DISPLAY_NAMES} for e in ds[key]),
                key=lambda e: sorted(e.items()),
            )
        out[fqn] = {**data, "dataset": ds}
    return out


def _catalog_edit(session: Any, tenant: Tenant, rng: random.Random) -> None:
    live = session.scalars(
        select(Dataset)
        .where(Dataset.company_id == tenant.company_id, Dataset.status != "Deleted")
        .order_by(Dataset.fqn)
    ).all()
    ds = rng.choice(live)
    cols = session.scalars(
        select(Column).where(Column.dataset_id == ds.dataset_id).order_by(Column.name)
    ).all()
    kind = rng.choice(
        [
            "description",
            "metadata",
            "layer",
            "column",
            "add_column",
            "drop_column",
            "lineage",
            "reference",
            "delete",
            "new",
            "rename",
        ]
    )
    token = uuid.uuid4().hex[:6]
    if kind == "description":
        ds.description = rng.choice([None, f"text {token}", f"multi\nline {token}\n", "yes"])
    elif kind == "metadata":
        ds.metadata_ = {"k": token, "n": rng.randint(0, 9), "nested": {"b": [1, 2.5, None, True]}}
    elif kind == "layer":
        ds.medallion_layer = rng.choice(["Raw", "Bronze", "Silver", "Gold", None])
    elif kind == "rename":
        ds.name = f"{ds.name}_{token}"
    elif kind == "column" and cols:
        col = rng.choice(cols)
        col.data_type, col.description = (
            rng.choice(["INT", "STRING", "DATE"]),
            rng.choice([None, f"c {token}"]),
        )
    elif kind == "add_column":
        session.add(
            Column(
                company_id=tenant.company_id,
                dataset_id=ds.dataset_id,
                fqn=f"{ds.fqn}.n_{token}",
                name=f"n_{token}",
                data_type="INT",
                position=rng.choice([None, 99]),
            )
        )
    elif kind == "drop_column" and len(cols) > 1:
        session.delete(rng.choice(cols))
    elif kind == "lineage" and cols:
        other = rng.choice(live)
        ups = session.scalars(select(Column).where(Column.dataset_id == other.dataset_id)).all()
        if ups:
            up, down = rng.choice(ups), rng.choice(cols)
            exists = session.scalar(
                select(Lineage).where(
                    Lineage.downstream_column_id == down.column_id, Lineage.upstream_column_id == up.column_id
                )
            )
            if exists is None:
                session.add(
                    Lineage(
                        company_id=tenant.company_id,
                        downstream_dataset_id=ds.dataset_id,
                        downstream_column_id=down.column_id,
                        upstream_dataset_id=other.dataset_id,
                        upstream_column_id=up.column_id,
                        mapping_type="Transform",
                        transformation_expression=f"f({token})",
                    )
                )
    elif kind == "reference" and cols:
        col = rng.choice(cols)
        col.reference_column_id = None if col.reference_column_id else rng.choice(cols).column_id
        col.reference_type = "BusinessKey" if col.reference_column_id else None
    elif kind == "delete" and len(live) > 3:
        ds.status = "Deleted"
    elif kind == "new":
        new = Dataset(
            company_id=tenant.company_id,
            fqn=f"gold.new.{token}",
            name=f"new_{token}",
            medallion_layer="Gold",
            resource_type="model",
            has_uncommitted_changes=True,
        )
        session.add(new)
        session.flush()
        session.add(
            Column(
                company_id=tenant.company_id,
                dataset_id=new.dataset_id,
                fqn=f"gold.new.{token}.id",
                name="id",
                data_type="BIGINT",
                position=1,
            )
        )
    ds.has_uncommitted_changes = True


def _git_edit(clone: Clone, rng: random.Random, files: dict[str, str]) -> dict[str, str | None]:
    path = rng.choice(sorted(files))
    data = yaml.safe_load(files[path])
    ds = data["dataset"]
    kind = rng.choice(["description", "column", "add_column", "drop_column", "delete", "new", "lineage"])
    token = uuid.uuid4().hex[:6]
    if kind == "description":
        ds["description"] = f"from git {token}"
    elif kind == "column" and ds["columns"]:
        rng.choice(ds["columns"])["data_type"] = f"VARCHAR({rng.randint(1, 99)})"
    elif kind == "add_column":
        ds["columns"].append({"name": f"g_{token}", "data_type": "TEXT"})  # no uuid: written by a person
    elif kind == "drop_column" and len(ds["columns"]) > 1:
        dropped = ds["columns"].pop(rng.randrange(len(ds["columns"])))
        ds["lineage"] = [e for e in ds["lineage"] if e["downstream_column_uuid"] != dropped["uuid"]]
        ds["references"] = [r for r in ds["references"] if r["source_columns"][0] != dropped["uuid"]]
    elif kind == "lineage" and ds["lineage"]:
        rng.choice(ds["lineage"])["mapping_type"] = "Derived"
    elif kind == "delete" and len(files) > 3:
        return {path: None}
    elif kind == "new":
        new = {
            "version": "1.0",
            "dataset": {
                "uuid": str(uuid.uuid4()),
                "fqn": f"silver.git.{token}",
                "name": f"g_{token}",
                "medallion_layer": "Silver",
                "columns": [{"name": "id"}],
            },
        }
        return {f"datasets/silver/g_{token}.yml": yaml.safe_dump(new)}
    return {path: yaml.safe_dump(data, sort_keys=False)}


@pytest.mark.parametrize("seed", [11, 23, 42])
def test_random_edits_keep_catalog_and_git_equal(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote, seed: int
) -> None:
    rng = random.Random(seed)
    build_catalog(catalog_engine, tenant, datasets=8, columns=4, seed=seed)
    commit_workspace(catalog_engine, settings, tenant)
    clone = remote.clone
    assert git_state(clone) == catalog_state(catalog_engine, tenant)
    for _ in range(4):
        with session_scope(catalog_engine) as session:
            set_company(session, tenant.company_id)
            for _ in range(rng.randint(1, 4)):
                _catalog_edit(session, tenant, rng)
                session.flush()
        result = commit_workspace(catalog_engine, settings, tenant)
        assert result.status in ("committed", "no_changes")
        assert _without_display_names(git_state(clone)) == _without_display_names(
            catalog_state(catalog_engine, tenant)
        )
        commit_workspace(catalog_engine, settings, tenant, all_datasets=True)
        assert git_state(clone) == catalog_state(catalog_engine, tenant)

        clone.sync()
        edits: dict[str, str | None] = {}
        for _ in range(rng.randint(1, 4)):
            files = {p: t for p, t in {**clone.files(), **edits}.items() if t is not None}
            for p, t in _git_edit(
                clone, rng, {p: t for p, t in files.items() if p not in edits or edits[p]}
            ).items():
                edits[p] = t
        clone.push(edits, "random edits")
        pulled = pull_workspace(catalog_engine, settings, tenant)
        assert pulled.errors == [] and pulled.conflicts == [], pulled
        from_git = resolved_git_state(catalog_engine, tenant, clone)
        in_catalog = catalog_state(catalog_engine, tenant)
        for fqn, data in from_git.items():  # a file written by hand has no created_at: the catalog set it
            if "created_at" not in data:
                in_catalog[fqn].pop("created_at", None)
        assert from_git == in_catalog
        commit_workspace(catalog_engine, settings, tenant, all_datasets=True)
        assert git_state(clone) == catalog_state(catalog_engine, tenant)
