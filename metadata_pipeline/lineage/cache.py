"""On-disk cache of per-model lineage results, keyed by everything that can change them."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import sqlglot

from metadata_pipeline.lineage.column_lineage import (
    ENGINE_VERSION,
    ColumnLineage,
    StatementLineage,
)


def cache_key(
    sql: str, dialect: str, schema: dict[tuple[str, ...], dict[str, str]], extra: Any = None
) -> str:
    """sha256 of the compiled SQL, dialect, upstream schemas and engine/sqlglot versions."""
    payload = json.dumps(
        {
            "sql": sql,
            "dialect": dialect,
            "schema": sorted([list(k), list(v.items())] for k, v in schema.items()),
            "extra": extra,
            "engine": ENGINE_VERSION,
            "sqlglot": sqlglot.__version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class LineageCache:
    """One JSON file per key under `root/<2 hex>/<key>.json`; writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> StatementLineage | None:
        try:
            data = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        try:
            return lineage_from_json(data)
        except (KeyError, TypeError, ValueError):
            return None  # an entry from an older layout: recompute it

    def put(self, key: str, lineage: StatementLineage) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(lineage_to_json(lineage), separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def lineage_to_json(lineage: StatementLineage) -> dict[str, Any]:
    """Compact JSON: indirect (table, column, role) triples repeat across columns, so columns
    refer to them by index into one pool."""
    pool: dict[tuple[str, str, str], int] = {}

    def index(item: tuple[str, str, str]) -> int:
        return pool.setdefault(tuple(item), len(pool))  # type: ignore[arg-type]

    columns = [
        [
            c.column,
            [list(u) for u in c.upstreams],
            c.mapping_type,
            c.lineage_type,
            c.transformation,
            c.confidence,
            [index(i) for i in c.indirect],
        ]
        for c in lineage.columns
    ]
    statement_indirect = [index(i) for i in lineage.indirect]
    return {
        "v": 2,
        "pool": [list(i) for i in pool],
        "columns": columns,
        "indirect": statement_indirect,
        "tables": lineage.tables,
        "errors": lineage.errors,
        "warnings": lineage.warnings,
        "target": lineage.target,
        "statement_type": lineage.statement_type,
        "confidence": lineage.confidence,
    }


def lineage_from_json(data: dict[str, Any]) -> StatementLineage:
    if data.get("v") != 2:
        raise ValueError("old cache layout")
    pool = [tuple(i) for i in data["pool"]]
    return StatementLineage(
        columns=[
            ColumnLineage(
                column=name,
                upstreams=[(t, c) for t, c in upstreams],
                mapping_type=mapping,
                lineage_type=lineage_type,
                transformation=transformation,
                confidence=confidence,
                indirect=[pool[i] for i in indirect],  # type: ignore[misc]
            )
            for name, upstreams, mapping, lineage_type, transformation, confidence, indirect in data[
                "columns"
            ]
        ],
        indirect=[pool[i] for i in data["indirect"]],  # type: ignore[misc]
        tables=list(data["tables"]),
        errors=list(data["errors"]),
        warnings=list(data.get("warnings") or []),
        target=data["target"],
        statement_type=data["statement_type"],
        confidence=data["confidence"],
    )
