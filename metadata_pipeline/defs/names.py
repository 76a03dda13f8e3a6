"""Names shared across the Dagster layer: partitions, jobs and run tags.

Sensors, schedules and assets refer to each other through these constants, so a rename happens once.
"""

from dagster import DynamicPartitionsDefinition

# One dynamic partition per registered dbt repository (connection name).
repository_partitions = DynamicPartitionsDefinition(name="repositories")

EXTRACT_JOB = "extract_repository_job"  # ingest + lineage + enrich + reconcile, per repository partition
ENRICH_JOB = "enrich_job"
COMMIT_JOB = "commit_to_git_job"
PULL_JOB = "pull_from_git_job"
FULL_REFRESH_JOB = "full_refresh_job"

# Run tags naming what started a run, shown in the Dagster UI.
TRIGGER_TAG = "metadata_pipeline/trigger"  # schedule | webhook | poll | manual
REPOSITORY_TAG = "metadata_pipeline/repository"
WORKSPACE_TAG = "metadata_pipeline/workspace"
DELIVERY_TAG = "metadata_pipeline/delivery_id"
