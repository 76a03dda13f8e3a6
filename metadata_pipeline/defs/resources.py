"""Dagster resources, named by role: the catalog database the pipeline reads and writes."""

from __future__ import annotations

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from metadata_pipeline.catalog import Tenant, cached_engine, ensure_default_tenant, session_scope
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
    """The resource as the code location configures it: secrets and URLs only through EnvVar."""
    return CatalogResource(
        catalog_url=dg.EnvVar("METADATA_PIPELINE_CATALOG_URL").get_value(),
        home=dg.EnvVar("METADATA_PIPELINE_HOME").get_value(),
    )
