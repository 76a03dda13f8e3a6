"""Small dbt artefacts and projects built in code, so the ingest tests need no external data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from textwrap import dedent
from typing import Any

PROJECT = "shop"


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text, dedented) under root and return root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"))
    return root


def node(
    resource_type: str,
    name: str,
    *,
    version: int,
    package: str = PROJECT,
    depends: list[str] | None = None,
    materialized: str | None = None,
    enabled: bool = True,
    sql: str = "select 1",
    compiled: str | None = "select 1",
    model_version: int | None = None,
    columns: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """A manifest node as dbt writes it for schema `version` (raw_sql before v7, raw_code after)."""
    unique_id = f"{resource_type}.{package}.{name}" + (f".v{model_version}" if model_version else "")
    raw_key, compiled_key = ("raw_code", "compiled_code") if version >= 7 else ("raw_sql", "compiled_sql")
    data: dict[str, Any] = {
        "unique_id": unique_id,
        "name": name,
        "resource_type": resource_type,
        "package_name": package,
        "database": "analytics",
        "schema": "dbt_prod",
        "alias": name,
        "original_file_path": f"models/{name}.sql",
        "config": {"enabled": enabled, "materialized": materialized or "view", "tags": []},
        "tags": [],
        "description": f"The {name} {resource_type}",
        "columns": columns or {},
        "meta": {},
        "depends_on": {"macros": [], "nodes": depends or []},
        raw_key: sql,
    }
    if compiled is not None:
        data[compiled_key] = compiled
    if model_version is not None:
        data["version"] = model_version
    return unique_id, data


def source(name: str, table: str, *, package: str = PROJECT) -> tuple[str, dict[str, Any]]:
    unique_id = f"source.{package}.{name}.{table}"
    return unique_id, {
        "unique_id": unique_id,
        "name": table,
        "source_name": name,
        "resource_type": "source",
        "package_name": package,
        "database": "raw",
        "schema": name,
        "identifier": f"{table}_tbl",
        "original_file_path": "models/sources.yml",
        "description": "",
        "source_description": f"The {name} system",
        "columns": {"id": {"name": "id", "description": "key", "data_type": "int"}},
        "config": {"enabled": True},
        "tags": [],
        "meta": {},
    }


def manifest(
    version: int,
    *,
    nodes: list[tuple[str, dict[str, Any]]],
    sources: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    exposures: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    disabled: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    project: str = PROJECT,
    adapter: str = "postgres",
) -> dict[str, Any]:
    """A whole manifest in the shape of schema `version` (v3 lists disabled nodes; v10+ names the project)."""
    metadata: dict[str, Any] = {
        "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
        "dbt_version": {3: "0.21.1", 4: "1.0.4", 7: "1.3.0", 10: "1.6.0", 12: "1.9.4", 20: "2.0.0"}.get(
            version, "1.5.0"
        ),
        "adapter_type": adapter,
        "project_id": hashlib.md5(project.encode()).hexdigest(),
    }
    if version >= 10:
        metadata["project_name"] = project
    all_nodes = dict(nodes)
    return {
        "metadata": metadata,
        "nodes": all_nodes,
        "sources": dict(sources),
        "macros": {"macro.dbt.is_incremental": {"name": "is_incremental"}},
        "exposures": dict(exposures),
        "disabled": [n for _, n in disabled] if version <= 3 else {uid: [n] for uid, n in disabled},
        "parent_map": {uid: n.get("depends_on", {}).get("nodes", []) for uid, n in all_nodes.items()},
        "child_map": {},
    }


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path
