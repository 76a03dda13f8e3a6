"""The Dagster code location: merges the definitions of each domain module, nothing else."""

from __future__ import annotations

import dagster as dg

from metadata_pipeline.defs.resources import catalog_resource


def build_definitions() -> dg.Definitions:
    return dg.Definitions(resources={"catalog": catalog_resource()})


defs = build_definitions()
