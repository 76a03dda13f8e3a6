"""The lineage package's user-facing error."""

from __future__ import annotations

from metadata_pipeline.errors import PipelineError


class LineageError(PipelineError):
    """Lineage input a user must fix (an unreadable schema file...); SQL problems are never raised."""
