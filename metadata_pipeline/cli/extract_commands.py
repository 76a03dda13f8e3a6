"""`metadata-pipeline extract`: ingestion, lineage, enrichment and reconcile for registered repositories."""

from __future__ import annotations

import click

from metadata_pipeline.cli.common import catalog_engine, friendly_errors, settings_of


@click.command()
@click.argument("repositories", nargs=-1)
@click.option("--force", is_flag=True, help="Re-extract even when a repository's head has not moved.")
@click.option(
    "--enricher",
    "provider",
    type=click.Choice(["auto", "offline", "openai"]),
    default="auto",
    show_default=True,
    help="auto: OpenAI-compatible when OPENAI_API_KEY (or METADATA_PIPELINE_ENRICH_API_KEY_ENV) is set.",
)
@click.option("--max-ai-datasets", type=int, default=None, help="Provider calls allowed in this run.")
@click.option("--max-ai-tokens", type=int, default=None, help="Tokens allowed in this run.")
@click.pass_context
@friendly_errors
def extract(
    ctx: click.Context,
    repositories: tuple[str, ...],
    force: bool,
    provider: str,
    max_ai_datasets: int | None,
    max_ai_tokens: int | None,
) -> None:
    """Extract REPOSITORIES (default: all registered) into the catalog and print what changed.

    The same stages the Dagster assets run: fetch, extract (manifest, raw dbt SQL or plain SQL),
    column lineage, enrichment, reconcile. One failing repository does not stop the others; the
    exit code is 1 if any failed.
    """
    from metadata_pipeline.dbt_parse import ERROR_KIND as DBT_PARSE_ERROR
    from metadata_pipeline.enrich import EnrichmentLimits, OfflineEnricher, OpenAIConfig, OpenAIEnricher
    from metadata_pipeline.pipeline import EnrichOptions, run_repositories

    enricher = {"offline": OfflineEnricher, "openai": lambda: OpenAIEnricher(OpenAIConfig.from_env())}.get(provider)
    options = EnrichOptions(
        enricher=enricher() if enricher else None,
        limits=EnrichmentLimits(max_datasets=max_ai_datasets, max_tokens=max_ai_tokens),
    )
    runs = run_repositories(
        settings_of(ctx),
        catalog_engine(ctx),
        list(repositories) or None,
        force=force,
        trigger="cli",
        enrich_options=options,
        progress=lambda line: click.echo(line, err=True),
    )
    if not runs:
        click.echo("no repositories registered: add one with `metadata-pipeline repo add NAME URL`")
        return
    for run in runs:
        click.echo(run.summary())
        for error in run.extraction.errors if run.extraction else []:
            if error.kind == DBT_PARSE_ERROR:  # why an opted-in project was read from its SQL instead
                click.echo(f"  {error.message}")
        if run.enrichment is not None:
            stats = run.enrichment.stats
            click.echo(
                f"  enrichment: {stats.calls} calls, {stats.cache_hits} cached, {stats.propagated} propagated, "
                f"{stats.prompt_tokens + stats.completion_tokens} tokens, ~${stats.estimated_cost_usd:.4f}"
            )
        if run.artifact_path:
            click.echo(f"  lineage.json: {run.artifact_path}")
    if any(run.status == "failed" for run in runs):
        ctx.exit(1)
