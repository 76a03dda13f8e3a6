"""Commit and pull against a real git remote, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import AuditLog, Dataset, SourceCodeCommit, Workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.commit import commit_workspace
from metadata_pipeline.sync.errors import CommitBlockedError
from metadata_pipeline.sync.git_remote import GitProvider, cache_dir_for
from metadata_pipeline.sync.providers import is_pipeline_commit
from metadata_pipeline.sync.pull import pull_workspace
from metadata_pipeline.sync.yaml_format import parse_document
from metadata_pipeline_tests.sync.conftest import Remote
from metadata_pipeline_tests.sync.helpers import (
    Clone,
    build_catalog,
    catalog_state,
    edit_column,
    edit_dataset,
    get_dataset,
    git,
    git_state,
)


def _workspace(engine: Engine, tenant: Tenant) -> Workspace:
    with session_scope(engine) as session:
        ws = session.scalar(
            select(Workspace).where(Workspace.company_id == tenant.company_id, Workspace.name == "main")
        )
        assert ws is not None
        return ws


def _head(remote: Remote) -> str:
    return git("--git-dir", str(remote.bare), "rev-parse", "refs/heads/main")


def _provider(settings: Settings, remote: Remote) -> GitProvider:
    return GitProvider(
        str(remote.bare), cache_dir_for(settings.cache_dir / "metadata-remotes", str(remote.bare))
    )


def test_commit_round_trip(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=6)
    result = commit_workspace(catalog_engine, settings, tenant, message="Initial metadata")
    assert result.status == "committed" and len(result.files) == 6
    assert result.commit_sha == _head(remote) == result.workspace_sha
    assert {f["action"] for f in result.files} == {"added"}
    assert "datasets/gold/model_0003.yml" in {f["path"] for f in result.files}
    assert "datasets/unclassified/model_0004.yml" in {f["path"] for f in result.files}
    message = git("--git-dir", str(remote.bare), "log", "-1", "--format=%B")
    assert message.startswith("Initial metadata") and is_pipeline_commit(message)

    # Cloned elsewhere and parsed back, Git holds exactly the catalog.
    elsewhere = Clone(remote.bare, remote.clone.path.parent / "elsewhere")
    assert git_state(elsewhere) == catalog_state(catalog_engine, tenant)
    assert sorted(git_state(elsewhere)) == sorted(fqns)

    with session_scope(catalog_engine) as session:
        rows = session.scalars(select(Dataset)).all()
        assert all(not d.has_uncommitted_changes and d.sync_status == "synced" for d in rows)
        assert all(d.source_commit_sha == result.commit_sha and d.source_file_path for d in rows)
        commit_row = session.scalar(select(SourceCodeCommit))
        assert commit_row is not None and commit_row.commit_sha == result.commit_sha
        assert sorted(f["path"] for f in commit_row.files_changed or []) == sorted(
            f["path"] for f in result.files
        )
        assert all({"path", "action", "dataset_id"} <= set(f) for f in commit_row.files_changed or [])


def test_commit_is_deterministic_and_a_no_op_when_nothing_changed(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=4)
    first = commit_workspace(catalog_engine, settings, tenant)
    assert commit_workspace(catalog_engine, settings, tenant).status == "nothing_to_commit"
    # Flagged, but the YAML would be byte-identical: no Git commit, marked synced.
    edit_dataset(
        catalog_engine, tenant, fqns[0], description=get_dataset(catalog_engine, tenant, fqns[0]).description
    )
    again = commit_workspace(catalog_engine, settings, tenant)
    assert again.status == "no_changes" and again.commit_sha is None and _head(remote) == first.commit_sha
    assert not get_dataset(catalog_engine, tenant, fqns[0]).has_uncommitted_changes
    with session_scope(catalog_engine) as session:
        assert all(a.committed_in_sha == first.commit_sha for a in session.scalars(select(AuditLog)))


def test_commit_only_changed_and_named_datasets(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=4)
    commit_workspace(catalog_engine, settings, tenant)
    edit_dataset(catalog_engine, tenant, fqns[1], description="one")
    edit_column(catalog_engine, tenant, fqns[2], "col_1", data_type="VARCHAR(10)")
    named = commit_workspace(catalog_engine, settings, tenant, datasets=[fqns[2]])
    assert named.datasets == [fqns[2]] and [f["action"] for f in named.files] == ["modified"]
    assert get_dataset(catalog_engine, tenant, fqns[1]).has_uncommitted_changes
    rest = commit_workspace(catalog_engine, settings, tenant, message="the rest")
    assert rest.datasets == [fqns[1]]
    with session_scope(catalog_engine) as session:
        audit = session.scalars(select(AuditLog).order_by(AuditLog.field_name)).all()
        assert [(a.field_name, a.committed_in_sha) for a in audit] == [
            ("data_type", named.commit_sha),
            ("description", rest.commit_sha),
        ]
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)


def test_rename_delete_and_path_collisions(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=4)
    commit_workspace(catalog_engine, settings, tenant)
    edit_dataset(catalog_engine, tenant, fqns[0], medallion_layer="Gold")  # Raw -> Gold: the file moves
    edit_dataset(catalog_engine, tenant, fqns[1], status="Deleted")
    with session_scope(catalog_engine) as session:  # a source with the same name and layer as a model
        session.add(
            Dataset(
                company_id=tenant.company_id,
                fqn="raw.src.model_0000",
                name="model_0000",
                resource_type="source",
                medallion_layer="Gold",
                has_uncommitted_changes=True,
            )
        )
    result = commit_workspace(catalog_engine, settings, tenant)
    by_path = {f["path"]: f for f in result.files}
    assert by_path["datasets/gold/model_0000.model.yml"]["action"] == "renamed"
    assert by_path["datasets/gold/model_0000.model.yml"]["previous_path"] == "datasets/raw/model_0000.yml"
    assert by_path["datasets/gold/model_0000.source.yml"]["action"] == "added"
    assert by_path["datasets/bronze/model_0001.yml"]["action"] == "deleted"
    remote.clone.sync()
    files = remote.clone.files()
    assert "datasets/raw/model_0000.yml" not in files and "datasets/bronze/model_0001.yml" not in files
    assert git_state(remote.clone) == catalog_state(catalog_engine, tenant)
    assert get_dataset(catalog_engine, tenant, fqns[1]).source_file_path is None


def test_default_workspace_creates_its_own_bare_repository(
    catalog_engine: Engine, tenant: Tenant, settings: Settings
) -> None:
    build_catalog(catalog_engine, tenant, datasets=2)
    result = commit_workspace(catalog_engine, settings, tenant)
    assert result.status == "committed"
    assert (settings.metadata_remote_dir / "HEAD").exists()
    clone = Clone(settings.metadata_remote_dir, settings.home / "check")
    assert git_state(clone) == catalog_state(catalog_engine, tenant)


def test_pull_applies_git_edits(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=4)
    commit_workspace(catalog_engine, settings, tenant)
    clone = remote.clone
    clone.sync()
    path = "datasets/silver/model_0002.yml"
    text = clone.read(path)
    text = text.replace("description: Dataset 2", "description: Edited in Git")
    text = text.replace("name: col_4\n", "name: col_4_renamed\n")
    new_dataset = (
        "version: '1.0'\ndataset:\n  uuid: 11111111-2222-3333-4444-555555555555\n  fqn: gold.hand.written\n"
        "  name: written\n  medallion_layer: gold\n  columns:\n    - name: id\n      data_type: INT\n"
        "  lineage:\n    - upstream_dataset_fqn: silver.analytics.model_0002\n      upstream_column_name: col_0\n"
        "      downstream_column_name: id\n      mapping_type: Direct\n"
    )
    head = clone.push(
        {path: text, "datasets/bronze/model_0001.yml": None, "datasets/gold/written.yml": new_dataset},
        "edit by hand",
    )
    result = pull_workspace(catalog_engine, settings, tenant)
    assert result.status == "synced" and result.errors == [] and result.workspace_sha == head
    assert (
        result.updated == [fqns[2]]
        and result.created == ["gold.hand.written"]
        and result.deleted == [fqns[1]]
    )

    ds = get_dataset(catalog_engine, tenant, fqns[2])
    assert ds.description == "Edited in Git" and "description" in (ds.human_edited_fields or [])
    assert (ds.field_sources or {})["description"] == f"git:{head}"
    assert not ds.has_uncommitted_changes and ds.source_commit_sha == head
    assert get_dataset(catalog_engine, tenant, fqns[1]).status == "Deleted"
    with session_scope(catalog_engine) as session:
        actors = {a.actor for a in session.scalars(select(AuditLog))}
        assert actors == {f"git:{head}"}
    # The catalog now matches Git, including the file written by hand (uuids filled in).
    state = catalog_state(catalog_engine, tenant)
    columns = {c["name"]: c for c in state[fqns[2]]["dataset"]["columns"]}
    assert "col_4_renamed" in columns and "col_4" not in columns
    written = state["gold.hand.written"]["dataset"]
    assert (
        written["lineage"][0]["upstream_column_name"] == "col_0"
        and written["lineage"][0]["upstream_column_uuid"]
    )
    # A second pull has nothing to do. Files that name the renamed column (or hand-written files
    # without uuids) are refreshed when written: `all_datasets` rewrites every stale one.
    assert pull_workspace(catalog_engine, settings, tenant).status == "up_to_date"
    refreshed = commit_workspace(catalog_engine, settings, tenant, all_datasets=True)
    assert {f["path"] for f in refreshed.files} == {
        "datasets/silver/model_0002.yml",
        "datasets/gold/model_0003.yml",
        "datasets/gold/written.yml",
    }
    assert git_state(clone) == catalog_state(catalog_engine, tenant)
    assert pull_workspace(catalog_engine, settings, tenant).status == "up_to_date"  # our commit advanced it


def test_commit_refuses_to_overwrite_unpulled_git_changes(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    remote.clone.sync()
    path = "datasets/raw/model_0000.yml"
    remote.clone.push({path: remote.clone.read(path).replace("Dataset 0", "Git's words")})
    edit_dataset(catalog_engine, tenant, fqns[0], description="catalog words")
    with pytest.raises(CommitBlockedError, match="run `metadata-pipeline pull` first") as info:
        commit_workspace(catalog_engine, settings, tenant)
    assert info.value.paths == [path]
    # Another dataset's change does not touch that file: it commits, and says Git is ahead.
    edit_dataset(catalog_engine, tenant, fqns[0], description=None)
    with session_scope(catalog_engine) as session:
        session.get(
            Dataset, get_dataset(catalog_engine, tenant, fqns[0]).dataset_id
        ).has_uncommitted_changes = False  # type: ignore[union-attr]
    edit_dataset(catalog_engine, tenant, fqns[1], description="fine")
    result = commit_workspace(catalog_engine, settings, tenant)
    assert result.status == "committed" and result.behind


def test_push_race_is_retried_at_commit_level(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    first = commit_workspace(catalog_engine, settings, tenant)
    provider = _provider(settings, remote)
    clone = remote.clone
    clone.sync()
    other = "datasets/bronze/model_0001.yml"
    pushed: list[str] = []

    def someone_else_pushes() -> None:
        if not pushed:
            pushed.append(clone.push({other: clone.read(other).replace("Dataset 1", "Racing edit")}, "race"))

    provider.before_publish = someone_else_pushes
    edit_dataset(catalog_engine, tenant, fqns[0], description="ours")
    result = commit_workspace(catalog_engine, settings, tenant, provider=provider)
    assert result.attempts == 2 and result.behind  # re-applied on the new head, which we must still pull
    assert git("--git-dir", str(remote.bare), "rev-parse", "HEAD~1") == pushed[0]
    assert result.workspace_sha == first.commit_sha
    pulled = pull_workspace(catalog_engine, settings, tenant)
    assert pulled.updated == [fqns[1]] and pulled.workspace_sha == _head(remote)
    assert git_state(clone) == catalog_state(catalog_engine, tenant)


def test_push_race_on_the_same_file_is_refused(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=2)
    commit_workspace(catalog_engine, settings, tenant)
    provider = _provider(settings, remote)
    clone = remote.clone
    clone.sync()
    path = "datasets/raw/model_0000.yml"
    pushed: list[str] = []
    provider.before_publish = lambda: (
        pushed.append(clone.push({path: clone.read(path).replace("Dataset 0", "Theirs")}))
        if not pushed
        else None
    )
    edit_dataset(catalog_engine, tenant, fqns[0], description="ours")
    with pytest.raises(CommitBlockedError):
        commit_workspace(catalog_engine, settings, tenant, provider=provider)
    assert _head(remote) == pushed[0]
    assert get_dataset(catalog_engine, tenant, fqns[0]).has_uncommitted_changes  # nothing marked synced


def test_written_files_parse_as_the_seed_format(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    build_catalog(catalog_engine, tenant, datasets=2)
    commit_workspace(catalog_engine, settings, tenant)
    remote.clone.sync()
    text = remote.clone.read("datasets/bronze/model_0001.yml")
    lines = text.splitlines()
    assert lines[0] == "version: '1.0'" and lines[1] == "dataset:"
    keys = [
        line.split(":")[0].strip() for line in lines if line.startswith("  ") and not line.startswith("   ")
    ]
    assert keys == [
        "uuid",
        "fqn",
        "name",
        "medallion_layer",
        "entity_type",
        "entity_subtype",
        "materialization_type",
        "description",
        "metadata",
        "columns",
        "references",
        "lineage",
    ]
    assert lines[-1].startswith("created_at: '")
    doc = parse_document(text, "x.yml")
    assert doc.dataset.references[0].reference_type == "FK"
    assert {e.lineage_type for e in doc.dataset.lineage} == {"direct", "indirect"}


def test_commit_refuses_to_overwrite_a_file_the_catalog_could_not_read(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=2)
    commit_workspace(catalog_engine, settings, tenant)
    remote.clone.sync()
    path = "datasets/raw/model_0000.yml"
    remote.clone.push({path: remote.clone.read(path).replace("is_nullable: false", "is_nullable: nope")})
    assert pull_workspace(catalog_engine, settings, tenant).errors
    edit_dataset(catalog_engine, tenant, fqns[0], description="catalog edit")
    with pytest.raises(CommitBlockedError) as info:  # the person's broken edit is not silently replaced
        commit_workspace(catalog_engine, settings, tenant)
    assert info.value.paths == [path]
