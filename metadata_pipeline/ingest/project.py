"""Extract one project, choosing the best tier available: GOLD (manifest), SILVER (dbt files), BRONZE (SQL)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from metadata_pipeline.ingest.catalog_reader import attach_catalog
from metadata_pipeline.ingest.discovery import PROJECT_FILE, DbtProjectLocation, find_dbt_projects
from metadata_pipeline.ingest.errors import ManifestError, ProjectError
from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Extraction, ExtractionError
from metadata_pipeline.ingest.manifest_reader import read_manifest
from metadata_pipeline.ingest.plain_sql import read_plain_sql
from metadata_pipeline.ingest.raw_sql import read_dbt_project

OBJECT_FIELDS = (
    "unique_id", "name", "resource_type", "package_name", "database", "schema", "alias",
    "materialization", "file_path", "raw_sql", "compiled_sql", "description", "tags",
    "tier", "confidence", "enabled",
)  # fmt: skip


def extract_project(
    root: Path,
    *,
    manifest: Path | None = None,
    catalog: Path | None = None,
    no_manifest: bool = False,
    adapter_type: str | None = None,
) -> Extraction:
    """Everything `root` yields, from the most exact source available.

    A given (or discovered, unless `no_manifest`) manifest.json gives GOLD; otherwise a dbt project
    is rendered from its files (SILVER); a folder of plain .sql files is parsed (BRONZE). A catalog
    (given, or found next to the manifest) adds warehouse columns. Raises ManifestError for an
    unreadable manifest and ProjectError when there is nothing to read.
    """
    root = root.resolve()
    if manifest is not None and not no_manifest:
        return _gold(root, manifest, catalog, project_name=_project_name_or_none(root))
    location = _locate(root)
    if location is None:
        return read_plain_sql(root, dialect=adapter_type)
    if location.manifest_path is not None and not no_manifest:
        return _gold(location.root, location.manifest_path, catalog or location.catalog_path, location.name)
    extraction = extract_location(location, no_manifest=True, adapter_type=adapter_type)
    if catalog is not None:
        attach_catalog(extraction, catalog)
    return extraction


def extract_location(
    location: DbtProjectLocation, *, no_manifest: bool = False, adapter_type: str | None = None
) -> Extraction:
    """Extract one project found by `find_dbt_projects`, with the manifest discovery matched to it.

    Unlike `extract_project(location.root)`, this keeps a manifest that lives outside the project
    folder (a repository's docs/manifest.json built for transform/), which only a search from the
    repository root can find.
    """
    if location.manifest_path is not None and not no_manifest:
        try:
            return _gold(location.root, location.manifest_path, location.catalog_path, location.name)
        except ManifestError as exc:
            # A broken manifest must not cost the project: say which file and why, then read its SQL.
            extraction = read_dbt_project(location.root, adapter_type=adapter_type)
            problem = ExtractionError(
                message=f"{exc}; read the project's dbt SQL instead ({extraction.tier})",
                kind="manifest",
                file=str(location.manifest_path),
                line=exc.line,
            )
            extraction.errors.insert(0, problem)
            return extraction
    return read_dbt_project(location.root, adapter_type=adapter_type)


def _gold(root: Path, manifest: Path, catalog: Path | None, project_name: str | None) -> Extraction:
    extraction = read_manifest(manifest, project_root=root, project_name=project_name)
    catalog = catalog or _catalog_beside(manifest)
    if catalog is not None:
        attach_catalog(extraction, catalog)
    return extraction


def _locate(root: Path) -> DbtProjectLocation | None:
    """The dbt project at `root` (or the only one below it); None when there is no dbt at all."""
    try:
        projects = find_dbt_projects(root)
    except ProjectError:
        if (root / PROJECT_FILE).is_file():
            raise  # a dbt_project.yml that cannot be read is an error, not a plain SQL folder
        return None
    at_root = [p for p in projects if p.root == root]
    if at_root:
        return at_root[0]
    if len(projects) == 1:
        return projects[0]
    listed = ", ".join(str(p.root.relative_to(root)) for p in projects)
    raise ProjectError(
        f"{root}: several dbt projects ({listed}); extract each one from its own folder", path=root
    )


def _project_name_or_none(root: Path) -> str | None:
    try:
        projects = find_dbt_projects(root)
    except ProjectError:
        return None
    return next((p.name for p in projects if p.root == root), None)


def _catalog_beside(manifest: Path) -> Path | None:
    catalog = manifest.with_name("catalog.json")
    return catalog if catalog.is_file() else None


# --- JSON ---------------------------------------------------------------------------------------


def extraction_to_json(extraction: Extraction) -> dict[str, Any]:
    """The Extraction as plain JSON-ready data: objects, dependencies, column_lineage, errors."""
    return {
        "project": {
            "name": extraction.project_name,
            "root": extraction.project_root,
            "tier": extraction.tier,
            "adapter_type": extraction.adapter_type,
            "manifest_schema_version": extraction.manifest_schema_version,
            "dbt_version": extraction.dbt_version,
            "head_sha": extraction.head_sha,
        },
        "objects": [_object_json(obj) for obj in extraction.objects],
        "dependencies": [
            {
                "source": d.source,
                "target": d.target,
                "extracted_from": d.extracted_from,
                "tier": d.tier,
                "confidence": d.confidence,
                "dependency_type": d.dependency_type,
            }
            for d in extraction.dependencies
        ],
        "column_lineage": [],
        "errors": [asdict(error) for error in extraction.errors],
    }


def _object_json(obj: DbtObject) -> dict[str, Any]:
    data = {name: getattr(obj, name) for name in OBJECT_FIELDS}
    data["columns"] = [_column_json(column) for column in obj.columns]
    data["tags"] = list(obj.tags)
    return data


def _column_json(column: ColumnInfo) -> dict[str, Any]:
    return {
        "name": column.name,
        "data_type": column.data_type,
        "description": column.description,
        "position": column.position,
        "source": column.source,
    }
