"""Read a dbt manifest.json (schema v3 to v12, and dbt Fusion's v20) into a GOLD `Extraction`.

The manifest is streamed, one top-level section at a time, with ijson's C backend: each node is
built as a small dict, turned into a `DbtObject` and dropped, so a 100 MB manifest never sits in
memory as Python objects (json.load would need several times its size).

Dependencies are exactly the manifest's `depends_on.nodes` of every enabled model, seed, snapshot,
analysis and exposure, edge for edge. An edge whose upstream the manifest does not define (or only
defines as disabled) is kept, because dbt recorded it, and also reported as an ExtractionError so
nothing is lost silently. Tests, macros, unit tests, operations and semantic-layer nodes are not
objects and contribute no edges.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from metadata_pipeline.ingest.errors import ManifestError
from metadata_pipeline.ingest.extraction import (
    TIER_CONFIDENCE,
    ColumnInfo,
    DbtObject,
    Dependency,
    Extraction,
    ExtractionError,
)

# v3 (dbt 0.21) and v20 (dbt Fusion 2.0) fall outside the documented 4..12 range but share its
# shapes for everything read here, which the corpus confirms; anything else is refused.
SUPPORTED_SCHEMA_VERSIONS: frozenset[int] = frozenset({*range(3, 13), 20})
NODE_OBJECT_TYPES = frozenset({"model", "seed", "snapshot", "analysis"})
EDGE_SOURCE_TYPES = frozenset({"model", "seed", "snapshot", "analysis", "exposure"})
# Semantic-layer nodes (dbt 1.3+) are not objects here; edges to them are kept without complaint.
_SEMANTIC_TYPES = frozenset({"metric", "semantic_model", "saved_query"})
_VERSION_RE = re.compile(r"/manifest/v(\d+)\.json")
_BUFFER = 1 << 16
_GOLD_CONFIDENCE = TIER_CONFIDENCE["GOLD"]


@dataclass(frozen=True)
class ManifestShape:
    """Where one schema version keeps the fields whose names changed over time."""

    raw_sql_keys: tuple[str, ...]
    compiled_sql_keys: tuple[str, ...]
    disabled_is_list: bool


def manifest_shape(version: int) -> ManifestShape:
    """v7 (dbt 1.3) renamed raw_sql/compiled_sql to raw_code/compiled_code; v3 listed disabled nodes.

    Both names are still tried, newest first, because hand-edited or converted manifests mix them.
    """
    if version >= 7:
        return ManifestShape(("raw_code", "raw_sql"), ("compiled_code", "compiled_sql"), False)
    return ManifestShape(("raw_sql", "raw_code"), ("compiled_sql", "compiled_code"), version <= 3)


@dataclass
class _ReadState:
    """What accumulates while the sections stream past."""

    path: Path
    shape: ManifestShape
    objects: dict[str, DbtObject] = field(default_factory=dict)
    edges: dict[str, list[str]] = field(default_factory=dict)
    errors: list[ExtractionError] = field(default_factory=list)
    packages: Counter[str] = field(default_factory=Counter)
    missing_depends_on: list[str] = field(default_factory=list)


def read_manifest(
    path: Path, *, project_root: Path | None = None, project_name: str | None = None
) -> Extraction:
    """A GOLD Extraction of every object and dependency dbt recorded in `path`.

    `project_name` is a fallback for old manifests whose metadata does not name the project.
    Raises ManifestError (naming the file) on broken JSON, an unknown schema version or no nodes.
    """
    metadata = read_manifest_metadata(path)
    version = manifest_schema_version(metadata, path)
    state = _ReadState(path=path, shape=manifest_shape(version))
    node_count = _read_nodes(state)
    if node_count == 0 and not _has_top_level_key(path, "nodes"):
        raise ManifestError(f"{path}: not a dbt manifest (no `nodes` section)", file=path, version=version)
    _read_sources(state)
    _read_exposures(state)
    _read_disabled(state)
    if state.missing_depends_on:
        _fill_from_parent_map(state)
    extraction = Extraction(
        project_name=_project_name(metadata, state.packages, project_name),
        project_root=str(project_root or _default_project_root(path)),
        tier="GOLD",
        objects=list(state.objects.values()),
        adapter_type=metadata.get("adapter_type"),
        manifest_schema_version=version,
        dbt_version=metadata.get("dbt_version"),
    )
    extraction.dependencies = _dependencies(state)
    extraction.errors = state.errors
    return extraction


def read_manifest_metadata(path: Path) -> dict[str, Any]:
    """The manifest's `metadata` block, read without parsing the rest when it comes first."""
    with _open(path) as handle:
        for metadata in _stream(path, ijson.items(handle, "metadata", use_float=True, buf_size=_BUFFER)):
            if isinstance(metadata, dict):
                return metadata
    raise ManifestError(f"{path}: not a dbt manifest (no `metadata` object)", file=path)


def manifest_schema_version(metadata: dict[str, Any], path: Path) -> int:
    """The integer N of `.../manifest/vN.json`, refused unless this reader knows that shape."""
    url = str(metadata.get("dbt_schema_version") or "")
    match = _VERSION_RE.search(url)
    if not match:
        raise ManifestError(
            f"{path}: unknown manifest schema version {url or '(none)'!r}; expected a dbt manifest",
            file=path,
        )
    version = int(match.group(1))
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(f"v{v}" for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise ManifestError(
            f"{path}: manifest schema v{version} (dbt {metadata.get('dbt_version', '?')}) is not "
            f"supported; this reader handles {supported}",
            file=path,
            version=version,
        )
    return version


# --- sections -------------------------------------------------------------------------------------


def _read_nodes(state: _ReadState) -> int:
    count = 0
    for unique_id, node in _section_items(state.path, "nodes"):
        count += 1
        if not isinstance(node, dict):
            continue
        state.packages[str(node.get("package_name") or "")] += 1
        if node.get("resource_type") not in NODE_OBJECT_TYPES:
            continue  # tests, operations, sql/rpc nodes: not objects, and never edges
        obj = _node_object(unique_id, node, state.shape)
        state.objects[unique_id] = obj
        if obj.enabled:
            _record_edges(state, unique_id, node)
    return count


def _read_sources(state: _ReadState) -> None:
    for unique_id, source in _section_items(state.path, "sources"):
        if isinstance(source, dict):
            state.objects[unique_id] = _source_object(unique_id, source)


def _read_exposures(state: _ReadState) -> None:
    for unique_id, exposure in _section_items(state.path, "exposures"):
        if isinstance(exposure, dict):
            state.objects[unique_id] = _exposure_object(unique_id, exposure)
            _record_edges(state, unique_id, exposure)


def _read_disabled(state: _ReadState) -> None:
    """Disabled nodes are kept as objects with enabled=False; they take part in no edge."""
    for unique_id, node in _disabled_nodes(state):
        if unique_id in state.objects or not isinstance(node, dict):
            continue  # dbt lists one entry per disabled variant; an enabled one always wins
        resource_type = node.get("resource_type")
        if resource_type == "source":
            obj = _source_object(unique_id, node)
        elif resource_type == "exposure":
            obj = _exposure_object(unique_id, node)
        elif resource_type in NODE_OBJECT_TYPES:
            obj = _node_object(unique_id, node, state.shape)
        else:
            continue
        obj.enabled = False
        state.objects[unique_id] = obj


def _disabled_nodes(state: _ReadState) -> Iterator[tuple[str, Any]]:
    if state.shape.disabled_is_list:
        for node in _section_list(state.path, "disabled"):
            if isinstance(node, dict) and node.get("unique_id"):
                yield str(node["unique_id"]), node
        return
    for unique_id, variants in _section_items(state.path, "disabled"):
        for node in variants if isinstance(variants, list) else [variants]:
            yield unique_id, node


def _fill_from_parent_map(state: _ReadState) -> None:
    """Nodes written without `depends_on` (hand-made or trimmed manifests) fall back to parent_map."""
    wanted = set(state.missing_depends_on)
    for unique_id, parents in _section_items(state.path, "parent_map"):
        if unique_id in wanted and isinstance(parents, list):
            state.edges[unique_id] = [p for p in parents if not str(p).startswith(("test.", "unit_test."))]


# --- objects --------------------------------------------------------------------------------------


def _node_object(unique_id: str, node: dict[str, Any], shape: ManifestShape) -> DbtObject:
    config = node.get("config") or {}
    resource_type = str(node.get("resource_type"))
    version = node.get("version")
    return DbtObject(
        unique_id=unique_id,
        name=str(node.get("name") or unique_id.rsplit(".", 1)[-1]),
        resource_type=resource_type,
        package_name=node.get("package_name"),
        database=node.get("database"),
        schema=node.get("schema"),
        alias=node.get("alias") or node.get("name"),
        materialization=config.get("materialized") or _default_materialization(resource_type),
        file_path=_posix(node.get("original_file_path")),
        raw_sql=_first(node, shape.raw_sql_keys),
        compiled_sql=_first(node, shape.compiled_sql_keys),
        description=node.get("description") or None,
        declared_columns=_columns(node.get("columns")),
        tags=_tags(node.get("tags") or config.get("tags")),
        meta=dict(node.get("meta") or config.get("meta") or {}),
        tier="GOLD",
        confidence=_GOLD_CONFIDENCE,
        enabled=config.get("enabled", True) is not False,
        original_file_path=node.get("original_file_path"),
        version=None if version is None else str(version),
        snapshot_columns=_snapshot_columns(config) if resource_type == "snapshot" else [],
    )


# dbt's snapshot bookkeeping columns, in the order dbt adds them.
_SNAPSHOT_META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


def _snapshot_columns(config: dict[str, Any]) -> list[str]:
    """The columns dbt adds to a snapshot, renamed as `snapshot_meta_column_names` says."""
    renamed = config.get("snapshot_meta_column_names") or {}
    if not isinstance(renamed, dict):
        renamed = {}
    names = list(_SNAPSHOT_META_COLUMNS)
    if config.get("hard_deletes") == "new_record" or renamed.get("dbt_is_deleted"):
        names.append("dbt_is_deleted")
    return [str(renamed.get(name) or name) for name in names]


def _source_object(unique_id: str, source: dict[str, Any]) -> DbtObject:
    config = source.get("config") or {}
    return DbtObject(
        unique_id=unique_id,
        name=str(source.get("name") or unique_id.rsplit(".", 1)[-1]),
        resource_type="source",
        package_name=source.get("package_name"),
        database=source.get("database"),
        schema=source.get("schema"),
        alias=source.get("identifier") or source.get("name"),
        file_path=_posix(source.get("original_file_path")),
        description=source.get("description") or source.get("source_description") or None,
        declared_columns=_columns(source.get("columns")),
        tags=_tags(source.get("tags") or config.get("tags")),
        meta=dict(source.get("meta") or source.get("source_meta") or {}),
        tier="GOLD",
        confidence=_GOLD_CONFIDENCE,
        enabled=config.get("enabled", True) is not False,
        source_name=source.get("source_name"),
        original_file_path=source.get("original_file_path"),
    )


def _exposure_object(unique_id: str, exposure: dict[str, Any]) -> DbtObject:
    return DbtObject(
        unique_id=unique_id,
        name=str(exposure.get("name") or unique_id.rsplit(".", 1)[-1]),
        resource_type="exposure",
        package_name=exposure.get("package_name"),
        file_path=_posix(exposure.get("original_file_path")),
        description=exposure.get("description") or None,
        tags=_tags(exposure.get("tags")),
        meta=dict(exposure.get("meta") or {}),
        tier="GOLD",
        confidence=_GOLD_CONFIDENCE,
        original_file_path=exposure.get("original_file_path"),
    )


def _columns(columns: Any) -> list[ColumnInfo]:
    if not isinstance(columns, dict):
        return []
    result = []
    for position, (key, column) in enumerate(columns.items(), start=1):
        column = column if isinstance(column, dict) else {}
        result.append(
            ColumnInfo(
                name=str(column.get("name") or key),
                data_type=column.get("data_type") or None,
                description=column.get("description") or None,
                position=position,
                source="manifest",
                tags=_tags(column.get("tags")),
                meta=dict(column.get("meta") or {}),
            )
        )
    return result


def _posix(path: Any) -> str | None:
    """Manifests written on Windows say `models\\a.sql`; file_path is always `models/a.sql`."""
    return str(path).replace("\\", "/") if path else None


def _default_materialization(resource_type: str) -> str | None:
    return resource_type if resource_type in ("seed", "snapshot") else None


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(tag) for tag in value] if isinstance(value, list) else []


def _first(node: dict[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = node.get(key)
        if isinstance(value, str):
            return value
    return None


# --- dependencies ---------------------------------------------------------------------------------


def _record_edges(state: _ReadState, unique_id: str, node: dict[str, Any]) -> None:
    if node.get("resource_type") not in EDGE_SOURCE_TYPES:
        return
    depends_on = node.get("depends_on")
    if not isinstance(depends_on, dict):
        state.missing_depends_on.append(unique_id)
        return
    state.edges[unique_id] = [str(n) for n in depends_on.get("nodes") or []]


def _dependencies(state: _ReadState) -> list[Dependency]:
    dependencies: list[Dependency] = []
    for source_id, targets in state.edges.items():
        for target in dict.fromkeys(targets):  # dbt de-duplicates; keep its order
            dependencies.append(
                Dependency(
                    source=source_id,
                    target=target,
                    extracted_from="manifest",
                    tier="GOLD",
                    confidence=_GOLD_CONFIDENCE,
                    dependency_type="source" if target.startswith("source.") else "ref",
                )
            )
            _check_target(state, source_id, target)
    return dependencies


def _check_target(state: _ReadState, source_id: str, target: str) -> None:
    upstream = state.objects.get(target)
    if upstream is None and target.split(".", 1)[0] in _SEMANTIC_TYPES:
        return  # defined in a section this reader skips on purpose, not missing
    if upstream is None:
        message = f"depends on {target}, which the manifest does not define (edge kept)"
    elif not upstream.enabled:
        message = f"depends on {target}, which is disabled (edge kept)"
    else:
        return
    state.errors.append(ExtractionError(message, kind="manifest", file=str(state.path), unique_id=source_id))


# --- naming ---------------------------------------------------------------------------------------


def _project_name(metadata: dict[str, Any], packages: Counter[str], hint: str | None) -> str:
    """metadata.project_name (dbt >= 1.6), else the package whose md5 is metadata.project_id."""
    if metadata.get("project_name"):
        return str(metadata["project_name"])
    project_id = metadata.get("project_id")
    if project_id:
        for package in packages:
            if hashlib.md5(package.encode()).hexdigest() == project_id:  # noqa: S324 - dbt's own id
                return package
    if hint:
        return hint
    return packages.most_common(1)[0][0] if packages else "unknown"


def _default_project_root(path: Path) -> Path:
    return path.parent.parent if path.parent.name == "target" else path.parent


# --- streaming ------------------------------------------------------------------------------------


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: file not found", file=path) from exc
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read ({exc.strerror})", file=path) from exc


def _section_items(path: Path, section: str) -> Iterator[tuple[str, Any]]:
    """(key, value) pairs of one top-level object, each built and released in turn."""
    with _open(path) as handle:
        yield from _stream(path, ijson.kvitems(handle, section, use_float=True, buf_size=_BUFFER))


def _section_list(path: Path, section: str) -> Iterator[Any]:
    with _open(path) as handle:
        yield from _stream(path, ijson.items(handle, f"{section}.item", use_float=True, buf_size=_BUFFER))


def _stream(path: Path, items: Iterator[Any]) -> Iterator[Any]:
    """Re-raise the parser's errors as ManifestError with the line and column of the fault."""
    try:
        yield from items
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
        raise locate_json_error(path, exc) from exc


def _has_top_level_key(path: Path, key: str) -> bool:
    with _open(path) as handle:
        for prefix, event, value in _stream(path, ijson.parse(handle, buf_size=_BUFFER)):
            if prefix == "" and event == "map_key" and value == key:
                return True
    return False


def locate_json_error(path: Path, exc: Exception) -> ManifestError:
    """ijson cannot say where it failed; on this error path only, ask the json module, which can."""
    try:
        with open(path, "rb") as handle:
            json.load(handle)
    except json.JSONDecodeError as decode_error:
        return ManifestError(
            f"{path}: invalid JSON at line {decode_error.lineno}, column {decode_error.colno}: "
            f"{decode_error.msg}",
            file=path,
            line=decode_error.lineno,
            column=decode_error.colno,
        )
    except (UnicodeDecodeError, ValueError) as other:
        return ManifestError(f"{path}: invalid JSON ({other})", file=path)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ManifestError(f"{path}: invalid JSON ({first_line})", file=path)
