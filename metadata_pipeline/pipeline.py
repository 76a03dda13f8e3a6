"""Chains the stages for one repository: fetch, extract, column lineage, enrich, reconcile.

The CLI (`metadata-pipeline extract`) and the Dagster assets call these functions and nothing else,
so there is one way to run each stage. Each stage is a plain function over plain data; this module
adds the bookkeeping around them: the extraction_jobs row, the per-run lineage.json artifact, and
the rule that one broken repository never takes down the others.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from metadata_pipeline.catalog import (
    Tenant,
    ensure_default_tenant,
    get_repository,
    session_scope,
    set_company,
)
from metadata_pipeline.catalog.models import Column as CatalogColumn
from metadata_pipeline.catalog.models import Connection, Dataset, ExtractionJob
from metadata_pipeline.catalog.registry import dbt_parse_enabled
from metadata_pipeline.enrich import (
    Enricher,
    EnrichmentCache,
    EnrichmentLimits,
    EnrichmentResult,
    HumanDescriptions,
    default_enricher,
    enrich_extraction,
)
from metadata_pipeline.errors import PipelineError
from metadata_pipeline.ingest import (
    DbtProjectLocation,
    Extraction,
    ExtractionError,
    ProjectError,
    RepoSnapshot,
    extract_location,
    extract_project,
    find_dbt_projects,
    sync_repository,
)
from metadata_pipeline.ingest.git_repo import redact_url
from metadata_pipeline.lineage import ColumnEdge, ProjectLineage, compute_project_lineage
from metadata_pipeline.lineage.document import lineage_document
from metadata_pipeline.reconcile import FieldValue, ReconcileResult, Suggestions, reconcile_extraction
from metadata_pipeline.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class RepositoryRun:
    """What one repository's run did; the CLI prints it and the Dagster assets turn it into metadata."""

    repository: str
    status: str = "pending"  # running | success | partial | failed | skipped
    tenant: Tenant | None = None  # type: ignore[assignment]
    connection_id: uuid.UUID | None = None
    url: str = ""
    branch: str | None = None
    subdirectory: str | None = None
    token_env: str | None = None
    last_extracted_sha: str | None = None
    force: bool = False
    dbt_parse_dir: Path | None = None  # set when the connection opted in to `dbt parse`: where it writes
    checkout: Path | None = None
    head_sha: str | None = None
    job_id: uuid.UUID | None = None
    started_monotonic: float = 0.0
    extraction: Extraction | None = None
    lineage: ProjectLineage | None = None
    enrichment: EnrichmentResult | None = None
    reconcile: ReconcileResult | None = None
    artifact_path: Path | None = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if self.status == "failed":
            return f"{self.repository}: FAILED: {self.error}"
        if self.status == "skipped":
            return f"{self.repository}: unchanged at {(self.head_sha or '')[:10]}, nothing to do"
        parts = [f"{self.repository}: {self.status} at {(self.head_sha or '-')[:10]}"]
        if self.extraction is not None:
            ex = self.extraction
            parts.append(
                f"{len(ex.objects)} objects, {len(ex.dependencies)} dependencies ({ex.tier}), "
                f"{len(ex.errors)} errors"
            )
        if self.lineage is not None:
            parts.append(f"{len(self.lineage.edges)} column edges")
        if self.reconcile is not None:
            parts.append(self.reconcile.summary())
        return "; ".join(parts)


# --- stages -----------------------------------------------------------------------------------


def extract_checkout(
    checkout: Path,
    *,
    subdirectory: str | None = None,
    head_sha: str | None = None,
    dbt_parse_dir: Path | None = None,
) -> Extraction:
    """Every dbt project in the checkout, merged into one extraction (the repository's desired state).

    A folder with no dbt project at all is read as plain SQL (BRONZE). With `dbt_parse_dir` (the
    connection opted in), a project that commits no manifest gets one from `dbt parse`, written there.
    """
    root = checkout / subdirectory if subdirectory else checkout
    try:
        locations = find_dbt_projects(root)
    except ProjectError:
        extraction = extract_project(root)
    else:
        extraction = merge_extractions(
            [_extract_location(loc, dbt_parse_dir) for loc in locations], root=root
        )
    extraction.head_sha = head_sha
    return extraction


def _extract_location(location: DbtProjectLocation, dbt_parse_dir: Path | None) -> Extraction:
    if dbt_parse_dir is None or location.manifest_path is not None:
        return extract_location(location)
    # Imported here: it brings in dagster-dbt and dbt, which only opted-in connections need.
    from metadata_pipeline.dbt_parse import extract_with_dbt_parse

    return extract_with_dbt_parse(location, dbt_parse_dir)


def merge_extractions(extractions: Sequence[Extraction], *, root: Path) -> Extraction:
    """One repository may hold several dbt projects; reconcile sees them as one desired state."""
    if len(extractions) == 1:
        return extractions[0]
    first = extractions[0]
    merged = Extraction(
        project_name=first.project_name,
        project_root=str(root),
        tier=min((e.tier for e in extractions), key=["GOLD", "SILVER", "BRONZE"].index),
        adapter_type=first.adapter_type,
        manifest_schema_version=first.manifest_schema_version,
        dbt_version=first.dbt_version,
    )
    seen: set[str] = set()
    for extraction in extractions:
        for obj in extraction.objects:
            if obj.unique_id not in seen:  # a package shared by two projects is listed once
                seen.add(obj.unique_id)
                merged.objects.append(obj)
        merged.dependencies.extend(extraction.dependencies)
        merged.errors.extend(extraction.errors)
    return merged


def column_lineage(settings: Settings, extraction: Extraction) -> ProjectLineage:
    return compute_project_lineage(extraction, cache_dir=settings.cache_dir / "lineage")


@dataclass(frozen=True)
class EnrichOptions:
    """Which provider enriches and how much one run may spend; the offline rules by default."""

    enricher: Enricher | None = None  # None: OpenAI when an API key is configured, else offline
    limits: EnrichmentLimits = field(default_factory=EnrichmentLimits)


def enrich(
    settings: Settings,
    extraction: Extraction,
    edges: Sequence[ColumnEdge],
    options: EnrichOptions | None = None,
    human_descriptions: HumanDescriptions | None = None,
) -> EnrichmentResult:
    options = options or EnrichOptions()
    return enrich_extraction(
        extraction,
        list(edges),
        enricher=options.enricher or default_enricher(),
        cache=EnrichmentCache(settings.cache_dir / "enrich"),
        limits=options.limits,
        human_descriptions=human_descriptions,
    )


def suggestions_from_enrichment(result: EnrichmentResult) -> Suggestions:
    """Enrichment's answers as machine-written field values for reconcile (which decides what may land)."""
    suggestions = Suggestions()
    for uid, found in result.datasets.items():
        fields: dict[str, FieldValue] = {}
        for name in ("description", "medallion_layer", "entity_type", "entity_subtype"):
            value = getattr(found, name)
            if value is not None:
                fields[name] = FieldValue(value, found.extracted_from, found.confidence)
        fields["ai_confidence_score"] = FieldValue(found.confidence, found.extracted_from, found.confidence)
        suggestions.datasets[uid] = fields
    for (uid, column), found in result.columns.items():
        fields = {}
        if found.description is not None:
            fields["description"] = FieldValue(found.description, found.extracted_from, found.confidence)
        classified_by = found.classified_by or found.extracted_from
        if found.business_name is not None:
            fields["business_name"] = FieldValue(found.business_name, classified_by, found.confidence)
        fields["pii_category"] = FieldValue(found.pii_category, classified_by, found.confidence)
        fields["ai_confidence_score"] = FieldValue(found.confidence, found.extracted_from, found.confidence)
        suggestions.columns[(uid, column)] = fields
    return suggestions


def human_descriptions(
    engine: Engine, tenant: Tenant | None, connection_id: uuid.UUID | None
) -> dict[tuple[str, str | None], str]:
    """Descriptions people wrote in the catalog (YAML pulled from Git, the CLI) for this repository.

    Enrichment gets them as context and as a fence: it never proposes text over them.
    """
    if tenant is None or connection_id is None:
        return {}
    found: dict[tuple[str, str | None], str] = {}
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        datasets = session.execute(
            select(
                Dataset.dataset_id, Dataset.unique_id, Dataset.description, Dataset.human_edited_fields
            ).where(Dataset.company_id == tenant.company_id, Dataset.connection_id == connection_id)
        ).all()
        uid_of = {row.dataset_id: row.unique_id for row in datasets if row.unique_id}
        for row in datasets:
            if row.unique_id and row.description and "description" in (row.human_edited_fields or []):
                found[(row.unique_id, None)] = row.description
        if uid_of:
            columns = session.execute(
                select(
                    CatalogColumn.dataset_id,
                    CatalogColumn.name,
                    CatalogColumn.description,
                    CatalogColumn.human_edited_fields,
                ).where(
                    CatalogColumn.company_id == tenant.company_id,
                    CatalogColumn.dataset_id.in_(list(uid_of)),
                    CatalogColumn.human_edited_fields.is_not(None),
                )
            ).all()
            for row in columns:
                if row.description and "description" in (row.human_edited_fields or []):
                    found[(uid_of[row.dataset_id], row.name)] = row.description
    return found


def write_artifact(
    settings: Settings,
    repository: str,
    job_id: uuid.UUID,
    extraction: Extraction,
    lineage: ProjectLineage | None,
) -> Path:
    """The per-run lineage.json (seed 003): what this run extracted, independent of the catalog."""
    document = lineage_document(extraction, lineage)
    folder = settings.artifacts_dir / repository / str(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lineage.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=True, default=str))
    tmp.replace(path)
    return path


# --- one repository, with its extraction_jobs row ---------------------------------------------


def start_run(
    settings: Settings,
    engine: Engine,
    repository: str,
    *,
    force: bool = False,
    trigger: str = "manual",
    dagster_run_id: str | None = None,
) -> RepositoryRun:
    """Open the extraction_jobs row and note what the later stages need about the repository."""
    with session_scope(engine) as session:
        tenant = ensure_default_tenant(session)
        connection = get_repository(session, tenant, repository)
        job = ExtractionJob(
            company_id=tenant.company_id,
            connection_id=connection.connection_id,
            status="running",
            extraction_type="full" if force else "incremental",
            trigger=trigger,
            dagster_run_id=dagster_run_id,
        )
        session.add(job)
        session.flush()
        return RepositoryRun(
            repository=repository,
            tenant=tenant,
            connection_id=connection.connection_id,
            url=connection.url,
            branch=connection.branch,
            subdirectory=connection.subdirectory,
            token_env=connection.credential_env,
            last_extracted_sha=connection.last_extracted_sha,
            force=force,
            dbt_parse_dir=settings.cache_dir / "dbt_parse" if dbt_parse_enabled(connection) else None,
            job_id=job.job_id,
            status="running",
            started_monotonic=time.monotonic(),
        )


def fetch_stage(settings: Settings, run: RepositoryRun) -> RepoSnapshot:
    """Clone or fetch; marks the run skipped when the head has not moved since the last extraction."""
    with _timed(run, "fetch"):
        snapshot = sync_repository(run.url, run.branch, settings.repos_dir, token_env=run.token_env)
    run.checkout = snapshot.path
    run.head_sha = snapshot.head_sha
    if not run.force and run.last_extracted_sha == snapshot.head_sha:
        run.status = "skipped"
    return snapshot


def extract_stage(run: RepositoryRun) -> Extraction:
    assert run.checkout is not None, "fetch_stage first"
    with _timed(run, "extract"):
        run.extraction = extract_checkout(
            run.checkout,
            subdirectory=run.subdirectory,
            head_sha=run.head_sha,
            dbt_parse_dir=run.dbt_parse_dir,
        )
    return run.extraction


def lineage_stage(settings: Settings, run: RepositoryRun) -> ProjectLineage:
    assert run.extraction is not None, "extract_stage first"
    with _timed(run, "lineage"):
        run.lineage = column_lineage(settings, run.extraction)
    return run.lineage


def enrich_stage(
    settings: Settings, engine: Engine, run: RepositoryRun, options: EnrichOptions | None = None
) -> EnrichmentResult:
    """Enrich; descriptions people wrote in the catalog (Git, CLI) are passed in so none is replaced."""
    assert run.extraction is not None and run.lineage is not None, "lineage_stage first"
    with _timed(run, "enrich"):
        human = human_descriptions(engine, run.tenant, run.connection_id)
        run.enrichment = enrich(settings, run.extraction, run.lineage.edges, options, human)
    return run.enrichment


def reconcile_stage(settings: Settings, engine: Engine, run: RepositoryRun) -> ReconcileResult:
    assert run.extraction is not None and run.lineage is not None and run.job_id is not None
    run.artifact_path = write_artifact(settings, run.repository, run.job_id, run.extraction, run.lineage)
    with _timed(run, "reconcile"):
        run.reconcile = reconcile_extraction(
            engine,
            tenant=run.tenant,
            connection_id=run.connection_id,
            extraction=run.extraction,
            column_edges=run.lineage.edges,
            suggestions=suggestions_from_enrichment(run.enrichment) if run.enrichment else None,
            job_id=run.job_id,
            actor=f"extraction_job:{run.job_id}",
        )
    run.status = "partial" if (run.extraction.errors or run.lineage.errors) else "success"
    return run.reconcile


def finish_run(engine: Engine, run: RepositoryRun, error: BaseException | None = None) -> RepositoryRun:
    """Close the extraction_jobs row with status, counts, timings and errors; advance the connection."""
    if error is not None:
        run.status = "failed"
        run.error = str(error) if isinstance(error, PipelineError) else f"{type(error).__name__}: {error}"
    elif run.status == "running":
        run.status = "success"
    _finish_job(engine, run)
    return run


def run_repository(
    settings: Settings,
    engine: Engine,
    repository: str,
    *,
    force: bool = False,
    trigger: str = "manual",
    dagster_run_id: str | None = None,
    enrich_options: EnrichOptions | None = None,
    progress: Progress = _quiet,
) -> RepositoryRun:
    """Fetch, extract, trace columns, enrich and reconcile one registered repository.

    Never raises for a problem of this repository: the error lands in the extraction_jobs row and in
    the returned RepositoryRun, so a caller looping over repositories carries on with the next.
    """
    try:
        run = start_run(
            settings, engine, repository, force=force, trigger=trigger, dagster_run_id=dagster_run_id
        )
    except PipelineError as exc:  # e.g. an unknown repository name: there is no job row to write
        return RepositoryRun(repository=repository, status="failed", error=str(exc))
    try:
        progress(f"{repository}: fetching {run.branch or 'the default branch'} of {redact_url(run.url)}")
        fetch_stage(settings, run)
        if run.status != "skipped":
            progress(f"{repository}: extracting dbt projects at {(run.head_sha or '')[:10]}")
            extract_stage(run)
            progress(f"{repository}: column lineage for {len(run.extraction.objects)} objects")  # type: ignore[union-attr]
            lineage_stage(settings, run)
            progress(f"{repository}: enriching")
            enrich_stage(settings, engine, run, enrich_options)
            progress(f"{repository}: reconciling into the catalog")
            reconcile_stage(settings, engine, run)
    except Exception as exc:  # noqa: BLE001 - one repository's failure must not stop the others
        log.error("repository %s failed:\n%s", repository, traceback.format_exc())
        return finish_run(engine, run, exc)
    return finish_run(engine, run)


@contextmanager
def _timed(run: RepositoryRun, stage: str) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        run.timings[stage] = round(time.monotonic() - t0, 3)


def _finish_job(engine: Engine, run: RepositoryRun) -> None:
    with session_scope(engine) as session:
        set_company(session, run.tenant.company_id)
        job = session.get(ExtractionJob, run.job_id)
        connection = session.get(Connection, run.connection_id)
        assert job is not None and connection is not None
        job.status = run.status
        job.head_sha = run.head_sha
        job.completed_at = datetime.now(UTC)
        job.duration_ms = int((time.monotonic() - run.started_monotonic) * 1000)
        job.error_message = run.error
        job.artifact_path = str(run.artifact_path) if run.artifact_path else None
        stats: dict[str, Any] = {"timings_s": dict(run.timings)}
        errors: list[dict[str, Any]] = []
        if run.extraction is not None:
            ex = run.extraction
            job.extraction_tier = ex.tier
            job.objects_extracted = len(ex.objects)
            job.columns_extracted = sum(len(o.columns) for o in ex.objects)
            job.dependencies_extracted = len(ex.dependencies)
            errors += [_error_json(e) for e in ex.errors]
        if run.lineage is not None:
            job.column_lineage_extracted = len(run.lineage.edges)
            errors += [{"kind": "lineage", "message": str(e)} for e in run.lineage.errors]
        if run.enrichment is not None:
            stats["enrichment"] = asdict(run.enrichment.stats)
        job.errors = errors[:1000]  # bounded: a broken project can yield an error per model
        job.stats = stats
        if run.head_sha:
            connection.last_head_sha = run.head_sha
        if run.status in ("success", "partial"):
            connection.last_extracted_sha = run.head_sha
            connection.last_extraction_at = job.completed_at
            connection.status = "active"
            if run.extraction is not None and run.extraction.manifest_schema_version:
                connection.manifest_version = f"v{run.extraction.manifest_schema_version}"
                connection.manifest_dbt_version = run.extraction.dbt_version
        elif run.status == "failed":
            connection.status = "failed"


def _error_json(error: ExtractionError) -> dict[str, Any]:
    return {
        "kind": error.kind,
        "message": error.message,
        "file": error.file,
        "unique_id": error.unique_id,
        "line": error.line,
    }


def run_repositories(
    settings: Settings,
    engine: Engine,
    repositories: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[RepositoryRun]:
    """Run the named repositories, or all registered ones; each independently of the others."""
    if not repositories:
        with session_scope(engine) as session:
            tenant = ensure_default_tenant(session)
            repositories = list(
                session.scalars(
                    select(Connection.name)
                    .where(Connection.company_id == tenant.company_id, Connection.is_active.is_(True))
                    .order_by(Connection.name)
                )
            )
    return [run_repository(settings, engine, name, **kwargs) for name in repositories]
