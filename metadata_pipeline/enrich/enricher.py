"""The provider interface: one dataset in, one enrichment out.

A provider sees one `DatasetRequest` at a time and batches all of its columns into a single answer, so a
project costs one call per undocumented dataset. Failures are typed so the orchestrator can keep going:
`ProviderUnavailable` (transport, rate limit, 5xx after the retries) may clear up on its own and counts
toward the circuit breaker; `InvalidAnswer` is about that one dataset's answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from metadata_pipeline.enrich.models import DatasetEnrichment, DatasetRequest, TokenUsage, ai_source
from metadata_pipeline.errors import PipelineError


class EnrichmentError(PipelineError):
    """A dataset could not be enriched; the message names the dataset and says why.

    `usage` carries tokens a failed call still consumed (an answer that did not validate was billed).
    """

    def __init__(self, message: str, *, usage: TokenUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class ProviderUnavailable(EnrichmentError):
    """The provider could not be reached or kept failing (429/5xx/timeouts after retries).

    `fatal` marks failures every other dataset would hit too (bad key, unknown model): stop at once.
    """

    def __init__(self, message: str, *, usage: TokenUsage | None = None, fatal: bool = False) -> None:
        super().__init__(message, usage=usage)
        self.fatal = fatal


class InvalidAnswer(EnrichmentError):
    """The provider answered, but not with JSON matching the schema."""


class Enricher(ABC):
    """Describes and classifies one dataset and its columns."""

    @property
    @abstractmethod
    def provider_name(self) -> str: ...

    @property
    @abstractmethod
    def model_name(self) -> str: ...

    @property
    def prompt_version(self) -> str:
        """Part of the cache key: bump it whenever the prompt or heuristics change their output."""
        return "v1"

    @property
    def max_concurrency(self) -> int:
        """How many `enrich_dataset` calls the orchestrator may run at once (must be thread-safe if > 1)."""
        return 1

    @property
    def source(self) -> str:
        """The `extracted_from` marker for what this enricher writes."""
        return ai_source(self.provider_name, self.model_name)

    def estimate_tokens(self, request: DatasetRequest) -> int:
        """A pre-call estimate of prompt + completion tokens, used to respect a run's token budget."""
        return 0

    @abstractmethod
    def enrich_dataset(self, request: DatasetRequest) -> DatasetEnrichment:
        """Describe and classify the dataset; raise `EnrichmentError` when that is not possible."""
