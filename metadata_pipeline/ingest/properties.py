"""YAML property files of a dbt project: sources, model/seed/snapshot docs and columns, exposures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metadata_pipeline.ingest.dbt_project_config import as_list, read_yaml
from metadata_pipeline.ingest.extraction import ColumnInfo, ExtractionError

NODE_SECTIONS = ("models", "seeds", "snapshots", "analyses")


@dataclass
class SourceTable:
    """One `sources: [...].tables: [...]` entry, with the source-level defaults applied."""

    package: str
    source_name: str
    name: str
    identifier: str
    database: str | None
    schema: str
    description: str | None
    columns: list[ColumnInfo]
    config: dict[str, Any]
    tags: list[str]
    meta: dict[str, Any]
    file: str
    fqn_dirs: list[str]

    @property
    def unique_id(self) -> str:
        return f"source.{self.package}.{self.source_name}.{self.name}"


@dataclass
class NodeProperties:
    """What a `models:` (or seeds/snapshots/analyses) entry says about one node."""

    name: str
    description: str | None = None
    columns: list[ColumnInfo] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    latest_version: str | None = None
    relation: str | None = None  # a YAML-defined snapshot (dbt >= 1.9): "ref('x')" or "source(...)"
    file: str | None = None


@dataclass
class ExposureProperties:
    name: str
    depends_on: list[str]
    description: str | None
    tags: list[str]
    meta: dict[str, Any]
    file: str


@dataclass
class Properties:
    """Everything the YAML files of one package declare."""

    sources: list[SourceTable] = field(default_factory=list)
    nodes: dict[str, dict[str, NodeProperties]] = field(default_factory=dict)  # section -> name -> props
    exposures: list[ExposureProperties] = field(default_factory=list)
    errors: list[ExtractionError] = field(default_factory=list)

    def node(self, section: str, name: str) -> NodeProperties | None:
        return self.nodes.get(section, {}).get(name)


def read_properties(files: Iterable[Path], project_root: Path, package: str) -> Properties:
    """Read every property file; a broken one becomes an ExtractionError, the others still count."""
    properties = Properties(nodes={section: {} for section in NODE_SECTIONS})
    for path in files:
        relative = path.relative_to(project_root).as_posix()
        try:
            document = read_yaml(path)
        except (yaml.YAMLError, OSError) as exc:
            properties.errors.append(_yaml_error(exc, relative))
            continue
        if isinstance(document, dict):
            _read_document(properties, document, relative, package)
    return properties


def _read_document(properties: Properties, document: dict[str, Any], file: str, package: str) -> None:
    fqn_dirs = file.split("/")[1:-1]  # folders below the resource path, as dbt builds source fqns
    for source in _mappings(document.get("sources")):
        properties.sources.extend(_source_tables(source, file, package, fqn_dirs))
    for section in NODE_SECTIONS:
        for entry in _mappings(document.get(section)):
            props = _node_properties(entry, file)
            if props is not None:
                properties.nodes[section][props.name] = props
    for entry in _mappings(document.get("exposures")):
        if entry.get("name"):
            properties.exposures.append(
                ExposureProperties(
                    name=str(entry["name"]),
                    depends_on=[str(d) for d in as_list(entry.get("depends_on"))],
                    description=_text(entry.get("description")),
                    tags=[str(t) for t in as_list(entry.get("tags"))],
                    meta=dict(entry.get("meta") or {}),
                    file=file,
                )
            )


def _source_tables(source: dict[str, Any], file: str, package: str, fqn_dirs: list[str]) -> list[SourceTable]:
    if not source.get("name"):
        return []
    source_name = str(source["name"])
    source_config = dict(source.get("config") or {})
    if "enabled" in source:  # pre-1.0 spelling
        source_config.setdefault("enabled", source["enabled"])
    tables = []
    for table in _mappings(source.get("tables")):
        if not table.get("name"):
            continue
        name = str(table["name"])
        tables.append(
            SourceTable(
                # `overrides: pkg` redefines a package's source, which keeps the package's unique_id.
                package=str(source.get("overrides") or package),
                source_name=source_name,
                name=name,
                identifier=str(table.get("identifier") or name),
                database=_text(source.get("database") or source.get("catalog") or source.get("project")),
                schema=str(source.get("schema") or source.get("dataset") or source_name),
                description=_text(table.get("description")) or _text(source.get("description")),
                columns=_columns(table.get("columns")),
                config={**source_config, **dict(table.get("config") or {})},
                tags=_unique([*as_list(source.get("tags")), *as_list(table.get("tags"))]),
                meta={**dict(source.get("meta") or {}), **dict(table.get("meta") or {})},
                file=file,
                fqn_dirs=fqn_dirs,
            )
        )
    return tables


def _node_properties(entry: dict[str, Any], file: str) -> NodeProperties | None:
    if not entry.get("name"):
        return None
    config = dict(entry.get("config") or {})
    latest = entry.get("latest_version")
    return NodeProperties(
        name=str(entry["name"]),
        description=_text(entry.get("description")),
        columns=_columns(entry.get("columns")),
        config=config,
        tags=[str(t) for t in as_list(entry.get("tags") or config.get("tags"))],
        meta={**dict(entry.get("meta") or {}), **dict(config.get("meta") or {})},
        versions=[v for v in _mappings(entry.get("versions")) if v.get("v") is not None],
        latest_version=None if latest is None else str(latest),
        relation=_text(entry.get("relation")),
        file=file,
    )


def _columns(columns: Any) -> list[ColumnInfo]:
    result = []
    for position, column in enumerate(_mappings(columns), start=1):
        if column.get("name") is None:
            continue
        config: dict[str, Any] = column["config"] if isinstance(column.get("config"), dict) else {}
        result.append(
            ColumnInfo(
                name=str(column["name"]),
                data_type=_text(column.get("data_type")),
                description=_text(column.get("description")),
                position=position,
                source="yaml",
                tags=[str(t) for t in as_list(column.get("tags") or config.get("tags"))],
                meta={**dict(column.get("meta") or {}), **dict(config.get("meta") or {})},
            )
        )
    return result


def _mappings(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _unique(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


def _yaml_error(exc: Exception, file: str) -> ExtractionError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ExtractionError(
        f"invalid YAML: {problem}", kind="project", file=file, line=mark.line + 1 if mark else None
    )
