"""dbt_project.yml as dbt reads it: resource paths, vars, and the per-folder config tree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metadata_pipeline.ingest.discovery import project_paths, read_project_file
from metadata_pipeline.ingest.yaml_files import load_yaml_file

# Config names that may be written without the `+` prefix in dbt_project.yml. Anything else
# without `+` whose value is a mapping is a sub-folder (dbt's own rule for config-version 2).
KNOWN_CONFIGS = frozenset(
    {
        "materialized", "enabled", "schema", "database", "alias", "tags", "meta", "docs",
        "persist_docs", "pre-hook", "post-hook", "pre_hook", "post_hook", "full_refresh",
        "unique_key", "incremental_strategy", "on_schema_change", "quoting", "column_types",
        "grants", "contract", "access", "group", "sql_header", "bind", "sort", "dist",
        "cluster_by", "partition_by", "labels", "transient", "copy_grants", "file_format",
        "location_root", "strategy", "target_schema", "target_database", "updated_at",
        "check_cols", "quote_columns", "delimiter", "invalidate_hard_deletes", "snapshot_meta_column_names",
        "hard_deletes", "dbt_valid_to_current", "event_time", "batch_size", "lookback", "begin",
    }
)  # fmt: skip
# Keys whose values accumulate down the folder tree instead of replacing each other.
_ADDITIVE = frozenset({"tags"})
_MERGED = frozenset({"meta"})


@dataclass(frozen=True)
class ProjectFile:
    """One dbt project's dbt_project.yml, with dbt's defaults filled in."""

    root: Path
    name: str
    model_paths: tuple[str, ...]
    seed_paths: tuple[str, ...]
    snapshot_paths: tuple[str, ...]
    analysis_paths: tuple[str, ...]
    macro_paths: tuple[str, ...]
    variables: Mapping[str, Any]
    configs: Mapping[str, Any]  # resource type section (models, seeds...) -> folder tree
    profile: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def property_paths(self) -> tuple[str, ...]:
        """Where dbt looks for YAML property files (sources, docs, columns)."""
        seen = dict.fromkeys(
            (
                *self.model_paths,
                *self.seed_paths,
                *self.snapshot_paths,
                *self.analysis_paths,
                *self.macro_paths,
            )
        )
        return tuple(seen)


def load_project_file(root: Path) -> ProjectFile:
    """Read dbt_project.yml under `root` (ProjectError naming the file when it is unusable)."""
    raw = read_project_file(root)
    return ProjectFile(
        root=root,
        name=str(raw["name"]),
        model_paths=project_paths(raw, "model-paths", "source-paths", "models"),
        seed_paths=project_paths(raw, "seed-paths", "data-paths", "seeds"),
        snapshot_paths=project_paths(raw, "snapshot-paths", None, "snapshots"),
        analysis_paths=project_paths(raw, "analysis-paths", None, "analyses"),
        macro_paths=project_paths(raw, "macro-paths", None, "macros"),
        variables=_mapping(raw.get("vars")),
        configs={
            key: _mapping(raw.get(key))
            for key in ("models", "seeds", "snapshots", "sources", "analyses", "exposures")
        },
        profile=str(raw["profile"]) if raw.get("profile") else None,
        raw=raw,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def project_vars(package: ProjectFile, root: ProjectFile, package_names: Iterable[str]) -> dict[str, Any]:
    """The vars a package's nodes see: its own defaults, then the root project's, then scoped ones.

    A top-level key of `vars:` naming a project is a block scoped to that project (dbt's rule).
    """
    names = set(package_names)
    result: dict[str, Any] = {}
    for source in (package, root) if package.root != root.root else (root,):
        result.update({k: v for k, v in source.variables.items() if k not in names})
        scoped = source.variables.get(package.name)
        if isinstance(scoped, dict):
            result.update(scoped)
    return result


def folder_config(trees: Iterable[Mapping[str, Any]], fqn: list[str]) -> dict[str, Any]:
    """Merge the configs that apply to `fqn` in each tree (later trees and deeper folders win)."""
    config: dict[str, Any] = {}
    for tree in trees:
        level: Any = tree
        _apply_level(config, level)
        for part in fqn:
            level = level.get(part) if isinstance(level, dict) else None
            if not isinstance(level, dict):
                break
            _apply_level(config, level)
    return config


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """dbt's config precedence: override wins, except tags (added) and meta (merged)."""
    merged = dict(base)
    for raw_key, value in override.items():
        key = normalise_key(raw_key)
        if key in _ADDITIVE:
            merged[key] = _unique([*as_list(merged.get(key)), *as_list(value)])
        elif key in _MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def normalise_key(key: str) -> str:
    key = key[1:] if key.startswith("+") else key
    return {"pre_hook": "pre-hook", "post_hook": "post-hook"}.get(key, key)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _apply_level(config: dict[str, Any], level: Mapping[str, Any]) -> None:
    own = {k: v for k, v in level.items() if isinstance(k, str) and _is_config_key(k, v)}
    config.update(merge_config(config, own))


def _is_config_key(key: str, value: Any) -> bool:
    if key.startswith("+"):
        return True
    if key in KNOWN_CONFIGS:
        return True
    return not isinstance(value, dict)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(str(v) for v in values))


def read_yaml(path: Path) -> Any:
    """A YAML file's content (yaml.YAMLError propagates so callers can report file and line)."""
    return load_yaml_file(path)
