"""Enriching a whole extraction: lineage first, then the cache, then the provider, within limits.

Order of work:
1. Views and dependency order from the extraction and column edges; which descriptions a person owns.
2. Propagation along Direct edges (no provider call).
3. Per dataset: fully documented ones get rule-based classification without a call; the rest are looked up
   in the cache, and misses go to the provider on a bounded thread pool, within the run's dataset and
   token budgets, behind a circuit breaker so a provider outage costs a few calls, not one per dataset.
4. The human policy is applied to every answer (fresh or cached): a description present in the input,
   or declared human by the caller, is never replaced; only empty fields are filled.

A dataset that cannot be enriched is recorded in `skipped` with the reason and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from metadata_pipeline.enrich.cache import EnrichmentCache, cache_key
from metadata_pipeline.enrich.context import HumanDescriptions, HumanGuard, build_views, dependency_order
from metadata_pipeline.enrich.enricher import Enricher, EnrichmentError, ProviderUnavailable
from metadata_pipeline.enrich.models import (
    ColumnEnrichment,
    DatasetEnrichment,
    DatasetRequest,
    FieldKey,
    TokenUsage,
)
from metadata_pipeline.enrich.offline_provider import OfflineEnricher
from metadata_pipeline.enrich.propagation import Propagated, propagate
from metadata_pipeline.enrich.request_builder import RequestBuilder, RequestLimits
from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.lineage.edges import ColumnEdge

log = logging.getLogger(__name__)

LIMIT = "limit"  # the skip reason for datasets beyond a run's budget (stats.limit_hit says which)
_RULES = OfflineEnricher()  # classifies fully documented datasets without a provider call


@dataclass(frozen=True)
class EnrichmentLimits:
    max_datasets: int | None = None  # provider calls per run (cache hits are free and not counted)
    max_tokens: int | None = None  # prompt + completion tokens per run, checked against pre-call estimates
    breaker_threshold: int = 3  # consecutive unavailable datasets before the rest are not sent


@dataclass
class EnrichmentStats:
    datasets: int = 0
    calls: int = 0
    cache_hits: int = 0
    documented: int = 0  # fully documented: classified by rules, no call
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost_usd: float = 0.0
    unpriced_calls: int = 0  # calls whose model has no price in the table (not in the estimate)
    propagated: int = 0
    skipped: int = 0
    limit_hit: str | None = None  # "max_datasets" | "max_tokens"
    elapsed_s: float = 0.0

    def add_usage(self, usage: TokenUsage | None) -> None:
        if usage is None:
            return
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if usage.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.estimated_cost_usd += usage.cost_usd


@dataclass
class EnrichmentResult:
    datasets: dict[str, DatasetEnrichment] = field(default_factory=dict)
    columns: dict[tuple[str, str], ColumnEnrichment] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    stats: EnrichmentStats = field(default_factory=EnrichmentStats)


def enrich_extraction(
    extraction: Extraction,
    edges: Iterable[ColumnEdge],
    *,
    enricher: Enricher,
    cache: EnrichmentCache,
    limits: EnrichmentLimits | None = None,
    human_descriptions: HumanDescriptions | None = None,
    request_limits: RequestLimits | None = None,
    call_for_documented: bool = False,
) -> EnrichmentResult:
    """Describe and classify every model, seed, snapshot and source of `extraction`."""
    started = time.monotonic()
    edges = list(edges)
    views = build_views(extraction, edges, HumanGuard(human_descriptions))
    order = dependency_order(views, edges)
    propagated = propagate(views, edges, order)
    builder = RequestBuilder(
        views, edges, propagated, adapter_type=extraction.adapter_type, limits=request_limits
    )
    run = _Run(enricher, cache, limits or EnrichmentLimits(), propagated)
    run.result.stats.datasets = len(order)
    run.result.stats.propagated = len(propagated)
    for (uid, column), found in propagated.items():
        run.result.columns[(uid, column or "")] = found.as_enrichment(column or "")
    pending = [r for r in (builder.build(uid) for uid in order) if not run.resolve_locally(r, call_for_documented)]
    run.dispatch(pending)
    run.result.stats.skipped = len(run.result.skipped)
    run.result.stats.elapsed_s = round(time.monotonic() - started, 3)
    log.info("enrichment: %s", run.result.stats)
    return run.result


class _Breaker:
    """Stops sending after `threshold` consecutive unavailable datasets (or one fatal refusal)."""

    def __init__(self, threshold: int) -> None:
        self._threshold = max(1, threshold)
        self._consecutive = 0
        self.reason: str | None = None

    def record(self, error: Exception | None) -> None:
        if not isinstance(error, ProviderUnavailable):
            self._consecutive = 0
            return
        self._consecutive += 1
        if self.reason is None and (error.fatal or self._consecutive >= self._threshold):
            why = "a fatal error" if error.fatal else f"{self._consecutive} consecutive failures"
            self.reason = f"not sent: provider unavailable after {why} (last: {error})"


class _Run:
    def __init__(
        self,
        enricher: Enricher,
        cache: EnrichmentCache,
        limits: EnrichmentLimits,
        propagated: Mapping[FieldKey, Propagated],
    ) -> None:
        self.enricher = enricher
        self.cache = cache
        self.limits = limits
        self.propagated = propagated
        self.result = EnrichmentResult()
        self.breaker = _Breaker(limits.breaker_threshold)
        self._keys: dict[str, str] = {}

    def key(self, request: DatasetRequest) -> str:
        if request.unique_id not in self._keys:
            self._keys[request.unique_id] = cache_key(
                request,
                provider=self.enricher.provider_name,
                model=self.enricher.model_name,
                prompt_version=self.enricher.prompt_version,
            )
        return self._keys[request.unique_id]

    def resolve_locally(self, request: DatasetRequest, call_for_documented: bool) -> bool:
        """Handle a dataset without a provider call when possible; False means it must be sent."""
        if not request.needs_descriptions and not call_for_documented:
            # Nothing to write: classification and PII labels from rules are not worth a call.
            self.accept(request, _RULES.enrich_dataset(request))
            self.result.stats.documented += 1
            return True
        cached = self.cache.get(self.key(request))
        if cached is None:
            return False
        self.accept(request, cached)
        self.result.stats.cache_hits += 1
        return True

    def dispatch(self, pending: list[DatasetRequest]) -> None:
        inflight: dict[Future[DatasetEnrichment], tuple[DatasetRequest, int]] = {}
        with ThreadPoolExecutor(max_workers=self.enricher.max_concurrency, thread_name_prefix="enrich") as pool:
            for request in pending:
                while len(inflight) >= self.enricher.max_concurrency:
                    self._collect(inflight)
                estimate = self.enricher.estimate_tokens(request)
                refusal = self._refusal(request, estimate, sum(e for _, e in inflight.values()))
                if refusal:
                    self.result.skipped[request.unique_id] = refusal
                    continue
                inflight[pool.submit(self.enricher.enrich_dataset, request)] = (request, estimate)
                self.result.stats.calls += 1
            while inflight:
                self._collect(inflight)

    def _refusal(self, request: DatasetRequest, estimate: int, reserved: int) -> str | None:
        """Why this dataset is not sent, or None to send it."""
        stats = self.result.stats
        if self.breaker.reason:
            return f"{request.unique_id}: {self.breaker.reason}"
        if self.limits.max_datasets is not None and stats.calls >= self.limits.max_datasets:
            stats.limit_hit = stats.limit_hit or "max_datasets"
            return LIMIT
        used = stats.prompt_tokens + stats.completion_tokens
        if self.limits.max_tokens is not None and used + reserved + estimate > self.limits.max_tokens:
            stats.limit_hit = stats.limit_hit or "max_tokens"
            return LIMIT
        return None

    def _collect(self, inflight: dict[Future[DatasetEnrichment], tuple[DatasetRequest, int]]) -> None:
        done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: inflight[f][0].unique_id):
            request, _ = inflight.pop(future)
            self._finish(request, future)

    def _finish(self, request: DatasetRequest, future: Future[DatasetEnrichment]) -> None:
        uid = request.unique_id
        try:
            enrichment = future.result()
        except EnrichmentError as exc:
            self.breaker.record(exc)
            self.result.stats.add_usage(exc.usage)
            self.result.skipped[uid] = str(exc)
            log.warning("enrichment skipped %s", exc)
            return
        except Exception as exc:  # a provider bug must not take the run down with it
            self.breaker.record(None)
            self.result.skipped[uid] = f"{uid}: unexpected provider error: {type(exc).__name__}: {exc}"
            log.exception("enrichment failed for %s", uid)
            return
        self.breaker.record(None)
        self.result.stats.add_usage(enrichment.usage)
        if enrichment.unique_id != uid:
            self.result.skipped[uid] = f"{uid}: provider answered for {enrichment.unique_id}"
            return
        self.cache.put(self.key(request), enrichment)
        self.accept(request, enrichment)

    def accept(self, request: DatasetRequest, answer: DatasetEnrichment) -> None:
        merged = apply_policy(request, answer, self.propagated)
        self.result.datasets[request.unique_id] = merged
        for column in merged.columns:
            self.result.columns[(request.unique_id, column.name)] = column


def apply_policy(
    request: DatasetRequest, answer: DatasetEnrichment, propagated: Mapping[FieldKey, Propagated]
) -> DatasetEnrichment:
    """Never overwrite a person: drop descriptions for locked fields, prefer lineage over AI text."""
    answered = {c.name.lower(): c for c in answer.columns}
    columns = []
    for column in request.columns:
        ai = answered.get(column.name.lower())
        found = propagated.get((request.unique_id, column.name))
        merged = _merge_column(column.name, column.locked, ai, found)
        if merged is not None:
            columns.append(merged)
    return answer.model_copy(
        update={
            "description": None if request.description_locked else answer.description,
            "columns": tuple(columns),
        }
    )


def _merge_column(
    name: str, locked: bool, ai: ColumnEnrichment | None, found: Propagated | None
) -> ColumnEnrichment | None:
    if found is not None:  # lineage text, AI labels (business name, PII) when there are any
        base = found.as_enrichment(name)
        if ai is None:
            return base
        return base.model_copy(
            update={
                "business_name": ai.business_name,
                "pii_category": ai.pii_category,
                "classified_by": ai.classified_by,
            }
        )
    if ai is None:
        return None
    if locked:  # a person's description stands; keep only the labels
        return ai.model_copy(update={"name": name, "description": None})
    return ai.model_copy(update={"name": name})
