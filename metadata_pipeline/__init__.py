"""metadata_pipeline: a Dagster-orchestrated metadata pipeline for dbt projects."""

__version__ = "0.1.0"
