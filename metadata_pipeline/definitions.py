"""The Dagster code location: merges the definitions of each domain module, nothing else."""

import dagster as dg

from metadata_pipeline.defs import automation, extraction, git_sync, jobs
from metadata_pipeline.defs.resources import EnricherResource, catalog_resource


def build_definitions() -> dg.Definitions:
    full_refresh_job = jobs.build_full_refresh_job([git_sync.commit_after_refresh])
    return dg.Definitions.merge(
        extraction.defs,
        automation.defs,
        dg.Definitions(
            jobs=[
                jobs.extract_repository_job,
                jobs.enrich_job,
                full_refresh_job,
                git_sync.commit_to_git_job,
                git_sync.pull_from_git_job,
            ],
            resources={"catalog": catalog_resource(), "enricher": EnricherResource()},
        ),
    )


defs = build_definitions()
