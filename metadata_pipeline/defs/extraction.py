"""Extraction assets, one per stage, partitioned by repository: each calls one `pipeline` stage.

dbt_repository -> dbt_model_lineage -> column_lineage -> enriched_metadata -> catalog_datasets.
A repository whose head has not moved since its last extraction stops after `dbt_repository`
(no output, so the downstream assets are skipped) unless the run is tagged as a full refresh.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import TypeVar

import dagster as dg

from metadata_pipeline import pipeline
from metadata_pipeline.defs.names import TRIGGER_TAG, repository_partitions
from metadata_pipeline.defs.resources import CatalogResource, EnricherResource
from metadata_pipeline.pipeline import RepositoryRun

GROUP = "extraction"
FORCE_TAG = "metadata_pipeline/force"
T = TypeVar("T")


def _stage(
    context: dg.AssetExecutionContext, catalog: CatalogResource, run: RepositoryRun, fn: Callable[[], T]
) -> T:
    """Run one stage; a failure closes the extraction_jobs row before Dagster marks the step failed."""
    try:
        return fn()
    except Exception as exc:
        pipeline.finish_run(catalog.engine(), run, exc)
        raise dg.Failure(description=f"{run.repository}: {run.error}") from exc


@dg.asset(
    group_name=GROUP,
    partitions_def=repository_partitions,
    output_required=False,
    description="The repository checked out at its branch head (cloned once, then fetched).",
)
def dbt_repository(
    context: dg.AssetExecutionContext, catalog: CatalogResource
) -> Iterator[dg.Output[RepositoryRun]]:
    tags = context.run.tags
    run = pipeline.start_run(
        catalog.settings(),
        catalog.engine(),
        context.partition_key,
        force=tags.get(FORCE_TAG) == "true",
        trigger=tags.get(TRIGGER_TAG, "manual"),
        dagster_run_id=context.run.run_id,
    )
    snapshot = _stage(context, catalog, run, lambda: pipeline.fetch_stage(catalog.settings(), run))
    if run.status == "skipped":
        pipeline.finish_run(catalog.engine(), run)
        context.log.info(f"{run.repository}: head {snapshot.head_sha[:10]} already extracted; nothing to do")
        return
    yield dg.Output(
        run,
        metadata={
            "head_sha": snapshot.head_sha,
            "previous_sha": snapshot.previous_sha or "",
            "branch": snapshot.branch,
            "extraction_job_id": str(run.job_id),
        },
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=repository_partitions,
    description="Models, sources, seeds, snapshots and exposures with model-level lineage as dbt records it "
    "(GOLD from manifest.json, SILVER from raw dbt SQL, BRONZE from plain SQL).",
)
def dbt_model_lineage(
    context: dg.AssetExecutionContext, catalog: CatalogResource, dbt_repository: RepositoryRun
) -> dg.Output[RepositoryRun]:
    run = dbt_repository
    extraction = _stage(context, catalog, run, lambda: pipeline.extract_stage(run))
    by_type = Counter(o.resource_type for o in extraction.objects)
    table = "\n".join(f"| {kind} | {count} |" for kind, count in sorted(by_type.items()))
    errors = "\n".join(f"- {e}" for e in extraction.errors[:20]) or "none"
    return dg.Output(
        run,
        metadata={
            "objects": len(extraction.objects),
            "dependencies": len(extraction.dependencies),
            "errors": len(extraction.errors),
            "tier": extraction.tier,
            "head_sha": run.head_sha or "",
            "adapter": extraction.adapter_type or "unknown",
            "manifest_schema_version": extraction.manifest_schema_version or 0,
            # Whether the connection opted in to `dbt parse` for projects that commit no manifest.
            "dbt_parse": run.dbt_parse_dir is not None,
            "summary": dg.MetadataValue.md(
                f"**{extraction.project_name}** at `{(run.head_sha or '')[:10]}`, tier {extraction.tier}\n\n"
                f"| resource type | count |\n|---|---|\n{table}\n\n**Errors** (first 20):\n{errors}"
            ),
        },
    )


@dg.asset_check(asset=dbt_model_lineage, description="Fails when a repository yields no objects at all.")
def model_lineage_not_empty(dbt_model_lineage: RepositoryRun) -> dg.AssetCheckResult:
    extraction = dbt_model_lineage.extraction
    objects = len(extraction.objects) if extraction else 0
    models = sum(1 for o in extraction.objects if o.resource_type == "model") if extraction else 0
    return dg.AssetCheckResult(
        passed=models > 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "objects": objects,
            "models": models,
            "errors": len(extraction.errors) if extraction else 0,
        },
        description=None if models else "no models extracted: is this a dbt project, and does it parse?",
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=repository_partitions,
    description="Column-level lineage from compiled SQL (sqlglot), classified and scored.",
)
def column_lineage(
    context: dg.AssetExecutionContext, catalog: CatalogResource, dbt_model_lineage: RepositoryRun
) -> dg.Output[RepositoryRun]:
    run = dbt_model_lineage
    result = _stage(context, catalog, run, lambda: pipeline.lineage_stage(catalog.settings(), run))
    mapping = Counter(e.mapping_type for e in result.edges if e.lineage_type == "direct")
    return dg.Output(
        run,
        metadata={
            "edges": len(result.edges),
            "indirect_edges": sum(1 for e in result.edges if e.lineage_type == "indirect"),
            "errors": len(result.errors),
            **{f"mapping_{k.lower()}": v for k, v in sorted(mapping.items())},
        },
    )


@dg.asset_check(asset=column_lineage, description="Fails when models with compiled SQL produce no lineage.")
def column_lineage_present(column_lineage: RepositoryRun) -> dg.AssetCheckResult:
    extraction, result = column_lineage.extraction, column_lineage.lineage
    with_sql = sum(1 for o in extraction.objects if o.compiled_sql) if extraction else 0
    edges = len(result.edges) if result else 0
    return dg.AssetCheckResult(
        passed=with_sql == 0 or edges > 0,
        metadata={"models_with_sql": with_sql, "edges": edges, "errors": len(result.errors) if result else 0},
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=repository_partitions,
    description="Descriptions and classifications: propagated along Direct lineage first, then from the "
    "configured Enricher (offline by default, or any OpenAI-compatible endpoint).",
)
def enriched_metadata(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    enricher: EnricherResource,
    column_lineage: RepositoryRun,
) -> dg.Output[RepositoryRun]:
    run = column_lineage
    result = _stage(
        context,
        catalog,
        run,
        lambda: pipeline.enrich_stage(catalog.settings(), catalog.engine(), run, enricher.options()),
    )
    stats = asdict(result.stats)
    return dg.Output(
        run,
        metadata={
            **{k: v for k, v in stats.items() if isinstance(v, int | float | str)},
            "provider": enricher.describe(),
        },
    )


@dg.asset_check(asset=enriched_metadata, description="Warns when the provider skipped datasets.")
def enrichment_complete(enriched_metadata: RepositoryRun) -> dg.AssetCheckResult:
    result = enriched_metadata.enrichment
    skipped = dict(result.skipped) if result else {}
    return dg.AssetCheckResult(
        passed=not skipped,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "skipped": len(skipped),
            "examples": dg.MetadataValue.json(dict(list(skipped.items())[:10])),
        },
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=repository_partitions,
    description="The repository reconciled into the catalog: stable UUIDs, audit log, versions.",
)
def catalog_datasets(
    context: dg.AssetExecutionContext, catalog: CatalogResource, enriched_metadata: RepositoryRun
) -> dg.MaterializeResult:
    run = enriched_metadata
    result = _stage(
        context, catalog, run, lambda: pipeline.reconcile_stage(catalog.settings(), catalog.engine(), run)
    )
    pipeline.finish_run(catalog.engine(), run)
    return dg.MaterializeResult(
        metadata={
            "changed": result.changed,
            "summary": result.summary(),
            "extraction_job_id": str(run.job_id),
            "lineage_artifact": str(run.artifact_path or ""),
            "status": run.status,
        }
    )


extraction_assets = [dbt_repository, dbt_model_lineage, column_lineage, enriched_metadata, catalog_datasets]
extraction_checks = [model_lineage_not_empty, column_lineage_present, enrichment_complete]

defs = dg.Definitions(assets=extraction_assets, asset_checks=extraction_checks)
