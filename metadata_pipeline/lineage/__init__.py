"""Lineage: model lineage, column lineage, schema inference, classification, result cache."""

from metadata_pipeline.lineage.column_lineage import (
    ColumnLineage,
    StatementLineage,
    classify,
    statement_lineage,
)
from metadata_pipeline.lineage.dialects import dialect_for_adapter
from metadata_pipeline.lineage.edges import ColumnEdge, LineageType, MappingType
from metadata_pipeline.lineage.errors import LineageError
from metadata_pipeline.lineage.project_lineage import (
    ModelSchema,
    ProjectLineage,
    compute_project_lineage,
    trace_to_sources,
)

__all__ = [
    "ColumnEdge",
    "ColumnLineage",
    "LineageError",
    "LineageType",
    "MappingType",
    "ModelSchema",
    "ProjectLineage",
    "StatementLineage",
    "classify",
    "compute_project_lineage",
    "dialect_for_adapter",
    "statement_lineage",
    "trace_to_sources",
]
