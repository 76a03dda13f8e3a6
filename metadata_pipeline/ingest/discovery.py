"""Find the dbt projects in a checkout, and the manifest.json / catalog.json that belong to each."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from metadata_pipeline.ingest.errors import ProjectError
from metadata_pipeline.ingest.manifest_reader import read_manifest_metadata
from metadata_pipeline.ingest.yaml_files import load_yaml_file

PROJECT_FILE = "dbt_project.yml"
# Installed packages, build output and VCS/tooling folders never hold the project's own sources.
SKIP_DIRS = frozenset({"dbt_packages", "dbt_modules", "target", ".git", "node_modules", ".venv", "venv"})
# Artefact folders are skipped when looking for projects but searched for manifests.
_ARTIFACT_DIRS = frozenset({"target"})


@dataclass(frozen=True)
class DbtProjectLocation:
    """A dbt project inside a checkout: where it is, what it is called, where its artefacts are."""

    root: Path
    name: str
    model_paths: tuple[str, ...]
    manifest_path: Path | None = None
    catalog_path: Path | None = None

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE


def find_dbt_projects(root: Path) -> list[DbtProjectLocation]:
    """Every dbt project under `root` (nested ones too), each with its manifest and catalog if any.

    Raises ProjectError when there is none; plain SQL folders are read by `plain_sql` instead.
    """
    root = root.resolve()
    if not root.is_dir():
        raise ProjectError(f"{root}: not a directory", path=root)
    project_dirs = sorted(_walk_for(root, PROJECT_FILE, skip=SKIP_DIRS))
    if not project_dirs:
        raise ProjectError(
            f"{root}: no dbt project found (no {PROJECT_FILE} outside dbt_packages/, target/ and .git)",
            path=root,
        )
    projects = [_read_location(directory) for directory in project_dirs]
    manifests = _ManifestCandidates(root)
    return [_attach_artifacts(project, projects, manifests) for project in projects]


def read_project_file(project_root: Path) -> dict[str, Any]:
    """dbt_project.yml as a dict; ProjectError naming the file when it is missing or not YAML."""
    path = project_root / PROJECT_FILE
    try:
        data = load_yaml_file(path)
    except FileNotFoundError as exc:
        raise ProjectError(f"{path}: file not found", path=path) from exc
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: invalid YAML ({_yaml_problem(exc)})", path=path) from exc
    if not isinstance(data, dict) or not data.get("name"):
        raise ProjectError(f"{path}: not a dbt project file (no `name`)", path=path)
    return data


def project_paths(config: dict[str, Any], key: str, legacy_key: str | None, default: str) -> tuple[str, ...]:
    """A `*-paths` setting as a tuple of relative folders, honouring the pre-1.0 spelling."""
    value = config.get(key) or (config.get(legacy_key) if legacy_key else None) or [default]
    if isinstance(value, str):
        value = [value]
    return tuple(str(v).rstrip("/") for v in value if v)


def _read_location(directory: Path) -> DbtProjectLocation:
    config = read_project_file(directory)
    return DbtProjectLocation(
        root=directory,
        name=str(config["name"]),
        model_paths=project_paths(config, "model-paths", "source-paths", "models"),
    )


def _attach_artifacts(
    project: DbtProjectLocation, all_projects: list[DbtProjectLocation], manifests: _ManifestCandidates
) -> DbtProjectLocation:
    others = [p.root for p in all_projects if p.root != project.root and _is_within(p.root, project.root)]
    names = {p.name for p in all_projects}
    manifest = manifests.best_for(project, nested_projects=others, all_names=names)
    own = project.root / "target" / "manifest.json"
    if manifest is None and own.is_file() and manifests.identity(own) is None:
        # The project's own manifest is unreadable: keep it, so the reader names the file and the fault
        # (the project then falls back to its raw SQL) instead of the manifest being silently skipped.
        manifest = own
    catalog = _catalog_next_to(manifest) if manifest else None
    if catalog is None and (project.root / "target" / "catalog.json").is_file():
        catalog = project.root / "target" / "catalog.json"
    return DbtProjectLocation(project.root, project.name, project.model_paths, manifest, catalog)


class _ManifestCandidates:
    """Every manifest.json in the checkout, with the project it says it was built for (if it says)."""

    def __init__(self, root: Path) -> None:
        self.paths = sorted(
            _walk_for(root, "manifest.json", skip=SKIP_DIRS - _ARTIFACT_DIRS),
            key=lambda p: (len(p.parts), str(p)),
        )
        self._identity: dict[Path, set[str] | None] = {}

    def best_for(
        self, project: DbtProjectLocation, *, nested_projects: list[Path], all_names: set[str]
    ) -> Path | None:
        """The manifest naming this project (closest first), else an anonymous one inside its folder."""
        files = [d / "manifest.json" for d in self.paths]
        named = [f for f in files if _names(project.name) & (self.identity(f) or set())]
        if named:
            return min(named, key=lambda f: (not _is_within(f, project.root), len(f.parts), str(f)))
        others = set().union(*(_names(n) for n in all_names - {project.name}))
        own = [
            f
            for f in files
            if _is_within(f, project.root)
            and not any(_is_within(f, nested) for nested in nested_projects)
            and self.identity(f) is not None
            and not (others & (self.identity(f) or set()))  # built for another project here
        ]
        preferred = project.root / "target" / "manifest.json"
        return preferred if preferred in own else (own[0] if own else None)

    def identity(self, manifest: Path) -> set[str] | None:
        """Names the manifest could belong to; an empty set when it does not say; None if not dbt."""
        if manifest not in self._identity:
            self._identity[manifest] = _manifest_identity(manifest)
        return self._identity[manifest]


def _names(project_name: str) -> set[str]:
    """How a manifest may name a project: by name (dbt >= 1.6) or by md5 of the name (project_id)."""
    return {project_name, f"md5:{project_id_for(project_name)}"}


def _manifest_identity(manifest: Path) -> set[str] | None:
    try:
        metadata = read_manifest_metadata(manifest)
    except Exception:  # noqa: BLE001 - any unreadable file simply is not a candidate
        return None
    if "/manifest/" not in str(metadata.get("dbt_schema_version", "")):
        return None
    names: set[str] = set()
    if metadata.get("project_name"):
        names.add(str(metadata["project_name"]))
    if metadata.get("project_id"):
        # Before dbt 1.6 the metadata only carries md5(project name): keep the hash to compare.
        names.add(f"md5:{metadata['project_id']}")
    return names


def _catalog_next_to(manifest: Path) -> Path | None:
    catalog = manifest.with_name("catalog.json")
    return catalog if catalog.is_file() else None


def _walk_for(root: Path, filename: str, *, skip: frozenset[str]) -> Iterator[Path]:
    """Directories under root holding `filename`, never descending into `skip` folders."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        if filename in filenames:
            yield Path(dirpath)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else str(problem)


def project_id_for(name: str) -> str:
    """dbt's `project_id`: the md5 of the project name, as written in manifest metadata."""
    return hashlib.md5(name.encode()).hexdigest()  # noqa: S324 - an identifier, not a security hash
