"""The lineage document: an extraction and its column lineage as one JSON-ready dict.

`metadata-pipeline lineage project` prints it and every pipeline run keeps it as lineage.json, so
both always have the same shape.
"""

from __future__ import annotations

from typing import Any

from metadata_pipeline.ingest import Extraction, extraction_to_json
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.lineage.project_lineage import ProjectLineage


def edge_json(edge: ColumnEdge) -> dict[str, Any]:
    return {
        "target": edge.target,
        "source": edge.source,
        "mapping_type": edge.mapping_type,
        "lineage_type": edge.lineage_type,
        "transformation": edge.transformation,
        "confidence": edge.confidence,
        "role": edge.role,
    }


def lineage_errors(result: ProjectLineage) -> list[dict[str, Any]]:
    """Per-model SQL analysis problems, shaped like the extraction's own errors."""
    return [
        {"message": message, "kind": "sql", "file": None, "unique_id": unique_id, "line": None}
        for unique_id, statement in result.statements.items()
        for message in statement.errors
    ]


def lineage_document(extraction: Extraction, result: ProjectLineage | None) -> dict[str, Any]:
    """{"objects", "dependencies", "column_lineage", "errors"} for one extraction."""
    document = extraction_to_json(extraction)
    if result is not None:
        document["column_lineage"] = [edge_json(edge) for edge in result.edges]
        document["errors"] = [*(document.get("errors") or []), *lineage_errors(result)]
    return document
