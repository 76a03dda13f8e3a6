"""The code location: it loads, its partitioned extraction job runs in process, and the demo works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from metadata_pipeline.catalog import Tenant, add_repository, session_scope
from metadata_pipeline.catalog.models import Dataset, ExtractionJob
from metadata_pipeline.cli import main
from metadata_pipeline.defs.names import EXTRACT_JOB, FULL_REFRESH_JOB, TRIGGER_TAG, repository_partitions
from metadata_pipeline.demo import bundled_example, copy_example
from metadata_pipeline_tests.conftest import GitRemote, git

JOB_NAMES = {EXTRACT_JOB, FULL_REFRESH_JOB, "enrich_job", "commit_to_git_job", "pull_from_git_job"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, catalog_url: str) -> Path:
    """The code location reads its configuration from the environment, as under `dagster dev`."""
    home = tmp_path / "home"
    monkeypatch.setenv("METADATA_PIPELINE_HOME", str(home))
    monkeypatch.setenv("METADATA_PIPELINE_CATALOG_URL", catalog_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return home


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def test_definitions_load_with_every_named_job() -> None:
    from metadata_pipeline.definitions import defs

    repository = defs.get_repository_def()
    assert JOB_NAMES <= {job.name for job in repository.get_all_jobs()}
    assert {s.name for s in repository.sensor_defs} >= {"webhook_sensor", "poll_sensor"}
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in repository.sensor_defs)
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in repository.schedule_defs)


def test_extraction_job_materializes_one_repository_partition(
    environment: Path,
    instance: dg.DagsterInstance,
    git_remote: GitRemote,
    catalog_engine: Engine,
    tenant: Tenant,
) -> None:
    from metadata_pipeline.definitions import build_definitions

    copy_example(bundled_example(), git_remote.work)
    git_remote.commit_all("shop")
    with session_scope(catalog_engine) as session:
        add_repository(session, tenant, "shop", git_remote.url, branch="main")
    instance.add_dynamic_partitions(repository_partitions.name, ["shop"])
    job = build_definitions().resolve_job_def(EXTRACT_JOB)

    result = job.execute_in_process(instance=instance, partition_key="shop", tags={TRIGGER_TAG: "manual"})
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {
        "dbt_repository",
        "dbt_model_lineage",
        "column_lineage",
        "enriched_metadata",
        "catalog_datasets",
    }
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    with session_scope(catalog_engine) as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) > 30
        job_row = session.scalar(select(ExtractionJob))
        assert job_row is not None and job_row.dagster_run_id == result.run_id and job_row.status == "success"

    # The head did not move: the repository asset yields nothing and everything downstream is skipped.
    again = job.execute_in_process(instance=instance, partition_key="shop")
    assert again.success
    assert {e.asset_key.to_user_string() for e in again.get_asset_materialization_events()} == set()


def test_demo_runs_the_main_job_and_commits_yaml(environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `make run` does, on a fresh data directory; the second run changes nothing."""
    monkeypatch.setenv("DAGSTER_HOME", str(environment / "dagster_home"))
    runner = CliRunner()
    first = runner.invoke(main, ["demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert f"{FULL_REFRESH_JOB} succeeded" in first.output
    assert "metadata repository:" in first.output
    remote = environment / "metadata.git"
    listing = git("ls-tree", "-r", "--name-only", "main", cwd=remote).splitlines()
    assert "datasets/gold/fct_orders.yml" in listing and len(listing) >= 30
    second = runner.invoke(main, ["demo"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert git("rev-list", "--count", "main", cwd=remote) == "1"  # nothing changed, nothing committed
    # The UI shows the repository as a partition with its catalog materialized.
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(repository_partitions.name) == ["shop"]
        event = instance.get_latest_materialization_event(dg.AssetKey("catalog_datasets"))
        assert event is not None and event.asset_materialization.partition == "shop"


def test_dagster_definitions_validate_command_passes(tmp_path: Path) -> None:
    """The check a deployment runs: `dagster definitions validate -m metadata_pipeline.definitions`."""
    import os
    import subprocess
    import sys

    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "metadata_pipeline.definitions"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful" in done.stderr + done.stdout
