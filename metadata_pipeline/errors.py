"""The base of every error a user can act on; front ends turn it into a message, not a traceback."""

from __future__ import annotations


class PipelineError(Exception):
    """An error whose message names the file, model, repository or request at fault.

    Every package's public errors derive from it (CatalogError, ManifestError, LineageError,
    ReconcileError, SyncError, EnrichmentError...), so the CLI and the Dagster layer catch one type.
    """
