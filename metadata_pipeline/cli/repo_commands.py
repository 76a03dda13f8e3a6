"""`metadata-pipeline repo`: register and list the dbt repositories to ingest."""

from __future__ import annotations

import click

from metadata_pipeline.catalog.models import PROVIDERS
from metadata_pipeline.cli.common import catalog_engine, friendly_errors


@click.group()
def repo() -> None:
    """Register and list the dbt repositories the pipeline ingests."""


@repo.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--branch", default=None, help="Branch to follow (default: the remote's default branch).")
@click.option("--subdir", default=None, help="Folder of the dbt project inside the repository.")
@click.option("--provider", type=click.Choice(PROVIDERS), default="git", show_default=True)
@click.option("--credential-env", default=None, help="Name of the env var holding an access token (never the token).")
@click.option("--webhook-secret-env", default=None, help="Name of the env var holding this repo's webhook secret.")
@click.option("--replace", is_flag=True, help="Update the repository if one with this name exists.")
@click.option(
    "--dbt-parse",
    is_flag=True,
    help="Where a dbt project commits no target/manifest.json, produce one with `dbt parse` "
    "(needs dbt and the project's adapter installed here; falls back to reading its SQL).",
)
@click.pass_context
@friendly_errors
def add(
    ctx: click.Context,
    name: str,
    url: str,
    branch: str | None,
    subdir: str | None,
    provider: str,
    credential_env: str | None,
    webhook_secret_env: str | None,
    replace: bool,
    dbt_parse: bool,
) -> None:
    """Register repository NAME at URL (a local path, file://, ssh or https git URL)."""
    from metadata_pipeline.catalog import add_repository, ensure_default_tenant, session_scope

    with session_scope(catalog_engine(ctx)) as session:
        info = add_repository(
            session,
            ensure_default_tenant(session),
            name,
            url,
            branch=branch,
            subdirectory=subdir,
            provider=provider,
            credential_env=credential_env,
            webhook_secret_env=webhook_secret_env,
            replace=replace,
            dbt_parse=dbt_parse,
        )
    parse = ", dbt parse when no manifest" if info.dbt_parse else ""
    click.echo(
        f"registered {info.name}: {info.url} (branch {info.branch or 'default'}, provider {info.provider}{parse})"
    )


@repo.command("list")
@click.pass_context
@friendly_errors
def list_(ctx: click.Context) -> None:
    """List registered repositories."""
    from metadata_pipeline.catalog import ensure_default_tenant, list_repositories, session_scope

    with session_scope(catalog_engine(ctx)) as session:
        repos = list_repositories(session, ensure_default_tenant(session))
    if not repos:
        click.echo("no repositories registered: add one with `metadata-pipeline repo add NAME URL`")
        return
    for r in repos:
        where = f"{r.url}" + (f" [{r.subdirectory}]" if r.subdirectory else "")
        sha = (r.last_extracted_sha or "-")[:10]
        parse = "  (dbt parse)" if r.dbt_parse else ""
        click.echo(f"{r.name:<24} {r.provider:<7} {r.branch or 'default':<12} {sha:<10} {where}{parse}")
