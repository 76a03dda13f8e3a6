"""The OpenAI provider through the real `openai` client against a local fake chat-completions server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from metadata_pipeline.enrich import (
    LIMIT,
    EnrichmentCache,
    EnrichmentLimits,
    EnrichmentResult,
    MissingApiKey,
    OpenAIConfig,
    OpenAIEnricher,
    default_enricher,
    enrich_extraction,
)
from metadata_pipeline.enrich.context import HumanGuard, build_views, dependency_order
from metadata_pipeline.enrich.models import DatasetRequest
from metadata_pipeline.enrich.propagation import propagate
from metadata_pipeline.enrich.request_builder import RequestBuilder
from metadata_pipeline.ingest.extraction import ColumnInfo, Extraction
from metadata_pipeline.lineage.edges import ColumnEdge

from .conftest import TEST_KEY, TEST_KEY_ENV
from .fake_openai import (
    FakeOpenAI,
    echo_unauthorized,
    good_answer,
    malformed,
    per_dataset,
    rate_limited_then_ok,
    schema_violation,
    server_error,
)
from .synthetic import (
    DIM_CUSTOMERS,
    FCT_ORDERS,
    SRC_CUSTOMERS,
    STG_CUSTOMERS,
    STG_ORDERS,
    small_project,
    synthetic_project,
)

N_DATASETS = 8  # enrichable datasets in small_project()
MakeProvider = Callable[..., OpenAIEnricher]


def _run(
    provider: OpenAIEnricher,
    cache: EnrichmentCache | None = None,
    project: tuple[Extraction, list[ColumnEdge]] | None = None,
    **kwargs: object,
) -> EnrichmentResult:
    extraction, edges = project or small_project()
    return enrich_extraction(
        extraction, edges, enricher=provider, cache=cache or EnrichmentCache.in_memory(), **kwargs
    )  # type: ignore[arg-type]


def test_good_answer_is_stored_with_usage_and_provenance(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    result = _run(make_provider())

    assert result.skipped == {}
    assert len(fake_openai.calls) == N_DATASETS  # one request per dataset, all its columns batched
    fct = result.datasets[FCT_ORDERS]
    assert fct.description == "AI description of fct_orders"
    assert (fct.medallion_layer, fct.entity_type, fct.entity_subtype, fct.confidence) == ("Gold", "DataMart", "Fact", 80)
    assert fct.extracted_from == "ai:openai:gpt-4o-mini"
    amount = result.columns[(FCT_ORDERS, "amount")]
    assert amount.description == "AI: amount of fct_orders"
    assert amount.extracted_from == "ai:openai:gpt-4o-mini"
    assert result.columns[(STG_ORDERS, "order_id")].business_name == "Order Id"

    stats = result.stats
    assert (stats.calls, stats.cache_hits) == (N_DATASETS, 0)
    assert (stats.prompt_tokens, stats.completion_tokens) == (120 * N_DATASETS, 60 * N_DATASETS)
    assert stats.estimated_cost_usd == pytest.approx(N_DATASETS * (120 * 0.15 + 60 * 0.60) / 1e6)


def test_request_uses_strict_structured_output_and_context(
    fake_openai: FakeOpenAI, make_provider: MakeProvider
) -> None:
    _run(make_provider())
    call = next(c for c in fake_openai.calls if c.unique_id == DIM_CUSTOMERS)
    assert call.authorization == f"Bearer {TEST_KEY}"
    assert call.body["model"] == "gpt-4o-mini"
    fmt = call.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    dataset = call.dataset
    assert "sum(o.amount) as lifetime_value" in dataset["sql"]
    assert dataset["upstream_datasets"] == ["stg_customers", "stg_orders"]
    assert [c["name"] for c in dataset["columns"]] == [
        "customer_id", "email", "n_orders", "lifetime_value", "last_ordered_at", "is_active"
    ]
    lifetime = next(c for c in dataset["columns"] if c["name"] == "lifetime_value")
    assert lifetime["upstream"][0]["transformation"] == "sum(o.amount)"
    # Propagated descriptions are sent as settled context.
    email = next(c for c in dataset["columns"] if c["name"] == "email")
    assert email["locked"] is True and email["description"] == "Customer email address."


def test_rate_limit_with_retry_after_is_retried(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reset(per_dataset({FCT_ORDERS: rate_limited_then_ok(times=1, retry_after="1")}))
    result = _run(make_provider())

    assert result.skipped == {}
    assert result.datasets[FCT_ORDERS].description == "AI description of fct_orders"
    attempts = [c for c in fake_openai.calls if c.unique_id == FCT_ORDERS]
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 0.9  # the SDK waited as Retry-After asked
    assert result.stats.calls == N_DATASETS  # one logical call, retried inside the SDK


def test_server_error_storm_skips_datasets_and_the_run_returns(
    fake_openai: FakeOpenAI, make_provider: MakeProvider
) -> None:
    fake_openai.reset(server_error(500))
    result = _run(make_provider(max_retries=2, concurrency=2), limits=EnrichmentLimits(breaker_threshold=3))

    assert result.datasets == {}
    assert set(result.skipped) == {uid for uid in _enrichable()}
    not_sent = [uid for uid, reason in result.skipped.items() if "not sent: provider unavailable" in reason]
    sent = [uid for uid in result.skipped if uid not in not_sent]
    assert all("HTTP 500 after 2 retries" in result.skipped[uid] for uid in sent)
    assert sent and not_sent and len(sent) + len(not_sent) == N_DATASETS
    assert all(reason.startswith(uid) for uid, reason in result.skipped.items())
    # The breaker opened after 3 consecutive failures (+1 still in flight): 3 attempts each, not 8 x 3.
    assert len(fake_openai.calls) == 3 * len(sent) <= 3 * 4
    # Lineage needs no provider: propagated descriptions survive the outage.
    assert result.columns[(STG_CUSTOMERS, "email")].extracted_from.startswith("lineage:")


def test_timeouts_mark_datasets_unavailable(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reset()
    fake_openai.latency_s = 0.5
    provider = make_provider(timeout_s=0.1, max_retries=0, concurrency=1)
    result = _run(provider, limits=EnrichmentLimits(breaker_threshold=2))
    assert result.datasets == {} and len(result.skipped) == N_DATASETS
    timed_out = [uid for uid, r in result.skipped.items() if r.startswith(f"{uid}: timed out after 0.1s")]
    assert len(timed_out) == 2 == len(fake_openai.calls)


def test_malformed_json_rejects_only_that_dataset(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reset(per_dataset({FCT_ORDERS: malformed}))
    result = _run(make_provider())

    assert list(result.skipped) == [FCT_ORDERS]
    reason = result.skipped[FCT_ORDERS]
    assert reason.startswith(FCT_ORDERS) and "not valid JSON" in reason
    assert len(result.datasets) == N_DATASETS - 1
    assert fake_openai.requests_for(FCT_ORDERS) == 1  # a bad answer is not retried in a loop
    assert result.stats.prompt_tokens == 120 * N_DATASETS  # the rejected answer was still billed


def test_schema_violating_answer_is_rejected(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reset(per_dataset({STG_ORDERS: schema_violation}))
    result = _run(make_provider())

    reason = result.skipped[STG_ORDERS]
    assert reason.startswith(STG_ORDERS) and "does not match the schema" in reason
    assert "medallion_layer" in reason and "confidence" in reason
    assert STG_ORDERS not in result.datasets and len(result.datasets) == N_DATASETS - 1


def test_second_run_with_same_cache_sends_nothing(
    fake_openai: FakeOpenAI, make_provider: MakeProvider, tmp_path: Path
) -> None:
    first = _run(make_provider(), EnrichmentCache(tmp_path / "cache"))
    assert len(fake_openai.calls) == N_DATASETS
    assert len(list((tmp_path / "cache").rglob("*.json"))) == N_DATASETS

    fake_openai.reset()
    second = _run(make_provider(), EnrichmentCache(tmp_path / "cache"))  # a new process: files only
    assert fake_openai.calls == []
    assert (second.stats.calls, second.stats.cache_hits) == (0, N_DATASETS)
    assert second.datasets == first.datasets and second.columns == first.columns

    extraction, edges = small_project()
    extraction.by_id()[FCT_ORDERS].compiled_sql += "\nwhere status != 'test'"
    third = _run(make_provider(), EnrichmentCache(tmp_path / "cache"), project=(extraction, edges))
    assert [c.unique_id for c in fake_openai.calls] == [FCT_ORDERS]  # only the changed dataset
    assert third.stats.cache_hits == N_DATASETS - 1


def test_failed_datasets_are_not_cached(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    cache = EnrichmentCache.in_memory()
    fake_openai.reset(per_dataset({FCT_ORDERS: malformed}))
    _run(make_provider(), cache)
    fake_openai.reset()
    result = _run(make_provider(), cache)
    assert [c.unique_id for c in fake_openai.calls] == [FCT_ORDERS]
    assert result.skipped == {}


def test_human_descriptions_survive(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    extraction, edges = small_project()
    extraction.by_id()[FCT_ORDERS].declared_columns[2] = ColumnInfo(name="amount", description="Net of refunds.")
    edited_in_catalog = {(STG_ORDERS, None), (STG_ORDERS, "status")}
    result = _run(make_provider(), project=(extraction, edges), human_descriptions=edited_in_catalog)

    # schema.yml descriptions: dataset and column.
    assert result.datasets[DIM_CUSTOMERS].description is None
    assert result.datasets[DIM_CUSTOMERS].medallion_layer == "Gold"  # classification still provided
    amount = result.columns[(FCT_ORDERS, "amount")]
    assert amount.description is None and amount.business_name == "Amount"
    # Source documentation too.
    assert result.columns[(SRC_CUSTOMERS, "email")].description is None
    assert result.columns[(SRC_CUSTOMERS, "email")].pii_category == "email"
    # Fields a person edited in the catalog (passed in): untouched.
    assert result.datasets[STG_ORDERS].description is None
    assert result.columns[(STG_ORDERS, "status")].description is None
    # Empty fields are filled.
    assert result.columns[(STG_ORDERS, "amount")].description == "AI: amount of stg_orders"


def test_human_descriptions_survive_cached_answers(
    fake_openai: FakeOpenAI, make_provider: MakeProvider, tmp_path: Path
) -> None:
    cache = EnrichmentCache(tmp_path)
    _run(make_provider(), cache)
    result = _run(make_provider(), cache, human_descriptions=lambda uid, col: uid == FCT_ORDERS)
    assert result.datasets[FCT_ORDERS].description is None
    assert all(c.description is None for c in result.datasets[FCT_ORDERS].columns)


def test_fully_documented_dataset_needs_no_call(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    extraction, edges = small_project()
    src = extraction.by_id()[SRC_CUSTOMERS]
    for col in src.declared_columns:
        col.description = col.description or f"Documented {col.name}."
    result = _run(make_provider(), project=(extraction, edges))
    assert fake_openai.requests_for(SRC_CUSTOMERS) == 0
    assert result.stats.documented == 1
    assert result.datasets[SRC_CUSTOMERS].medallion_layer == "Raw"  # rule-based classification
    assert result.columns[(SRC_CUSTOMERS, "email")].pii_category == "email"


def test_dataset_and_token_limits(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    result = _run(make_provider(concurrency=1), limits=EnrichmentLimits(max_datasets=3))
    assert len(fake_openai.calls) == 3 and len(result.datasets) == 3
    assert list(result.skipped.values()) == [LIMIT] * (N_DATASETS - 3)
    assert result.stats.limit_hit == "max_datasets"

    # Each answer bills 1200 tokens; the next request is sent only if its estimate still fits.
    fake_openai.reset(lambda call: replace(good_answer(call), prompt_tokens=1000, completion_tokens=200))
    provider = make_provider(concurrency=1)
    extraction, edges = small_project()
    estimates = [provider.estimate_tokens(r) for r in _requests(extraction, edges)]
    assert all(100 < e < 1300 for e in estimates)
    result = _run(provider, project=(extraction, edges), limits=EnrichmentLimits(max_tokens=2 * 1200 + 50))
    assert len(fake_openai.calls) == 2
    assert result.stats.limit_hit == "max_tokens"
    assert list(result.skipped.values()) == [LIMIT] * (N_DATASETS - 2)
    assert result.stats.prompt_tokens + result.stats.completion_tokens == 2400


def test_api_key_never_leaks(
    fake_openai: FakeOpenAI, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.reset(echo_unauthorized)
    provider = make_provider(concurrency=1)
    with caplog.at_level(logging.DEBUG):
        result = _run(provider)
    assert TEST_KEY in (fake_openai.calls[0].authorization or "")  # the server did echo it...
    assert all(TEST_KEY not in reason for reason in result.skipped.values())  # ...we did not
    assert TEST_KEY not in caplog.text
    assert TEST_KEY not in repr(provider)
    assert len(fake_openai.calls) == 1  # 401 is fatal: nothing else is sent
    assert len(result.skipped) == N_DATASETS


def test_missing_key_is_reported_by_name() -> None:
    with pytest.raises(MissingApiKey, match="METADATA_PIPELINE_TEST_ABSENT"):
        OpenAIEnricher(OpenAIConfig(api_key_env="METADATA_PIPELINE_TEST_ABSENT"), env={})
    config = OpenAIConfig(api_key_env=TEST_KEY_ENV)
    assert isinstance(default_enricher(config, env={TEST_KEY_ENV: TEST_KEY}), OpenAIEnricher)


def test_concurrent_run_on_a_larger_project(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    extraction, edges = synthetic_project(60)
    result = _run(make_provider(concurrency=4), project=(extraction, edges))
    assert result.skipped == {}
    assert len(fake_openai.calls) == result.stats.calls == len(result.datasets) - result.stats.documented


def _requests(extraction: Extraction, edges: list[ColumnEdge]) -> list[DatasetRequest]:
    views = build_views(extraction, edges, HumanGuard())
    order = dependency_order(views, edges)
    builder = RequestBuilder(views, edges, propagate(views, edges, order))
    return [builder.build(uid) for uid in order]


def _enrichable() -> list[str]:
    extraction, _ = small_project()
    return [o.unique_id for o in extraction.objects if o.resource_type != "test"]
