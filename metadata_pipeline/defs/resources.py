"""Dagster resources, named by role: the catalog database the pipeline reads and writes."""

from __future__ import annotations

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from metadata_pipeline.catalog import Tenant, cached_engine, ensure_default_tenant, session_scope
from metadata_pipeline.enrich import (
    Enricher,
    EnrichmentLimits,
    OfflineEnricher,
    OpenAIConfig,
    OpenAIEnricher,
    default_enricher,
)
from metadata_pipeline.pipeline import EnrichOptions
from metadata_pipeline.settings import Settings


class CatalogResource(dg.ConfigurableResource):
    """The catalog: owns the SQLAlchemy engine (one per process) and the pipeline's data directory.

    Both settings default to the environment (METADATA_PIPELINE_CATALOG_URL, METADATA_PIPELINE_HOME),
    so the URL and its password never appear in run config or the Dagster UI.
    """

    catalog_url: str | None = Field(default=None, description="SQLAlchemy URL; default from the environment.")
    home: str | None = Field(default=None, description="Data directory; default METADATA_PIPELINE_HOME.")

    def settings(self) -> Settings:
        return Settings.from_env(catalog_url=self.catalog_url, home=self.home)

    def engine(self) -> Engine:
        return cached_engine(self.settings().catalog_url)

    def tenant(self) -> Tenant:
        with session_scope(self.engine()) as session:
            return ensure_default_tenant(session)


def catalog_resource() -> CatalogResource:
    """The resource as the code location configures it.

    Nothing is read at import: the URL (which may carry a password) and the data directory come from
    METADATA_PIPELINE_CATALOG_URL and METADATA_PIPELINE_HOME when a run starts, so they never appear
    in run config, in the UI or in a pickled definition.
    """
    return CatalogResource()


class EnricherResource(dg.ConfigurableResource):
    """Which model enriches descriptions and classifications, and how much one run may spend.

    `auto` uses an OpenAI-compatible endpoint when the variable named by `api_key_env` is set and
    the offline rules otherwise. The key itself is read from the environment at run time only.
    """

    provider: str = Field(default="auto", description="auto | offline | openai")
    model: str = Field(default="gpt-4o-mini", description="Model name on the OpenAI-compatible endpoint.")
    base_url: str | None = Field(default=None, description="e.g. http://vllm:8000/v1; None: OpenAI.")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="Name of the env var holding the key.")
    timeout_s: float = 60.0
    max_retries: int = 3
    concurrency: int = 4
    max_datasets: int | None = Field(default=None, description="Provider calls allowed per run.")
    max_tokens: int | None = Field(default=None, description="Tokens allowed per run.")

    def build(self) -> Enricher:
        config = OpenAIConfig(
            model=self.model,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            concurrency=self.concurrency,
        )
        if self.provider == "offline":
            return OfflineEnricher()
        if self.provider == "openai":
            return OpenAIEnricher(config)
        return default_enricher(config)

    def options(self) -> EnrichOptions:
        limits = EnrichmentLimits(max_datasets=self.max_datasets, max_tokens=self.max_tokens)
        return EnrichOptions(enricher=self.build(), limits=limits)

    def describe(self) -> str:
        enricher = self.build()
        return f"{enricher.provider_name}:{enricher.model_name}"
