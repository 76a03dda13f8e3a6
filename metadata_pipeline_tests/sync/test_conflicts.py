"""Conflicts: the same dataset changed in the catalog and in Git; ours, theirs and manual resolution."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import SyncConflict, Workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.commit import commit_workspace
from metadata_pipeline.sync.conflicts import list_conflicts, resolve_conflict
from metadata_pipeline.sync.errors import SyncError
from metadata_pipeline.sync.pull import pull_workspace
from metadata_pipeline_tests.sync.conftest import Remote
from metadata_pipeline_tests.sync.helpers import (
    build_catalog,
    catalog_state,
    edit_dataset,
    get_dataset,
    git,
    git_state,
)

PATH = "datasets/silver/model_0002.yml"


@dataclass
class Conflict:
    fqn: str
    other: str
    original_type: str
    original_mat: str


def _head(remote: Remote) -> str:
    return git("--git-dir", str(remote.bare), "rev-parse", "refs/heads/main")


def _ws_sha(engine: Engine, tenant: Tenant) -> str | None:
    with session_scope(engine) as session:
        return session.scalar(
            select(Workspace.source_commit_sha).where(Workspace.company_id == tenant.company_id)
        )


def _make_conflict(engine: Engine, tenant: Tenant, settings: Settings, remote: Remote) -> Conflict:
    fqns = build_catalog(engine, tenant, datasets=3)
    committed = commit_workspace(engine, settings, tenant)
    fqn, other = fqns[2], fqns[0]
    before = catalog_state(engine, tenant)[fqn]["dataset"]
    col_2 = next(c for c in before["columns"] if c["name"] == "col_2")
    # The catalog changes the description and the materialization...
    edit_dataset(engine, tenant, fqn, description="Catalog says", materialization_type="catalog_mat")
    # ... Git changes the description and a column type, and another dataset nobody touched.
    clone = remote.clone
    clone.sync()
    text = clone.read(PATH).replace("description: Dataset 2", "description: Git says")
    text = text.replace(
        f"name: col_2\n      data_type: {col_2['data_type']}", "name: col_2\n      data_type: GIT_TYPE"
    )
    other_path = "datasets/raw/model_0000.yml"
    clone.push({PATH: text, other_path: clone.read(other_path).replace("Dataset 0\n", "Dataset zero\n")})

    result = pull_workspace(engine, settings, tenant)
    assert result.status == "conflicts" and result.updated == [other]
    assert result.conflicts == [
        {
            "fqn": fqn,
            "path": PATH,
            "fields": ["materialization_type", "description", "columns.col_2.data_type"],
        }
    ]
    assert _ws_sha(engine, tenant) == committed.commit_sha  # not advanced while a conflict is open
    assert get_dataset(engine, tenant, fqn).sync_status == "conflict"
    return Conflict(fqn, other, col_2["data_type"], before["materialization_type"])


def test_pull_reports_the_conflict_with_both_values(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    c = _make_conflict(catalog_engine, tenant, settings, remote)
    [view] = list_conflicts(catalog_engine, tenant)
    assert view.fqn == c.fqn and view.path == PATH and view.git_sha == _head(remote)
    entries = {e["path"]: e for e in view.diff}
    assert entries["description"]["catalog"] == "Catalog says" and entries["description"]["git"] == "Git says"
    assert entries["description"]["changed_in"] == "both"
    assert entries["materialization_type"]["changed_in"] == "catalog"
    assert entries["columns.col_2.data_type"] == {
        "path": "columns.col_2.data_type",
        "catalog": c.original_type,
        "git": "GIT_TYPE",
        "base": c.original_type,
        "changed_in": "git",
        "column_uuid": entries["columns.col_2.data_type"]["column_uuid"],
        "field": "data_type",
    }
    # The catalog's value stands until resolved; pulling again reports the same, single conflict.
    assert get_dataset(catalog_engine, tenant, c.fqn).description == "Catalog says"
    again = pull_workspace(catalog_engine, settings, tenant)
    assert [x["fqn"] for x in again.conflicts] == [c.fqn] and again.updated == []
    with session_scope(catalog_engine) as session:
        assert len(session.scalars(select(SyncConflict)).all()) == 1


EXPECTED = {
    # strategy: (description, materialization_type, col_2 data_type) after resolution
    "ours": ("Catalog says", "catalog_mat", None),
    "theirs": ("Git says", None, "GIT_TYPE"),
    "manual": ("Git says", "catalog_mat", "GIT_TYPE"),  # description named; the rest by who changed it
}


@pytest.mark.parametrize("strategy", ["ours", "theirs", "manual"])
def test_each_strategy_leaves_catalog_and_git_equal(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote, strategy: str
) -> None:
    c = _make_conflict(catalog_engine, tenant, settings, remote)
    take = {"description": "git"} if strategy == "manual" else None
    result = resolve_conflict(catalog_engine, settings, tenant, c.fqn, strategy, take)
    assert result.remaining == 0 and result.pull is not None

    description, mat, col_type = EXPECTED[strategy]
    state = catalog_state(catalog_engine, tenant)[c.fqn]["dataset"]
    assert state["description"] == description
    assert state["materialization_type"] == (mat or c.original_mat)
    assert next(col for col in state["columns"] if col["name"] == "col_2")["data_type"] == (
        col_type or c.original_type
    )
    if strategy == "manual":
        assert result.sides == {
            "description": "git",
            "materialization_type": "catalog",
            "columns.col_2.data_type": "git",
        }

    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)  # catalog and Git agree
    ds = get_dataset(catalog_engine, tenant, c.fqn)
    assert ds.sync_status == "synced" and not ds.has_uncommitted_changes
    assert _ws_sha(catalog_engine, tenant) == _head(remote)  # advanced: no conflict remains
    with session_scope(catalog_engine) as session:
        row = session.scalar(select(SyncConflict))
        assert row is not None and row.status == "resolved" and row.resolution == strategy
    assert list_conflicts(catalog_engine, tenant) == []
    if strategy == "theirs":
        assert "description" in (ds.human_edited_fields or [])


def test_manual_rejects_unknown_fields_and_sides(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    c = _make_conflict(catalog_engine, tenant, settings, remote)
    with pytest.raises(SyncError, match="no such difference"):
        resolve_conflict(catalog_engine, settings, tenant, c.fqn, "manual", {"nope": "git"})
    with pytest.raises(SyncError, match="use catalog or git"):
        resolve_conflict(catalog_engine, settings, tenant, c.fqn, "manual", {"description": "mine"})
    with pytest.raises(SyncError, match="no open conflict"):
        resolve_conflict(catalog_engine, settings, tenant, c.other, "ours")
    # Nothing was half-applied.
    assert get_dataset(catalog_engine, tenant, c.fqn).sync_status == "conflict"


def test_manual_take_whole_column_and_default_git(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    c = _make_conflict(catalog_engine, tenant, settings, remote)
    result = resolve_conflict(
        catalog_engine, settings, tenant, c.fqn, "manual", {"columns.col_2": "catalog"}, default="git"
    )
    assert result.sides == {
        "description": "git",
        "materialization_type": "git",
        "columns.col_2.data_type": "catalog",
    }
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)


def test_stale_conflict_must_be_pulled_again(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    c = _make_conflict(catalog_engine, tenant, settings, remote)
    remote.clone.sync()
    remote.clone.push({PATH: remote.clone.read(PATH).replace("Git says", "Git says again")})
    with pytest.raises(SyncError, match="changed again in Git"):
        resolve_conflict(catalog_engine, settings, tenant, c.fqn, "theirs")
    refreshed = pull_workspace(catalog_engine, settings, tenant)
    assert [x["fqn"] for x in refreshed.conflicts] == [c.fqn]
    [view] = list_conflicts(catalog_engine, tenant)
    assert next(e for e in view.diff if e["path"] == "description")["git"] == "Git says again"
    resolve_conflict(catalog_engine, settings, tenant, c.fqn, "theirs")
    assert get_dataset(catalog_engine, tenant, c.fqn).description == "Git says again"
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)


def test_same_change_on_both_sides_is_no_conflict(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    edit_dataset(catalog_engine, tenant, fqns[2], description="Agreed")
    remote.clone.sync()
    remote.clone.push(
        {PATH: remote.clone.read(PATH).replace("description: Dataset 2", "description: Agreed")}
    )
    result = pull_workspace(catalog_engine, settings, tenant)
    assert result.status == "synced" and result.conflicts == []
    ds = get_dataset(catalog_engine, tenant, fqns[2])
    assert not ds.has_uncommitted_changes and ds.sync_status == "synced"
    assert commit_workspace(catalog_engine, settings, tenant).status == "nothing_to_commit"


def test_uncommitted_dataset_untouched_in_git_is_no_conflict(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    edit_dataset(catalog_engine, tenant, fqns[2], description="Only the catalog")
    remote.clone.sync()
    other = "datasets/raw/model_0000.yml"
    remote.clone.push({other: remote.clone.read(other).replace("Dataset 0\n", "Dataset zero\n")})
    # Another dataset changed in Git; then pull twice more so this dataset's file is in the range.
    assert pull_workspace(catalog_engine, settings, tenant).conflicts == []
    assert get_dataset(catalog_engine, tenant, fqns[2]).description == "Only the catalog"
    result = commit_workspace(catalog_engine, settings, tenant)
    assert result.status == "committed" and not result.behind


def test_git_deletes_a_dataset_the_catalog_edited(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    edit_dataset(catalog_engine, tenant, fqns[2], description="Still wanted")
    remote.clone.sync()
    remote.clone.push({PATH: None})
    result = pull_workspace(catalog_engine, settings, tenant)
    assert result.conflicts == [{"fqn": fqns[2], "path": PATH, "fields": ["dataset"]}]
    resolve_conflict(catalog_engine, settings, tenant, fqns[2], "ours")
    remote.clone.sync()
    assert "Still wanted" in remote.clone.read(PATH)
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)


def test_git_deletion_taken(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    edit_dataset(catalog_engine, tenant, fqns[2], description="Still wanted")
    remote.clone.sync()
    remote.clone.push({PATH: None})
    pull_workspace(catalog_engine, settings, tenant)
    resolve_conflict(catalog_engine, settings, tenant, fqns[2], "theirs")
    assert get_dataset(catalog_engine, tenant, fqns[2]).status == "Deleted"
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)


def test_git_reverting_its_edit_withdraws_the_conflict(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    c = _make_conflict(catalog_engine, tenant, settings, remote)
    remote.clone.sync()
    git("revert", "--no-edit", "HEAD", cwd=remote.clone.path)
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=remote.clone.path)
    result = pull_workspace(catalog_engine, settings, tenant)
    assert result.conflicts == [] and list_conflicts(catalog_engine, tenant) == []
    ds = get_dataset(catalog_engine, tenant, c.fqn)
    assert ds.sync_status == "pending" and ds.description == "Catalog says"
    assert commit_workspace(catalog_engine, settings, tenant).status == "committed"
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)
