"""`metadata-pipeline db`: create, upgrade and inspect the catalog database."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from metadata_pipeline.cli.common import catalog_engine, friendly_errors, settings_of


@click.group()
def db() -> None:
    """Create, upgrade and inspect the catalog database."""


@db.command()
@click.pass_context
@friendly_errors
def upgrade(ctx: click.Context) -> None:
    """Apply the catalog migrations (safe to run again: an up-to-date catalog is left unchanged)."""
    from metadata_pipeline.catalog import ensure_default_tenant, schema_status, session_scope
    from metadata_pipeline.catalog import upgrade as apply_migrations

    settings = settings_of(ctx)
    settings.ensure_dirs()
    apply_migrations(settings.catalog_url)
    engine = catalog_engine(ctx)
    with session_scope(engine) as session:
        ensure_default_tenant(session)
    click.echo(f"catalog at {settings.safe_catalog_url} is at revision {schema_status(engine).current}")


@db.command()
@click.pass_context
@friendly_errors
def status(ctx: click.Context) -> None:
    """Show the catalog URL (password hidden), its schema revision and row counts."""
    from metadata_pipeline.catalog import schema_status, session_scope
    from metadata_pipeline.catalog.models import Column as CatalogColumn
    from metadata_pipeline.catalog.models import Connection, Dataset, Lineage

    settings = settings_of(ctx)
    engine = catalog_engine(ctx, require_schema=False)
    state = schema_status(engine)
    click.echo(f"catalog:   {settings.safe_catalog_url}")
    click.echo(f"home:      {settings.home}")
    click.echo(f"revision:  {state.current or '(empty: run `metadata-pipeline db upgrade`)'} (head {state.head})")
    if not state.up_to_date:
        click.echo("status:    needs upgrade")
        return
    with session_scope(engine) as session:
        for label, model in (
            ("repos", Connection),
            ("datasets", Dataset),
            ("columns", CatalogColumn),
            ("lineage", Lineage),
        ):
            click.echo(f"{label + ':':<11}{session.scalar(select(func.count()).select_from(model))}")
    click.echo("status:    up to date")
