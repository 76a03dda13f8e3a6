"""`dbt parse` for repositories that commit no manifest (issue #3): opted in per connection, GOLD when
dbt parses the project, SILVER with an error naming the problem when it cannot; on both backends."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from metadata_pipeline import pipeline
from metadata_pipeline.catalog import Tenant, add_repository, get_repository, session_scope
from metadata_pipeline.catalog.models import ExtractionJob
from metadata_pipeline.cli.repo_commands import repo
from metadata_pipeline.dbt_parse import (
    DBT_EXECUTABLE_ENV,
    ERROR_KIND,
    DbtParseError,
    parse_manifest,
    relation_renames,
    rename_tables,
)
from metadata_pipeline.demo import bundled_example, copy_example
from metadata_pipeline.enrich import OfflineEnricher
from metadata_pipeline.ingest import DbtObject, Extraction, read_manifest
from metadata_pipeline.lineage import compute_project_lineage
from metadata_pipeline.settings import Settings
from metadata_pipeline_tests.conftest import GitRemote

OFFLINE = pipeline.EnrichOptions(enricher=OfflineEnricher())
MISSING_ADAPTER = "nosuchwarehouse"  # no dbt-<name> plugin will ever be installed under this name


@pytest.fixture
def settings(tmp_path: Path, catalog_url: str) -> Settings:
    return Settings.from_env(catalog_url=catalog_url, home=tmp_path / "home")


def publish_without_manifest(remote: GitRemote, *, adapter: str | None = None) -> None:
    """The bundled example as a repository that commits no target/ (so no manifest, no catalog)."""
    copy_example(bundled_example(), remote.work)
    shutil.rmtree(remote.work / "target")
    if adapter:
        profiles = remote.work / "profiles.yml"
        profiles.write_text(profiles.read_text().replace("type: duckdb", f"type: {adapter}"))
    remote.commit_all("the shop project without its dbt artifacts")


def dependencies(extraction: Extraction) -> set[tuple[str, str]]:
    return {(d.source, d.target) for d in extraction.dependencies}


def column_edges(extraction: Extraction) -> set[tuple[str, str | None]]:
    with tempfile.TemporaryDirectory() as cache:
        lineage = compute_project_lineage(extraction, cache_dir=Path(cache))
    return {(e.target, e.source) for e in lineage.edges}


def test_dbt_parse_gives_gold_where_opted_in_and_silver_with_a_clear_error_otherwise(
    settings: Settings, catalog_engine: Engine, tenant: Tenant, git_remote: GitRemote, tmp_path: Path
) -> None:
    publish_without_manifest(git_remote)
    unparsable = GitRemote(tmp_path / "unparsable")
    publish_without_manifest(unparsable, adapter=MISSING_ADAPTER)
    with session_scope(catalog_engine) as session:
        add_repository(session, tenant, "parsed", git_remote.url, branch="main", dbt_parse=True)
        add_repository(session, tenant, "plain", git_remote.url, branch="main")
        add_repository(session, tenant, "unparsable", unparsable.url, branch="main", dbt_parse=True)

    runs = {
        r.repository: r for r in pipeline.run_repositories(settings, catalog_engine, enrich_options=OFFLINE)
    }

    parsed, plain, failed = runs["parsed"], runs["plain"], runs["unparsable"]
    committed = read_manifest(
        bundled_example() / "target" / "manifest.json", project_root=bundled_example(), project_name="shop"
    )
    # Opted in: GOLD from dbt's own manifest, with the dependencies the committed manifest records.
    assert parsed.status == "success", parsed.summary()
    assert parsed.extraction is not None and parsed.extraction.tier == "GOLD"
    assert parsed.extraction.manifest_schema_version and not parsed.extraction.errors
    assert dependencies(parsed.extraction) == dependencies(committed)
    # Parse compiles nothing; the rendered SQL must still give column lineage that resolves to the
    # same objects as the compiled manifest's (its incremental branch aside, hence a subset).
    edges = column_edges(parsed.extraction)
    assert edges and edges <= column_edges(committed)
    assert parsed.lineage is not None and len(parsed.lineage.edges) > 0
    # dbt wrote into the data directory's cache, nothing into the checkout (not even ignored files).
    assert parsed.checkout is not None and parsed.dbt_parse_dir is not None
    assert list(parsed.dbt_parse_dir.glob("*/manifest.json"))
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=parsed.checkout, capture_output=True, text=True
    )
    assert status.stdout.strip() == ""

    # Not opted in: the same repository is read from its dbt SQL, and dbt is never run.
    assert plain.status == "success" and plain.dbt_parse_dir is None
    assert plain.extraction is not None and plain.extraction.tier == "SILVER"

    # Opted in but dbt cannot parse it: SILVER, the repository still succeeds, and the error says why.
    assert failed.status == "partial", failed.summary()
    assert failed.extraction is not None and failed.extraction.tier == "SILVER"
    assert len(failed.extraction.objects) == len(plain.extraction.objects)
    error = failed.extraction.errors[0]
    assert error.kind == ERROR_KIND and error.file and error.file.endswith("dbt_project.yml")
    assert "'shop'" in error.message and MISSING_ADAPTER in error.message and "SILVER" in error.message

    with session_scope(catalog_engine) as session:
        jobs = {
            job.connection_id: job
            for job in session.scalars(
                select(ExtractionJob).where(ExtractionJob.company_id == tenant.company_id)
            )
        }
        assert jobs[parsed.connection_id].extraction_tier == "GOLD"
        assert jobs[plain.connection_id].extraction_tier == "SILVER"
        failed_job = jobs[failed.connection_id]
        assert failed_job.status == "partial" and failed_job.errors[0]["kind"] == ERROR_KIND
        assert MISSING_ADAPTER in failed_job.errors[0]["message"]
        assert get_repository(session, tenant, "parsed").manifest_version


def test_repo_add_stores_the_opt_in_and_list_shows_it(
    settings: Settings, catalog_engine: Engine, tenant: Tenant
) -> None:
    runner = CliRunner()
    added = runner.invoke(repo, ["add", "shop", "/tmp/shop.git", "--dbt-parse"], obj=settings)
    assert added.exit_code == 0 and "dbt parse" in added.output, added.output
    runner.invoke(repo, ["add", "other", "/tmp/other.git"], obj=settings, catch_exceptions=False)
    listed = runner.invoke(repo, ["list"], obj=settings, catch_exceptions=False)
    lines = {line.split()[0]: line for line in listed.output.splitlines()}
    assert "(dbt parse)" in lines["shop"] and "(dbt parse)" not in lines["other"]
    with session_scope(catalog_engine) as session:
        shop = get_repository(session, tenant, "shop")
        assert shop.configuration == {"dbt_parse": True}
        assert get_repository(session, tenant, "other").configuration is None  # unchanged default
        shop.last_extracted_sha = "a" * 40
        shop.configuration = {**shop.configuration, "kept": 1}
    with session_scope(catalog_engine) as session:
        info = add_repository(session, tenant, "shop", "/tmp/shop.git", replace=True)
        shop = get_repository(session, tenant, "shop")
        # Opting out keeps other settings, and the next run re-extracts: it reads the repository differently.
        assert not info.dbt_parse and shop.configuration == {"kept": 1} and shop.last_extracted_sha is None


def test_a_missing_dbt_executable_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "shop"
    shutil.copytree(bundled_example(), project, ignore=shutil.ignore_patterns("target", "*.duckdb", "logs"))
    monkeypatch.setenv(DBT_EXECUTABLE_ENV, str(tmp_path / "no-dbt-here"))
    with pytest.raises(DbtParseError, match="no-dbt-here") as caught:
        parse_manifest(project, tmp_path / "cache")
    assert str(project) in str(caught.value)
    assert not (project / "target").exists()


def _relation(uid: str, name: str, schema: str, database: str | None, **kw: str) -> DbtObject:
    return DbtObject(uid, name, "model", schema=schema, database=database, alias=name, **kw)


def test_rendered_table_names_are_rewritten_to_the_relations_dbt_resolved() -> None:
    rendered = [
        _relation("model.p.orders", "orders", "staging", None),
        _relation("model.p.items", "items", "staging", None),
        _relation("model.p.eph", "eph", "staging", None),
        _relation("model.p.same", "same", "staging", "db"),
    ]
    exact = {
        "model.p.orders": _relation("model.p.orders", "orders", "staging", "db"),
        "model.p.items": _relation("model.p.items", "items", "stg", "db"),
        "model.p.eph": _relation("model.p.eph", "eph", "staging", "db", materialization="ephemeral"),
        "model.p.same": _relation("model.p.same", "same", "staging", "db"),
    }
    renames = relation_renames(rendered, exact, "duckdb")
    assert set(renames) == {"staging.orders", "staging.items", "staging.eph"}  # `same` already agrees
    sql = (
        "with orders as (select 1 as id) "
        "select o.id, items.sku, eph.x from staging.orders as o "
        "join staging.items on items.order_id = o.id join staging.eph on eph.x = o.id "
        "left join orders on true"
    )
    out = rename_tables(sql, renames, "duckdb")
    assert "db.staging.orders AS o" in out
    assert "JOIN db.stg.items\n" in out  # same last name: `items.sku` still resolves without an alias
    # A renamed table without an alias gets its old name as one, so qualified columns keep resolving.
    assert "JOIN __dbt__cte__eph AS eph" in out
    assert "LEFT JOIN orders" in out  # the one-part CTE reference is not a relation
    assert rename_tables("select * from", renames, "duckdb") == "select * from"  # unparsable: untouched
    untouched = "select 1 from other.table_x"
    assert rename_tables(untouched, renames, "duckdb") == untouched
