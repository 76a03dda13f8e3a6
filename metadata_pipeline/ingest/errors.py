"""Typed ingestion errors: each names the repository URL, project or file at fault."""

from __future__ import annotations

from pathlib import Path

from metadata_pipeline.errors import PipelineError


class IngestError(PipelineError):
    """Base of every error the ingest package raises."""


class RepositoryError(IngestError):
    """A git repository could not be cloned, fetched or checked out (the URL is always redacted)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ProjectError(IngestError):
    """A directory holds no usable dbt project (or no SQL at all)."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = str(path) if path is not None else None


class ManifestError(IngestError):
    """A manifest.json or catalog.json that cannot be read: broken JSON, unknown version, wrong shape."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        version: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.file = str(file) if file is not None else None
        self.version = version
        self.line = line
        self.column = column
