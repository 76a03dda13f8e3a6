"""Ingestion: git repositories, dbt project discovery, manifest/catalog readers, raw dbt SQL."""

from metadata_pipeline.ingest.extraction import (
    TIER_CONFIDENCE,
    ColumnInfo,
    DbtObject,
    Dependency,
    Extraction,
    ExtractionError,
)

__all__ = ["TIER_CONFIDENCE", "ColumnInfo", "DbtObject", "Dependency", "Extraction", "ExtractionError"]
