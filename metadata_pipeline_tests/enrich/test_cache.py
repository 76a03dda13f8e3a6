"""The content-addressed enrichment cache."""

from __future__ import annotations

from pathlib import Path

from metadata_pipeline.enrich import DatasetEnrichment, DatasetRequest, EnrichmentCache, cache_key
from metadata_pipeline.enrich.request_builder import truncate_sql

REQUEST = DatasetRequest(unique_id="model.p.a", name="a", resource_type="model", sql="select 1 as x")
ANSWER = DatasetEnrichment(unique_id="model.p.a", description="A.", confidence=50, extracted_from="ai:x:y")


def _key(request: DatasetRequest = REQUEST, **overrides: str) -> str:
    args = {"provider": "openai", "model": "gpt-4o-mini", "prompt_version": "v1", **overrides}
    return cache_key(request, **args)


def test_key_covers_what_the_model_sees_and_who_answers() -> None:
    assert _key() == _key()
    assert _key(REQUEST.model_copy(update={"sql": "select 2 as x"})) != _key()
    assert _key(REQUEST.model_copy(update={"upstream_datasets": ("b",)})) != _key()
    assert _key(model="gpt-4o") != _key()
    assert _key(prompt_version="v2") != _key()
    assert _key(provider="offline") != _key()


def test_round_trip_through_files(tmp_path: Path) -> None:
    EnrichmentCache(tmp_path).put(_key(), ANSWER)
    assert EnrichmentCache(tmp_path).get(_key()) == ANSWER
    assert not list(tmp_path.rglob(".tmp-*"))  # atomic write leaves no temp file behind


def test_unreadable_entry_is_a_miss(tmp_path: Path) -> None:
    cache = EnrichmentCache(tmp_path)
    cache.put(_key(), ANSWER)
    path = next(tmp_path.rglob("*.json"))
    path.write_text("{ torn")
    assert EnrichmentCache(tmp_path).get(_key()) is None


def test_sql_truncation_keeps_head_and_tail() -> None:
    sql = "\n".join(f"select {i} as c{i}" for i in range(1000))
    cut = truncate_sql(sql, 600)
    assert len(cut) <= 700
    assert cut.startswith("select 0 as c0") and cut.endswith("select 999 as c999")
    assert "characters omitted" in cut
    assert truncate_sql("select 1\n\n\nfrom t  ", 600) == "select 1\nfrom t"
