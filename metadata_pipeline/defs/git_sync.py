"""Jobs that move metadata between the catalog and Git: commit (catalog -> YAML) and pull (Git -> catalog)."""

import dagster as dg

from metadata_pipeline.defs.names import COMMIT_JOB, PULL_JOB, WORKSPACE_TAG
from metadata_pipeline.defs.resources import CatalogResource
from metadata_pipeline.sync import commit_workspace, pull_workspace


class CommitConfig(dg.Config):
    workspace: str = "main"
    message: str = "Update dataset metadata"
    datasets: list[str] = []  # fqns; empty: every dataset with uncommitted changes


class PullConfig(dg.Config):
    workspace: str = ""  # empty: the workspace named by the run's tag (set by the webhook sensor), else main


@dg.op(description="Write YAML for the datasets with uncommitted changes and commit them in one Git commit.")
def commit_metadata(context: dg.OpExecutionContext, config: CommitConfig, catalog: CatalogResource) -> str:
    result = commit_workspace(
        catalog.engine(),
        catalog.settings(),
        catalog.tenant(),
        config.workspace,
        config.message,
        datasets=config.datasets or None,
    )
    context.log.info(result.summary())
    context.add_output_metadata(
        {
            "status": result.status,
            "commit_sha": result.commit_sha or "",
            "files": len(result.files),
            "datasets": len(result.datasets),
            "skipped_conflicts": len(result.skipped_conflicts),
        }
    )
    return result.commit_sha or ""


@dg.op(description="Apply the YAML changed in Git since the last sync; conflicting datasets are held back.")
def pull_metadata(context: dg.OpExecutionContext, config: PullConfig, catalog: CatalogResource) -> str:
    workspace = config.workspace or context.run.tags.get(WORKSPACE_TAG) or "main"
    result = pull_workspace(catalog.engine(), catalog.settings(), catalog.tenant(), workspace)
    context.log.info(result.summary())
    if result.conflicts:
        context.log.warning(f"{len(result.conflicts)} conflict(s): see `metadata-pipeline conflicts list`")
    return result.head_sha or ""


@dg.job(
    name=COMMIT_JOB, description="Commit the catalog's uncommitted datasets to the workspace's Git branch."
)
def commit_to_git_job() -> None:
    commit_metadata()


@dg.job(name=PULL_JOB, description="Pull edits made in Git back into the catalog, detecting conflicts.")
def pull_from_git_job() -> None:
    pull_metadata()


@dg.op(
    description="After a refresh, commit what changed to the default workspace.",
    ins={"refreshed": dg.In(list[str])},
)
def commit_after_refresh(
    context: dg.OpExecutionContext, catalog: CatalogResource, refreshed: list[str]
) -> str:
    result = commit_workspace(
        catalog.engine(),
        catalog.settings(),
        catalog.tenant(),
        "main",
        f"Refresh metadata of {', '.join(refreshed) or 'no repositories'}",
    )
    context.log.info(result.summary())
    return result.commit_sha or ""
