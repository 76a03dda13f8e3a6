"""The errors users see, gathered so front ends (CLI, Dagster) turn them into messages, not tracebacks."""

from __future__ import annotations

import importlib


class PipelineError(Exception):
    """Base for errors a user can act on; the message names the file, model or request at fault."""


# (module, class) pairs; a package that is absent simply contributes nothing.
_USER_ERRORS = [
    ("metadata_pipeline.catalog.database", "CatalogError"),
    ("metadata_pipeline.catalog.registry", "RegistryError"),
    ("metadata_pipeline.ingest", "IngestError"),
    ("metadata_pipeline.ingest", "ManifestError"),
    ("metadata_pipeline.ingest", "RepositoryError"),
    ("metadata_pipeline.ingest", "ProjectError"),
    ("metadata_pipeline.lineage", "LineageError"),
    ("metadata_pipeline.reconcile", "ReconcileError"),
    ("metadata_pipeline.reconcile", "ReconcileLocked"),
    ("metadata_pipeline.sync", "SyncError"),
    ("metadata_pipeline.enrich", "EnrichmentError"),
]


def user_facing_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [PipelineError]
    for module_name, cls_name in _USER_ERRORS:
        try:
            cls = getattr(importlib.import_module(module_name), cls_name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)
