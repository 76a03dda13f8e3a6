"""The files of one dbt package on disk, turned into SILVER nodes before any Jinja is rendered.

Models (`.sql` and `.py`), snapshot blocks, seed CSVs, analyses and YAML-defined snapshots become
`SilverNode`s; property YAML, macro files and `{% docs %}` blocks are collected for the renderer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metadata_pipeline.ingest.dbt_blocks import find_blocks
from metadata_pipeline.ingest.dbt_project_config import ProjectFile, load_project_file, read_yaml
from metadata_pipeline.ingest.discovery import SKIP_DIRS
from metadata_pipeline.ingest.extraction import ExtractionError
from metadata_pipeline.ingest.jinja_values import CallRecord, Relation
from metadata_pipeline.ingest.properties import NodeProperties, Properties, read_properties


@dataclass
class SilverNode:
    """A model, seed, snapshot or analysis found on disk, filled in as rendering proceeds."""

    resource_type: str
    package: str
    name: str
    path: str  # relative to the package root, like dbt's original_file_path
    fqn: list[str]
    language: str = "sql"  # sql | python | csv | yaml
    raw_text: str | None = None  # the file (or snapshot block) as written
    template_text: str | None = None  # what gets rendered, padded so line numbers match the file
    version: str | None = None
    props: NodeProperties | None = None
    config: dict[str, Any] = field(default_factory=dict)
    relation: Relation | None = None
    record: CallRecord = field(default_factory=CallRecord)
    compiled_sql: str | None = None
    error: ExtractionError | None = None
    enabled: bool = True

    @property
    def unique_id(self) -> str:
        base = f"{self.resource_type}.{self.package}.{self.name}"
        return f"{base}.v{self.version}" if self.version is not None else base


@dataclass
class PackageFiles:
    """One package (the root project or an installed one) as read from disk."""

    project: ProjectFile
    is_root: bool
    nodes: list[SilverNode]
    properties: Properties
    macro_files: list[Path]
    docs: dict[str, str]
    errors: list[ExtractionError]

    @property
    def name(self) -> str:
        return self.project.name


def scan_package(project: ProjectFile, *, is_root: bool) -> PackageFiles:
    """Every node, property file, macro file and docs block of one package."""
    properties = read_properties(
        _files(project.root, project.property_paths, (".yml", ".yaml")), project.root, project.name
    )
    errors = list(properties.errors)
    nodes = [
        *_model_nodes(project, properties),
        *_snapshot_nodes(project, properties, errors),
        *_yaml_snapshot_nodes(project, properties),
        *_seed_nodes(project, properties),
        *_analysis_nodes(project, properties),
    ]
    return PackageFiles(
        project=project,
        is_root=is_root,
        nodes=nodes,
        properties=properties,
        macro_files=list(_files(project.root, project.macro_paths, (".sql",))),
        docs=_docs_blocks(project),
        errors=errors,
    )


def installed_packages(root: ProjectFile) -> list[ProjectFile]:
    """Packages next to the root project: dbt_packages/ (dbt_modules/ before 1.0) and `local:` ones."""
    found: dict[Path, ProjectFile] = {}
    for folder in ("dbt_packages", "dbt_modules"):
        base = root.root / folder
        if base.is_dir():
            for child in sorted(base.iterdir()):
                _add_package(found, child, root)
    for local in _local_package_paths(root):
        _add_package(found, local, root)
    return list(found.values())


def _add_package(found: dict[Path, ProjectFile], directory: Path, root: ProjectFile) -> None:
    directory = directory.resolve()
    if (
        directory == root.root.resolve()
        or directory in found
        or not (directory / "dbt_project.yml").is_file()
    ):
        return
    try:
        found[directory] = load_project_file(directory)
    except Exception:  # noqa: BLE001 - an unreadable package is skipped; its refs are then reported
        return


def _local_package_paths(root: ProjectFile) -> Iterator[Path]:
    for filename in ("packages.yml", "dependencies.yml"):
        path = root.root / filename
        if not path.is_file():
            continue
        try:
            document = read_yaml(path)
        except Exception:  # noqa: BLE001 - a broken packages.yml only loses local packages
            continue
        for entry in (document or {}).get("packages") or []:
            if isinstance(entry, dict) and isinstance(entry.get("local"), str):
                yield root.root / entry["local"]


# --- nodes ------------------------------------------------------------------------------------


def _model_nodes(project: ProjectFile, properties: Properties) -> Iterator[SilverNode]:
    versioned = _versioned_files(properties)
    for path, resource_dir in _files_with_dir(project.root, project.model_paths, (".sql", ".py")):
        stem = path.stem
        name, version = versioned.get(stem, (stem, None))
        text = _read(path)
        yield SilverNode(
            resource_type="model",
            package=project.name,
            name=name,
            path=path.relative_to(project.root).as_posix(),
            fqn=_fqn(project.name, path, resource_dir, name, version),
            language="python" if path.suffix == ".py" else "sql",
            raw_text=text,
            template_text=text,
            version=version,
            props=properties.node("models", name),
        )


def _versioned_files(properties: Properties) -> dict[str, tuple[str, str]]:
    """File stem -> (model name, version) for models declared with `versions:` in YAML."""
    mapping: dict[str, tuple[str, str]] = {}
    for props in properties.nodes.get("models", {}).values():
        for version in props.versions:
            v = str(version["v"])
            # dbt's rule: a version lives in `defined_in`, else in <name>_v<v>.sql.
            mapping[str(version.get("defined_in") or f"{props.name}_v{v}")] = (props.name, v)
    return mapping


def _snapshot_nodes(
    project: ProjectFile, properties: Properties, errors: list[ExtractionError]
) -> Iterator[SilverNode]:
    for path, resource_dir in _files_with_dir(project.root, project.snapshot_paths, (".sql",)):
        text = _read(path)
        relative = path.relative_to(project.root).as_posix()
        blocks = find_blocks(text, ("snapshot",))
        if not blocks and "snapshot" in text:
            errors.append(
                ExtractionError("no complete {% snapshot %} block found", kind="jinja", file=relative)
            )
        for block in blocks:
            yield SilverNode(
                resource_type="snapshot",
                package=project.name,
                name=block.name,
                path=relative,
                fqn=_fqn(project.name, path, resource_dir, block.name, None),
                raw_text=block.body,
                template_text=block.padded_body,
                props=properties.node("snapshots", block.name),
            )


def _yaml_snapshot_nodes(project: ProjectFile, properties: Properties) -> Iterator[SilverNode]:
    """dbt 1.9 snapshots declared in YAML with `relation:`; their SQL is `select * from <relation>`."""
    for props in properties.nodes.get("snapshots", {}).values():
        if not props.relation:
            continue
        sql = "select * from {{ " + props.relation.strip().strip("{}").strip() + " }}"
        yield SilverNode(
            resource_type="snapshot",
            package=project.name,
            name=props.name,
            path=props.file or "",
            fqn=[project.name, *Path(props.file or "").parts[1:-1], props.name],
            language="yaml",
            raw_text=sql,
            template_text=sql,
            props=props,
        )


def _seed_nodes(project: ProjectFile, properties: Properties) -> Iterator[SilverNode]:
    for path, resource_dir in _files_with_dir(project.root, project.seed_paths, (".csv",)):
        yield SilverNode(
            resource_type="seed",
            package=project.name,
            name=path.stem,
            path=path.relative_to(project.root).as_posix(),
            fqn=_fqn(project.name, path, resource_dir, path.stem, None),
            language="csv",
            props=properties.node("seeds", path.stem),
        )


def _analysis_nodes(project: ProjectFile, properties: Properties) -> Iterator[SilverNode]:
    for path, resource_dir in _files_with_dir(project.root, project.analysis_paths, (".sql",)):
        text = _read(path)
        yield SilverNode(
            resource_type="analysis",
            package=project.name,
            name=path.stem,
            path=path.relative_to(project.root).as_posix(),
            fqn=_fqn(project.name, path, resource_dir, path.stem, None),
            raw_text=text,
            template_text=text,
            props=properties.node("analyses", path.stem),
        )


def _docs_blocks(project: ProjectFile) -> dict[str, str]:
    docs: dict[str, str] = {}
    for path in _files(project.root, project.property_paths, (".md",)):
        for block in find_blocks(_read(path), ("docs",)):
            docs[block.name] = block.body.strip()
    return docs


def _fqn(package: str, path: Path, resource_dir: Path, name: str, version: str | None) -> list[str]:
    folders = list(path.relative_to(resource_dir).parts[:-1])
    return [package, *folders, name] + ([f"v{version}"] if version is not None else [])


# --- files ------------------------------------------------------------------------------------


def _files(root: Path, folders: tuple[str, ...], suffixes: tuple[str, ...]) -> Iterator[Path]:
    for path, _ in _files_with_dir(root, folders, suffixes):
        yield path


def _files_with_dir(
    root: Path, folders: tuple[str, ...], suffixes: tuple[str, ...]
) -> Iterator[tuple[Path, Path]]:
    """(file, the resource folder it is under), sorted, each file once even if folders overlap."""
    seen: set[Path] = set()
    for folder in folders:
        base = (root / folder).resolve()
        if not base.is_dir() or not _is_within(base, root.resolve()):
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                if path.suffix.lower() in suffixes and path not in seen:
                    seen.add(path)
                    yield _relative_to_root(path, base, root)


def _relative_to_root(path: Path, base: Path, root: Path) -> tuple[Path, Path]:
    """Re-express resolved paths under the (possibly unresolved) project root."""
    resolved_root = root.resolve()
    return root / path.relative_to(resolved_root), root / base.relative_to(resolved_root)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")
