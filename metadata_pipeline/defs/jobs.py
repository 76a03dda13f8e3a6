"""Named jobs: extraction per repository partition, enrichment, full refresh, commit and pull."""

import dagster as dg

from metadata_pipeline import pipeline
from metadata_pipeline.defs.extraction import catalog_datasets, enriched_metadata, extraction_assets
from metadata_pipeline.defs.names import (
    ENRICH_JOB,
    EXTRACT_JOB,
    FULL_REFRESH_JOB,
    TRIGGER_TAG,
    repository_partitions,
)
from metadata_pipeline.defs.resources import CatalogResource, EnricherResource

extract_repository_job = dg.define_asset_job(
    EXTRACT_JOB,
    selection=dg.AssetSelection.assets(*extraction_assets),
    description="Fetch, extract, trace columns, enrich and reconcile one repository (one partition per repo).",
)

enrich_job = dg.define_asset_job(
    ENRICH_JOB,
    selection=dg.AssetSelection.assets(enriched_metadata, catalog_datasets),
    description="Re-run enrichment and reconcile for a repository from its last extracted lineage.",
)


class RefreshConfig(dg.Config):
    repositories: list[str] = []  # empty: every registered repository
    force: bool = True  # a full refresh re-extracts even when the head did not move


@dg.op(description="Extract every repository (or the named ones) into the catalog, one after another.")
def refresh_repositories(
    context: dg.OpExecutionContext, config: RefreshConfig, catalog: CatalogResource, enricher: EnricherResource
) -> list[str]:
    runs = pipeline.run_repositories(
        catalog.settings(),
        catalog.engine(),
        config.repositories or None,
        force=config.force,
        trigger=context.run.tags.get(TRIGGER_TAG, "manual"),
        dagster_run_id=context.run.run_id,
        enrich_options=enricher.options(),
        progress=context.log.info,
    )
    known = set(context.instance.get_dynamic_partitions(repository_partitions.name))
    new = [r.repository for r in runs if r.repository not in known and r.job_id is not None]
    if new:  # so each repository shows up as a partition of the extraction assets in the UI
        context.instance.add_dynamic_partitions(repository_partitions.name, new)
    for run in runs:
        (context.log.error if run.status == "failed" else context.log.info)(run.summary())
        if run.reconcile is not None:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key="catalog_datasets",
                    partition=run.repository,
                    metadata={
                        "changed": run.reconcile.changed,
                        "summary": run.reconcile.summary(),
                        "head_sha": run.head_sha or "",
                        "extraction_job_id": str(run.job_id),
                    },
                )
            )
    failed = [r.repository for r in runs if r.status == "failed"]
    if runs and len(failed) == len(runs):
        raise dg.Failure(description=f"every repository failed: {', '.join(failed)}")
    return [r.repository for r in runs if r.status != "failed"]


def build_full_refresh_job(after: list[dg.OpDefinition]) -> dg.JobDefinition:
    """Refresh every repository, then run each op of `after` (e.g. the commit to Git) on the result."""

    @dg.job(name=FULL_REFRESH_JOB, description="Re-extract every repository, then commit the catalog to Git.")
    def full_refresh_job() -> None:
        refreshed = refresh_repositories()
        for op in after:
            op(refreshed)

    return full_refresh_job
