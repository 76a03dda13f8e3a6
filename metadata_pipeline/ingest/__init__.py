"""Ingestion: git repositories, dbt project discovery, manifest/catalog readers, raw dbt SQL."""

from metadata_pipeline.ingest.catalog_reader import attach_catalog, read_catalog
from metadata_pipeline.ingest.discovery import DbtProjectLocation, find_dbt_projects
from metadata_pipeline.ingest.errors import IngestError, ManifestError, ProjectError, RepositoryError
from metadata_pipeline.ingest.extraction import (
    TIER_CONFIDENCE,
    ColumnInfo,
    DbtObject,
    Dependency,
    Extraction,
    ExtractionError,
)
from metadata_pipeline.ingest.git_repo import RepoSnapshot, ls_remote_head, redact_url, sync_repository
from metadata_pipeline.ingest.manifest_reader import (
    SUPPORTED_SCHEMA_VERSIONS,
    read_manifest,
    read_manifest_metadata,
)
from metadata_pipeline.ingest.plain_sql import read_plain_sql
from metadata_pipeline.ingest.project import extract_location, extract_project, extraction_to_json
from metadata_pipeline.ingest.raw_sql import read_dbt_project

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "TIER_CONFIDENCE",
    "ColumnInfo",
    "DbtObject",
    "DbtProjectLocation",
    "Dependency",
    "Extraction",
    "ExtractionError",
    "IngestError",
    "ManifestError",
    "ProjectError",
    "RepoSnapshot",
    "RepositoryError",
    "attach_catalog",
    "extract_location",
    "extract_project",
    "extraction_to_json",
    "find_dbt_projects",
    "ls_remote_head",
    "read_catalog",
    "read_dbt_project",
    "read_manifest",
    "read_manifest_metadata",
    "read_plain_sql",
    "redact_url",
    "sync_repository",
]
