"""Lineage: model lineage, column lineage, schema inference, classification, result cache."""

from metadata_pipeline.lineage.edges import ColumnEdge, LineageType, MappingType

__all__ = ["ColumnEdge", "LineageType", "MappingType"]
