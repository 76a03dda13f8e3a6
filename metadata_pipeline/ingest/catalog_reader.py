"""Read a dbt catalog.json (warehouse columns of nodes and sources) and attach it to an Extraction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from metadata_pipeline.ingest.errors import ManifestError
from metadata_pipeline.ingest.extraction import ColumnInfo, Extraction, ExtractionError
from metadata_pipeline.ingest.manifest_reader import locate_json_error

_SECTIONS = ("nodes", "sources")
_BUFFER = 1 << 16


def read_catalog(path: Path) -> dict[str, list[ColumnInfo]]:
    """unique_id -> columns in warehouse order (source="catalog"), for every node and source.

    Streamed like the manifest: catalogs of big warehouses are as large as their manifests.
    Raises ManifestError naming the file when it is not valid JSON.
    """
    columns: dict[str, list[ColumnInfo]] = {}
    for section in _SECTIONS:
        for unique_id, entry in _entries(path, section):
            if isinstance(entry, dict):
                columns[unique_id] = _catalog_columns(entry.get("columns"))
    return columns


def attach_catalog(extraction: Extraction, path: Path) -> int:
    """Set `catalog_columns` on the objects the catalog knows; returns how many were matched.

    A catalog that cannot be read does not sink the extraction: it becomes one ExtractionError,
    because the manifest alone is still GOLD for dependencies.
    """
    try:
        catalog = read_catalog(path)
    except ManifestError as exc:
        extraction.errors.append(ExtractionError(str(exc), kind="catalog", file=str(path)))
        return 0
    matched = 0
    for obj in extraction.objects:
        found = catalog.get(obj.unique_id)
        if found is not None:
            obj.catalog_columns = found
            matched += 1
    return matched


def _catalog_columns(columns: Any) -> list[ColumnInfo]:
    if not isinstance(columns, dict):
        return []
    result = [
        ColumnInfo(
            name=str(column.get("name") or key),
            data_type=column.get("type") or None,
            description=column.get("comment") or None,
            position=_as_int(column.get("index")),
            source="catalog",
        )
        for key, column in columns.items()
        if isinstance(column, dict)
    ]
    # catalog.json is keyed by name, so restore the warehouse order from `index`.
    return sorted(result, key=lambda c: (c.position is None, c.position or 0))


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _entries(path: Path, section: str) -> Iterator[tuple[str, Any]]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise ManifestError(f"{path}: catalog cannot be read ({exc.strerror})", file=path) from exc
    with handle:
        try:
            yield from ijson.kvitems(handle, section, use_float=True, buf_size=_BUFFER)
        except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
            raise locate_json_error(path, exc) from exc
