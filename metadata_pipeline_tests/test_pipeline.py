"""The whole pipeline on the bundled example, through a real git remote, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from metadata_pipeline import pipeline
from metadata_pipeline.catalog import Tenant, add_repository, session_scope
from metadata_pipeline.catalog.graph import source_columns
from metadata_pipeline.catalog.models import Column, Dataset, ExtractionJob, Lineage
from metadata_pipeline.demo import bundled_example, copy_example
from metadata_pipeline.enrich import OfflineEnricher
from metadata_pipeline.settings import Settings
from metadata_pipeline_tests.conftest import GitRemote, git

OFFLINE = pipeline.EnrichOptions(enricher=OfflineEnricher())
SOURCE_TYPES = ("source", "seed")


def publish(remote: GitRemote, project: Path) -> str:
    copy_example(project, remote.work)
    return remote.commit_all("add the shop project")


@pytest.fixture
def settings(tmp_path: Path, catalog_url: str) -> Settings:
    return Settings.from_env(catalog_url=catalog_url, home=tmp_path / "home")


@pytest.fixture
def shop(git_remote: GitRemote, catalog_engine: Engine, tenant: Tenant) -> Iterator[GitRemote]:
    publish(git_remote, bundled_example())
    with session_scope(catalog_engine) as session:
        add_repository(session, tenant, "shop", git_remote.url, branch="main")
    yield git_remote


def run(settings: Settings, engine: Engine, *names: str, force: bool = False) -> list[pipeline.RepositoryRun]:
    return pipeline.run_repositories(
        settings, engine, list(names) or None, force=force, enrich_options=OFFLINE
    )


def test_bundled_example_end_to_end(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote
) -> None:
    [result] = run(settings, catalog_engine, "shop")
    assert result.status == "success", result.summary()
    assert result.extraction is not None and result.extraction.tier == "GOLD"
    assert result.reconcile is not None and result.reconcile.changed
    assert result.artifact_path is not None and result.artifact_path.name == "lineage.json"
    with session_scope(catalog_engine) as session:
        job = session.scalar(select(ExtractionJob).where(ExtractionJob.job_id == result.job_id))
        assert (
            job is not None
            and job.status == "success"
            and job.objects_extracted == len(result.extraction.objects)
        )
        assert job.head_sha == result.head_sha and job.column_lineage_extracted > 0
        models = session.scalars(select(Dataset).where(Dataset.resource_type == "model")).all()
        assert len(models) >= 15


def test_every_model_column_resolves_to_source_columns(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote
) -> None:
    run(settings, catalog_engine, "shop")
    unresolved: list[str] = []
    with session_scope(catalog_engine) as session:
        rows = session.execute(
            select(Dataset.fqn, Column.name, Column.column_id)
            .join(Column, Column.dataset_id == Dataset.dataset_id)
            .where(Dataset.resource_type == "model")
        ).all()
        calculated = set(
            session.scalars(
                select(Lineage.downstream_column_id).where(
                    Lineage.mapping_type == "Calculated", Lineage.upstream_column_id.is_(None)
                )
            )
        )
        for fqn, name, column_id in rows:
            if column_id in calculated:
                continue
            found = source_columns(session, tenant.company_id, f"{fqn}.{name}")
            # A path may legitimately end in a model column computed from no column (count(*)).
            ends = [n for n in found if n.column_id not in calculated]
            if not found or any(not n.dataset_fqn.startswith(SOURCE_TYPES) for n in ends):
                unresolved.append(f"{fqn}.{name} -> {[n.fqn for n in found]}")
    assert unresolved == [], "\n".join(unresolved)


def test_offline_enrichment_describes_and_classifies_everything(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote
) -> None:
    run(settings, catalog_engine, "shop")
    with session_scope(catalog_engine) as session:
        datasets = session.scalars(select(Dataset).where(Dataset.resource_type == "model")).all()
        assert all(d.description and d.medallion_layer and d.entity_type for d in datasets)
        columns = session.scalars(
            select(Column)
            .join(Dataset, Dataset.dataset_id == Column.dataset_id)
            .where(Dataset.resource_type == "model")
        ).all()
        assert [c.fqn for c in columns if not c.description or not c.pii_category] == []
        # Pass-through columns without a description of their own inherit their origin's, word for word
        # (int_orders_enriched.order_id passes stg_orders.order_id through undocumented).
        by_fqn = {c.fqn: c for c in columns}
        inherited = {
            c.fqn: (c.field_sources or {}).get("description", "").removeprefix("lineage:")
            for c in columns
            if (c.field_sources or {}).get("description", "").startswith("lineage:")
        }
        assert "model.shop.int_orders_enriched.order_id" in inherited
        origins = {
            c.fqn: c.description
            for c in session.scalars(select(Column).where(Column.fqn.in_(set(inherited.values()))))
        }
        assert len(inherited) >= 10
        assert {fqn: by_fqn[fqn].description for fqn in inherited} == {
            fqn: origins[origin] for fqn, origin in inherited.items()
        }


def test_unchanged_head_is_skipped_and_a_forced_rerun_changes_nothing(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote
) -> None:
    run(settings, catalog_engine, "shop")
    [again] = run(settings, catalog_engine, "shop")
    assert again.status == "skipped"
    [forced] = run(settings, catalog_engine, "shop", force=True)
    assert forced.status == "success" and forced.reconcile is not None and not forced.reconcile.changed


def test_one_broken_repository_does_not_stop_the_others(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote, tmp_path: Path
) -> None:
    broken = GitRemote(tmp_path / "broken")
    broken.commit_files(
        {
            "dbt_project.yml": "name: broken\nversion: '1.0'\nprofile: x\n",
            "target/manifest.json": '{"metadata": {',
        }
    )
    with session_scope(catalog_engine) as session:
        add_repository(session, tenant, "aaa-unreachable", str(tmp_path / "does-not-exist.git"))
        add_repository(session, tenant, "broken-manifest", broken.url)
    runs = {r.repository: r for r in run(settings, catalog_engine)}
    assert runs["shop"].status == "success"
    assert runs["aaa-unreachable"].status == "failed" and "does-not-exist" in (
        runs["aaa-unreachable"].error or ""
    )
    assert runs["broken-manifest"].status in ("failed", "partial")
    assert "manifest.json" in (runs["broken-manifest"].error or "") + " ".join(
        str(e)
        for e in (runs["broken-manifest"].extraction.errors if runs["broken-manifest"].extraction else [])
    )
    with session_scope(catalog_engine) as session:
        statuses = dict(
            session.execute(select(ExtractionJob.status, func.count()).group_by(ExtractionJob.status)).all()
        )
        assert statuses.get("failed", 0) >= 1 and statuses.get("success", 0) == 1


def test_a_description_edited_in_git_survives_re_extraction(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote, tmp_path: Path
) -> None:
    from metadata_pipeline.sync import commit_workspace, pull_workspace

    run(settings, catalog_engine, "shop")
    committed = commit_workspace(catalog_engine, settings, tenant, "main", "first sync")
    assert committed.status == "committed"

    clone = tmp_path / "metadata-clone"
    git("clone", "-q", str(settings.metadata_remote_dir), str(clone))
    path = clone / "datasets" / "gold" / "fct_orders.yml"
    text = path.read_text()
    old = "  description: Order fact table, built incrementally on updated_at.\n"
    assert old in text
    path.write_text(text.replace(old, "  description: Orders as finance reports them.\n"))
    git("commit", "-q", "-am", "Reword fct_orders", cwd=clone)
    git("push", "-q", "origin", "HEAD:main", cwd=clone)

    pulled = pull_workspace(catalog_engine, settings, tenant, "main")
    assert pulled.status == "synced", pulled.summary()
    [again] = run(settings, catalog_engine, "shop", force=True)
    assert again.status == "success"
    with session_scope(catalog_engine) as session:
        fct = session.scalar(select(Dataset).where(Dataset.fqn == "model.shop.fct_orders"))
        assert fct is not None
        assert fct.description == "Orders as finance reports them."
        assert "description" in (fct.human_edited_fields or [])
        suggested = (fct.suggested_values or {}).get("description")
        assert suggested == {"value": "Order fact table, built incrementally on updated_at.", "source": "manifest"}


def test_extracted_example_round_trips_through_git(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, shop: GitRemote, tmp_path: Path
) -> None:
    """Extract the bundled example, commit, clone elsewhere, parse every file: the same catalog state."""
    from metadata_pipeline.sync import commit_workspace
    from metadata_pipeline_tests.sync.helpers import Clone, catalog_state, git_state

    run(settings, catalog_engine, "shop")
    assert commit_workspace(catalog_engine, settings, tenant, "main", "sync").status == "committed"
    clone = Clone(settings.metadata_remote_dir, tmp_path / "elsewhere")
    in_git = git_state(clone)
    in_catalog = catalog_state(catalog_engine, tenant)
    assert len(in_git) >= 36
    assert in_git == in_catalog
