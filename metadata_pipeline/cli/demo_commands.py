"""`metadata-pipeline demo`: the bundled example end to end on the embedded defaults (`make run`)."""

from __future__ import annotations

import os

import click

from metadata_pipeline.cli.common import friendly_errors, settings_of


@click.command()
@click.pass_context
@friendly_errors
def demo(ctx: click.Context) -> None:
    """Run the main job on the bundled example and print where to look.

    Upgrades the catalog, publishes examples/shop to a local bare git repository, registers it as
    repository `shop`, then executes the Dagster job `full_refresh_job` in process: fetch, extract,
    column lineage, enrichment, reconcile, and one commit of dataset YAML to the local metadata
    repository. Safe to run again: the second run changes nothing and commits nothing.
    """
    from dagster import DagsterInstance

    from metadata_pipeline.catalog import (
        add_repository,
        cached_engine,
        ensure_default_tenant,
        session_scope,
        upgrade,
    )
    from metadata_pipeline.defs.names import FULL_REFRESH_JOB, TRIGGER_TAG
    from metadata_pipeline.demo import EXAMPLE_NAME, publish_example
    from metadata_pipeline.sync import list_workspaces

    settings = settings_of(ctx)
    settings.ensure_dirs()
    # The code location reads its configuration from the environment, like under `dagster dev`.
    os.environ["METADATA_PIPELINE_HOME"] = str(settings.home)
    os.environ["METADATA_PIPELINE_CATALOG_URL"] = settings.catalog_url
    dagster_home = os.environ.setdefault("DAGSTER_HOME", str(settings.home / "dagster_home"))
    os.makedirs(dagster_home, exist_ok=True)

    click.echo(f"catalog: upgrading {settings.safe_catalog_url}")
    upgrade(settings.catalog_url)
    remote = publish_example(settings)
    engine = cached_engine(settings.catalog_url)
    with session_scope(engine) as session:
        add_repository(session, ensure_default_tenant(session), EXAMPLE_NAME, str(remote), branch="main", replace=True)
    click.echo(f"repository {EXAMPLE_NAME}: {remote}")

    from metadata_pipeline.definitions import build_definitions

    job = build_definitions().resolve_job_def(FULL_REFRESH_JOB)
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={TRIGGER_TAG: "manual"},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
        )
    if not result.success:
        raise click.ClickException(f"{FULL_REFRESH_JOB} failed (run {result.run_id}): see `make dev` for its logs")

    with session_scope(engine) as session:
        tenant = ensure_default_tenant(session)
    workspaces = list_workspaces(engine, tenant, settings)
    main = next((w for w in workspaces if w.name == "main"), None)
    click.echo("")
    click.echo(f"done: Dagster run {result.run_id} of {FULL_REFRESH_JOB} succeeded")
    click.echo(f"  catalog:              {settings.safe_catalog_url}  (metadata-pipeline db status)")
    if main is not None:
        click.echo(f"  metadata repository:  {main.remote}  (git clone it; YAML under {main.path_prefix}/)")
    click.echo(f"  lineage artifacts:    {settings.artifacts_dir}")
    click.echo(f"  Dagster UI:           make dev, then http://127.0.0.1:3000 (DAGSTER_HOME={dagster_home})")
