"""AI enrichment: dataset and column descriptions, medallion classification, PII labels.

Lineage first (descriptions carried along Direct column edges), then a content-hash cache, then a
provider: OpenAI-compatible when an API key is configured, deterministic offline rules otherwise. A
description a person wrote is never replaced. This package does not import Dagster.
"""

from metadata_pipeline.enrich.cache import EnrichmentCache, cache_key
from metadata_pipeline.enrich.context import HumanDescriptions
from metadata_pipeline.enrich.enricher import Enricher, EnrichmentError, InvalidAnswer, ProviderUnavailable
from metadata_pipeline.enrich.factory import default_enricher
from metadata_pipeline.enrich.models import (
    ColumnEnrichment,
    ColumnRequest,
    DatasetEnrichment,
    DatasetRequest,
    PiiCategory,
    TokenUsage,
    UpstreamColumn,
)
from metadata_pipeline.enrich.offline_provider import OfflineEnricher
from metadata_pipeline.enrich.openai_provider import MissingApiKey, OpenAIConfig, OpenAIEnricher
from metadata_pipeline.enrich.pricing import DEFAULT_PRICES, ModelPrice
from metadata_pipeline.enrich.propagation import propagate_descriptions
from metadata_pipeline.enrich.request_builder import RequestLimits
from metadata_pipeline.enrich.run import (
    LIMIT,
    EnrichmentLimits,
    EnrichmentResult,
    EnrichmentStats,
    enrich_extraction,
)
from metadata_pipeline.vocabulary import EntitySubtype, EntityType, MedallionLayer

__all__ = [
    "DEFAULT_PRICES",
    "LIMIT",
    "ColumnEnrichment",
    "ColumnRequest",
    "DatasetEnrichment",
    "DatasetRequest",
    "Enricher",
    "EnrichmentCache",
    "EnrichmentError",
    "EnrichmentLimits",
    "EnrichmentResult",
    "EnrichmentStats",
    "EntitySubtype",
    "EntityType",
    "HumanDescriptions",
    "InvalidAnswer",
    "MedallionLayer",
    "MissingApiKey",
    "ModelPrice",
    "OfflineEnricher",
    "OpenAIConfig",
    "OpenAIEnricher",
    "PiiCategory",
    "ProviderUnavailable",
    "RequestLimits",
    "TokenUsage",
    "UpstreamColumn",
    "cache_key",
    "default_enricher",
    "enrich_extraction",
    "propagate_descriptions",
]
